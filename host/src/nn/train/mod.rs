//! Training a candidate: the evolved optimiser, mini-batches, two heads in one step, a
//! wall-clock budget, early stopping, and resuming from saved weights (`train_longer`).
//!
//! Entry points: [`Trainer::new`] then [`Trainer::run`] (or [`train`] for both), [`evaluate`]
//! for a validation or fitness pass, [`Trainer::save`] / [`Trainer::load`] to continue later.
//!
//! Behaviour (reference code, REFERENCE.md §1.4 and §4, and where this deviates):
//! - Loss: cross-entropy of the main head, plus that of the extra head when the network is
//!   partitioned; one optimiser step minimises the sum. By default the loss is computed on the
//!   heads' logits ([`LossKind::Logits`]). The reference applies softmax in the head and then
//!   PyTorch's `CrossEntropyLoss` (softmax twice, which flattens gradients and slows learning);
//!   [`LossKind::DoubleSoftmax`] reproduces that for fidelity.
//! - Batches: the evolved batch size, last partial batch dropped (`drop_last`, as the
//!   reference). By default the order is shuffled every epoch with a ChaCha8 stream seeded by
//!   (seed, epoch), so a resumed run sees the same orders; [`TrainMethod::shuffle`] off keeps
//!   the data's order, as the reference's `shuffle=False` loaders do.
//! - Stopping: by default the wall-clock budget is checked after every batch and after every
//!   validation pass, so a run overshoots its budget by at most one batch or one validation
//!   pass; [`BudgetCheck::Epoch`] checks only after each epoch's validation, as the reference's
//!   `TimedStoppingCallback` does. Early stopping: the validation loss (sum of both heads) has
//!   not improved for `early_stop_patience` epochs. Also stops after `epochs` epochs in total.
//! - Resuming: [`Trainer::save`] writes the weights, the optimiser state and the epoch/step
//!   counters; [`Trainer::load`] + [`Trainer::run`] continue with a further budget, the epoch
//!   counter and the LARS schedule continuing. The early-stopping patience restarts with each
//!   run, as the reference creates its callbacks per training call.
//! - Racing ([`Race`], [`Trainer::set_race`]): a run whose validation accuracy falls behind a
//!   reference curve (the parent's) by more than a margin stops after that epoch.
//! - Threads: burn-flex runs its kernels on rayon's global pool, which uses every logical CPU
//!   (both cores here) unless `RAYON_NUM_THREADS` says otherwise.
//! - Determinism: shuffling and the optimiser are deterministic; dropout masks come from the
//!   network's own streams ([`TwoHeadNet::reseed`]), reseeded from [`TrainOptions::seed`] when
//!   a run starts, so concurrent trainings do not share a random stream. Multi-threaded matrix
//!   products may sum in a different order with another thread count, so results are
//!   reproducible for a given seed *and* thread count.

mod adam;
mod batches;
mod checkpoint;
mod eval;
mod lars;
mod optim;
mod race;
mod trainer;
mod two_head;

use burn::module::Module;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

pub use crate::genome::{LearningSpec, Optimiser};
pub use crate::nn::HeadOutputs;

pub use adam::{AdamMoments, FusedAdam, FusedAdamStep};
pub use batches::{Batcher, Samples};
pub use checkpoint::CHECKPOINT_STATE_FILE;
pub use eval::{Evaluation, HeadEvaluation, evaluate};
pub use lars::{LARS_ETA, Lars, LarsSchedule, LarsScheduleKind};
pub use optim::{LrSchedule, build_optimizer};
pub use race::Race;
pub use trainer::{Progress, StopReason, TrainOutcome, Trainer, train};

/// A network the training loop can train: a burn module with one or two classifier heads.
pub trait TwoHeadNet: Module {
    /// The heads' logits for a batch of images `[batch, channels, height, width]`.
    fn head_logits(&self, images: Tensor<4>) -> HeadOutputs;
    /// Restarts the network's own random streams (dropout masks) from `seed`.
    fn reseed(&self, _seed: u64) {}
}

/// How the loss is computed from a head's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// Cross-entropy on the logits (standard).
    #[default]
    Logits,
    /// Cross-entropy on the softmax of the logits, as the reference code does.
    DoubleSoftmax,
}

impl crate::named::Named for LossKind {
    const KIND: &'static str = "loss";
    const VALUES: &'static [(Self, &'static str, &'static str)] = &[
        (Self::Logits, "logits", "cross-entropy on the heads' logits"),
        (Self::DoubleSoftmax, "double_softmax", "cross-entropy on the softmax outputs (the reference code)"),
    ];
}
crate::named::named_enum_text!(LossKind);

/// What the optimiser starts from when a `train_longer` offspring continues its parent's
/// training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainLongerOptimizer {
    /// The parent's saved optimiser state (momentum, moment estimates): the training continues
    /// as if it had never stopped.
    #[default]
    Restore,
    /// A fresh optimiser on the parent's weights, as the reference code does.
    Fresh,
}

impl crate::named::Named for TrainLongerOptimizer {
    const KIND: &'static str = "train_longer optimiser";
    const VALUES: &'static [(Self, &'static str, &'static str)] = &[
        (Self::Restore, "restore", "continue with the parent's optimiser state"),
        (Self::Fresh, "fresh", "a fresh optimiser on the parent's weights (the reference code)"),
    ];
}
crate::named::named_enum_text!(TrainLongerOptimizer);

/// When the wall-clock budget of a training is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetCheck {
    /// After every batch (and validation pass): the budget is overshot by at most one batch.
    #[default]
    Batch,
    /// After each epoch's validation only, as the reference code: an epoch always finishes.
    Epoch,
}

impl crate::named::Named for BudgetCheck {
    const KIND: &'static str = "budget check";
    const VALUES: &'static [(Self, &'static str, &'static str)] = &[
        (Self::Batch, "batch", "after every batch: the budget is overshot by at most one batch"),
        (Self::Epoch, "epoch", "after each epoch only, as the reference code"),
    ];
}
crate::named::named_enum_text!(BudgetCheck);

/// How candidates are trained, where wattevo and the reference code differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainMethod {
    /// The loss of both heads.
    pub loss: LossKind,
    /// How the LARS schedule counts its steps.
    pub lars_schedule: LarsScheduleKind,
    /// What a `train_longer` continuation's optimiser starts from.
    pub train_longer_optimizer: TrainLongerOptimizer,
    /// Shuffle the training batches every epoch (the reference does not).
    pub shuffle: bool,
    /// When the wall-clock budget is checked.
    pub budget_check: BudgetCheck,
}

impl Default for TrainMethod {
    fn default() -> Self {
        TrainMethod {
            loss: LossKind::default(),
            lars_schedule: LarsScheduleKind::default(),
            train_longer_optimizer: TrainLongerOptimizer::default(),
            shuffle: true,
            budget_check: BudgetCheck::default(),
        }
    }
}

/// Settings of a training run that do not come from the genome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Seed of the batch order and of the backend RNG (dropout).
    pub seed: u64,
    /// Loss on logits or the reference's double softmax.
    pub loss: LossKind,
    /// Samples per forward pass when evaluating (does not affect results).
    pub eval_batch_size: usize,
    /// How the LARS schedule counts its steps.
    #[serde(default)]
    pub lars_schedule: LarsScheduleKind,
    /// Shuffle the training batches every epoch.
    #[serde(default = "yes")]
    pub shuffle: bool,
    /// When the wall-clock budget is checked.
    #[serde(default)]
    pub budget_check: BudgetCheck,
}

fn yes() -> bool {
    true
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            seed: 0,
            loss: LossKind::Logits,
            eval_batch_size: 500,
            lars_schedule: LarsScheduleKind::Global,
            shuffle: true,
            budget_check: BudgetCheck::Batch,
        }
    }
}

/// Why training could not start, or a checkpoint could not be saved or loaded.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The pixel buffer and labels do not describe whole images.
    #[error("samples: {pixels} pixel values for {labels} labels of {dims:?} (channels, height, width)")]
    Samples {
        /// Values in the pixel buffer.
        pixels: usize,
        /// Number of labels.
        labels: usize,
        /// Dimensions of one image.
        dims: [usize; 3],
    },
    /// The training set is empty.
    #[error("the training set is empty")]
    EmptyTrainingSet,
    /// The learning settings cannot be used.
    #[error("learning settings: {0}")]
    Settings(String),
    /// Reading or writing a checkpoint file failed.
    #[error("checkpoint {}", path.display())]
    CheckpointIo {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A checkpoint file has the wrong content.
    #[error("checkpoint {path}: {reason}")]
    CheckpointFormat {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: String,
    },
}
