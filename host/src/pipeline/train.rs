//! Training one network: from scratch or from a candidate's saved weights, for a wall-clock
//! budget or a fixed number of epochs, its weights saved for later runs.

use std::path::Path;
use std::time::Duration;

use crate::data::DataSplits;
use crate::genome::LearningSpec;
use crate::netspec::{NetSpec, TrainedNet};
use crate::nn::train::{LossKind, Progress, Samples, TrainError, TrainOptions, TrainOutcome, Trainer};
use crate::nn::{Model, ReadWeightsError, training_device};

/// How long to train.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Budget {
    /// Wall-clock seconds (the paper's budget; runs then depend on the machine's speed).
    Seconds(f64),
    /// Epochs on top of those already done (reproducible on any machine).
    Epochs(usize),
}

/// Generous wall-clock cap of an epoch budget: the epochs decide when training stops.
const EPOCH_BUDGET_WALL_CAP: Duration = Duration::from_secs(24 * 3600);

/// What to train and how.
#[derive(Debug, Clone, Copy)]
pub struct TrainJob<'a> {
    /// The network.
    pub spec: &'a NetSpec,
    /// Its learning settings (optimiser, batch size, early stopping, epochs).
    pub learning: &'a LearningSpec,
    /// Seed of the initial weights and of the batch order.
    pub seed: u64,
    /// The loss both heads are trained with.
    pub loss: LossKind,
    /// How long to train.
    pub budget: Budget,
    /// Continue from the weights and optimiser state saved in this directory instead of from
    /// freshly initialised weights.
    pub warm_start: Option<&'a Path>,
    /// Save the trained weights and optimiser state here (to continue later).
    pub save_to: Option<&'a Path>,
}

/// A trained network: the burn model (for burn-side evaluation), its weights as a
/// [`TrainedNet`] (for export), and what training did.
#[derive(Debug)]
pub struct TrainedCandidate {
    /// The burn model.
    pub model: Model,
    /// The network and its trained weights.
    pub net: TrainedNet,
    /// Epochs, steps, time, stop reason, validation figures.
    pub outcome: TrainOutcome,
}

/// Why a network could not be trained.
#[derive(Debug, thiserror::Error)]
pub enum TrainFailure {
    /// The trainer refused the settings, or a checkpoint could not be read or written.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// The trained parameters could not be read back.
    #[error(transparent)]
    Weights(#[from] ReadWeightsError),
    /// The trained weights could not be saved (a full disk): a failure of this machine, not of
    /// the network.
    #[error("saving the weights to {}", dir.display())]
    Save {
        /// The weights directory.
        dir: std::path::PathBuf,
        /// Why.
        source: TrainError,
    },
}

impl TrainFailure {
    /// Whether the failure is this machine's (files that could not be read or written) rather
    /// than the network's.
    pub fn is_host_io(&self) -> bool {
        matches!(self, TrainFailure::Save { .. } | TrainFailure::Train(TrainError::CheckpointIo { .. }))
    }
}

/// Trains `job.spec` on `data.train`, validating on `data.validation`.
pub fn train(
    job: &TrainJob<'_>,
    data: &DataSplits,
    progress: &mut dyn FnMut(&Progress),
) -> Result<TrainedCandidate, TrainFailure> {
    let device = training_device();
    device.seed(job.seed);
    let fresh = Model::new(job.spec, &device);
    let (model, mut trainer) = match job.warm_start {
        Some(dir) => Trainer::load(fresh, dir)?,
        None => (
            fresh,
            Trainer::new(job.learning, TrainOptions { seed: job.seed, loss: job.loss, ..TrainOptions::default() })?,
        ),
    };
    let wall = match job.budget {
        Budget::Seconds(seconds) => Duration::from_secs_f64(seconds),
        Budget::Epochs(epochs) => {
            trainer.set_epoch_limit(trainer.epochs_done() + epochs);
            EPOCH_BUDGET_WALL_CAP
        }
    };
    let (model, outcome) =
        trainer.run(model, Samples::from(&data.train), Samples::from(&data.validation), wall, progress)?;
    if let Some(dir) = job.save_to {
        trainer.save(&model, dir).map_err(|source| TrainFailure::Save { dir: dir.to_owned(), source })?;
    }
    let net = model.trained()?;
    Ok(TrainedCandidate { model, net, outcome })
}

/// The network `spec` with the weights saved in `dir` by an earlier [`train`].
pub fn reload_trained(spec: &NetSpec, dir: &Path) -> Result<TrainedNet, TrainFailure> {
    let (model, _) = Trainer::load(Model::new(spec, &training_device()), dir)?;
    Ok(model.trained()?)
}
