//! Training one network: from scratch, from a candidate's saved weights (`train_longer`), or
//! from fresh weights with every layer its parent also has taken from the parent (weight
//! inheritance, [`Lineage`]); for a wall-clock budget or a fixed number of epochs; its weights
//! saved for later runs.

use std::path::Path;
use std::time::Duration;

use crate::data::DataSplits;
use crate::genome::LearningSpec;
use crate::netspec::{Lineage, NetSpec, NetWeights, TrainedNet, WeightsMismatch};
use crate::nn::train::{
    Progress, Race, Samples, TrainError, TrainLongerOptimizer, TrainMethod, TrainOptions, TrainOutcome, Trainer,
};
use crate::nn::{Device, Model, ReadWeightsError, training_device};

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
    /// The loss, the LARS schedule and the `train_longer` optimiser.
    pub method: TrainMethod,
    /// How long to train.
    pub budget: Budget,
    /// Continue from the weights (and, unless `method` says fresh, the optimiser state) saved
    /// in this directory instead of from freshly initialised weights.
    pub warm_start: Option<&'a Path>,
    /// Start every layer that this trained parent network also has, unchanged in kind and
    /// shape, from the parent's weights (ignored with `warm_start`).
    pub inherit: Option<&'a TrainedNet>,
    /// Stop early when the validation accuracy falls behind this curve ([`Race`]).
    pub race: Option<&'a Race>,
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
    /// Trainable parameters that started from the parent's weights (`TrainJob::inherit`).
    pub inherited_params: usize,
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
    /// The inherited weights did not fit the network (a bug in the lineage).
    #[error(transparent)]
    Inherit(#[from] WeightsMismatch),
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
    let initial = NetWeights::initial(job.spec, job.seed);
    let mut fresh = Model::new(job.spec, &device).with_weights(&initial, &device)?;
    let mut inherited_params = 0;
    if let (Some(parent), None) = (job.inherit, job.warm_start) {
        (fresh, inherited_params) = inherit(fresh, parent, &device)?;
    }
    let options = TrainOptions {
        seed: job.seed,
        loss: job.method.loss,
        lars_schedule: job.method.lars_schedule,
        shuffle: job.method.shuffle,
        budget_check: job.method.budget_check,
        ..TrainOptions::default()
    };
    let (model, mut trainer) = match job.warm_start {
        Some(dir) => {
            let (model, mut trainer) = Trainer::load(fresh, dir)?;
            if job.method.train_longer_optimizer == TrainLongerOptimizer::Fresh {
                trainer.restart_optimizer();
            }
            (model, trainer)
        }
        None => (fresh, Trainer::new(job.learning, options)?),
    };
    trainer.set_race(job.race.cloned());
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
    Ok(TrainedCandidate { model, net, outcome, inherited_params })
}

/// `fresh` with the layers it shares with `parent` set to the parent's weights, and how many
/// parameters that is.
fn inherit(fresh: Model, parent: &TrainedNet, device: &Device) -> Result<(Model, usize), TrainFailure> {
    let lineage = Lineage::between(parent.spec(), &fresh.spec);
    let params = lineage.inherited_params(&fresh.spec);
    if params == 0 {
        return Ok((fresh, 0));
    }
    let merged = lineage.merge(parent.weights(), fresh.weights()?);
    Ok((fresh.with_weights(&merged, device)?, params))
}

/// The network `spec` with the weights saved in `dir` by an earlier [`train`].
pub fn reload_trained(spec: &NetSpec, dir: &Path) -> Result<TrainedNet, TrainFailure> {
    let (model, _) = Trainer::load(Model::new(spec, &training_device()), dir)?;
    Ok(model.trained()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{DatasetName, LoadOptions, load_splits};
    use crate::genome::network::{CNN_PRESET, PhenotypeNetwork};
    use crate::netspec::{Activation, LayerSpec, Padding, PoolKind, SpecRules};

    fn net(dense_features: usize) -> NetSpec {
        let layers = [
            LayerSpec::test_conv(4),
            LayerSpec::Pool { kind: PoolKind::Max, kernel: 2, stride: 2, padding: Padding::Valid },
            LayerSpec::Dense { out_features: dense_features, activation: Activation::Relu, bias: true },
        ];
        let input = crate::netspec::Shape::Image { channels: 1, height: 8, width: 8 };
        NetSpec::build(input, 10, &layers, None, SpecRules::default()).expect("valid network")
    }

    #[test]
    fn inherited_layers_start_from_the_parents_weights_bit_for_bit() {
        let data = load_splits(DatasetName::Digits, &LoadOptions::default()).expect("embedded digits");
        let learning = PhenotypeNetwork::parse(CNN_PRESET).expect("preset").learning;
        let (parent_spec, child_spec) = (net(16), net(24));
        let job = |spec, seed, budget, inherit| TrainJob {
            spec,
            learning: &learning,
            seed,
            method: TrainMethod::default(),
            budget,
            warm_start: None,
            inherit,
            race: None,
            save_to: None,
        };
        let parent = train(&job(&parent_spec, 1, Budget::Epochs(1), None), &data, &mut |_| {}).expect("parent");
        // no epoch: the child's weights are its starting weights
        let child =
            train(&job(&child_spec, 2, Budget::Epochs(0), Some(&parent.net)), &data, &mut |_| {}).expect("child");
        let (from, got) = (parent.net.weights(), child.net.weights());
        assert_eq!(got.layers[0], from.layers[0], "the unchanged conv is inherited bit for bit");
        assert_ne!(got.layers[2], from.layers[2], "the changed dense layer starts fresh");
        assert_ne!(got.output, from.output, "the head reading the changed layer starts fresh");
        assert_eq!(child.inherited_params, child_spec.layers[0].params());
        let alone = train(&job(&child_spec, 2, Budget::Epochs(0), None), &data, &mut |_| {}).expect("alone");
        assert_eq!(alone.inherited_params, 0);
        assert_eq!(got.layers[2], alone.net.weights().layers[2], "fresh layers are the seed's own");
    }

    #[test]
    fn a_train_longer_child_starts_from_its_parents_last_weights() {
        let data = load_splits(DatasetName::Digits, &LoadOptions::default()).expect("embedded digits");
        let learning = PhenotypeNetwork::parse(CNN_PRESET).expect("preset").learning;
        let spec = net(16);
        let dir = tempfile::tempdir().expect("tempdir");
        let parent_dir = dir.path().join("parent");
        let job = |budget, warm_start, train_longer_optimizer| TrainJob {
            spec: &spec,
            learning: &learning,
            seed: 3,
            method: TrainMethod { train_longer_optimizer, ..TrainMethod::default() },
            budget,
            warm_start,
            inherit: None,
            race: None,
            save_to: None,
        };
        let parent_job = TrainJob { save_to: Some(&parent_dir), ..job(Budget::Epochs(2), None, Default::default()) };
        let parent = train(&parent_job, &data, &mut |_| {}).expect("parent");
        let mut after_one_epoch = Vec::new();
        for optimizer in [TrainLongerOptimizer::Restore, TrainLongerOptimizer::Fresh] {
            // before its first step the child's validation loss is the parent's last one
            let start =
                train(&job(Budget::Epochs(0), Some(&parent_dir), optimizer), &data, &mut |_| {}).expect("child");
            assert_eq!(start.outcome.validation, parent.outcome.validation, "{optimizer:?}");
            assert_eq!(start.outcome.total_epochs, 2, "the epoch counter continues");
            let more = train(&job(Budget::Epochs(1), Some(&parent_dir), optimizer), &data, &mut |_| {}).expect("child");
            after_one_epoch.push(more.net.weights().clone());
        }
        assert_ne!(after_one_epoch[0], after_one_epoch[1], "a fresh optimiser forgets the parent's momentum");
    }
}
