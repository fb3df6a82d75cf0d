//! The host's half of evaluating a candidate, everything before the board: build, train
//! (from scratch, continued, or inheriting the parent's layers; raced against the parent's
//! curve), export the partitions and the modules to measure, and compute each partition's
//! accuracy with tract. Needs no board and only shared references, so several candidates can
//! be prepared at once on different threads ([`super::parallel`]).

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::data::DataSplits;
use crate::evolve::candidate::{EvalError, EvalRequest};
use crate::genome::{Module, SearchSpace};
use crate::netspec::{NetSpec, Shape, TrainedNet};
use crate::nn::train::{StopReason, TrainMethod};

use super::evaluator::weights_dir;
use super::export::{
    ClassAccuracy, ExportedModule, ExportedPartition, export_module, export_partitions, export_partitions_at,
    export_two_head_at,
};
use super::train::{Budget, TrainJob, reload_trained, train};
use crate::evolve::fitness::UnsuffixedMetrics;

/// At which batch size the board measures a candidate's partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureBatch {
    /// One sample per inference: the cost of the model as it will be deployed for a stream of
    /// single inputs.
    #[default]
    One,
    /// The candidate's evolved batch size, as the reference code measures (its power over the
    /// fitness split at that batch size): the energy and latency figures are divided by the
    /// batch, so they stay per sample; power is the board's while it runs whole batches.
    Evolved,
}

impl crate::named::Named for MeasureBatch {
    const KIND: &'static str = "measurement batch";
    const VALUES: &'static [(Self, &'static str, &'static str)] = &[
        (Self::One, "one", "measure one sample per inference"),
        (Self::Evolved, "evolved", "measure at the evolved batch size (the reference code); figures per sample"),
    ];
}
crate::named::named_enum_text!(MeasureBatch);

/// What a candidate needs from its run (shared by every preparing thread).
#[derive(Debug, Clone, Copy)]
pub struct Preparer<'a> {
    /// The search space (genome → network).
    pub space: &'a SearchSpace,
    /// The data splits.
    pub data: &'a DataSplits,
    /// The run directory (weights are saved under `weights/<id>`).
    pub run_dir: &'a Path,
    /// Train for epochs instead of seconds: `(epochs per default budget, default budget in s)`.
    pub epoch_budget: Option<(usize, f64)>,
    /// How candidates are trained.
    pub method: TrainMethod,
    /// At which batch size the partitions are measured.
    pub measure_batch: MeasureBatch,
    /// Whether the two-head network is exported for the unsuffixed metrics.
    pub unsuffixed: UnsuffixedMetrics,
}

/// A trained, exported candidate waiting for the board.
#[derive(Debug)]
pub struct Prepared {
    /// The phenotype text, for the log.
    pub phenotype: String,
    /// The network, or why the candidate is invalid.
    pub outcome: Result<PreparedNet, String>,
    /// A failure of this machine (a full disk while saving the weights), not of the network:
    /// the run stops, resumable, and the candidate is evaluated again on resume.
    pub host_failure: Option<EvalError>,
    /// When training started and ended (for the wall-time account).
    pub trained: (Instant, Instant),
    /// The module states asked for (the reference's archive), each built alone untrained on
    /// [`REFERENCE_MODULE_INPUT`]: (index into the request's states, export). States that do
    /// not build there are left out, as the reference skips them.
    pub module_states: Vec<(usize, ExportedModule)>,
}

/// The input the reference code measures every module on, whatever its place in a network.
pub const REFERENCE_MODULE_INPUT: Shape = Shape::Image { channels: 1, height: 32, width: 32 };

/// A module built alone on [`REFERENCE_MODULE_INPUT`] with untrained weights from `seed`, as
/// the reference measures archive modules; `None` when it does not build there or has no
/// trainable parameter.
pub fn export_module_state(space: &SearchSpace, module: &Module, seed: u64) -> Option<ExportedModule> {
    let layers = module.layer_specs(space).ok()?;
    let spec = NetSpec::build(REFERENCE_MODULE_INPUT, space.config.classes, &layers, None, space.config.rules).ok()?;
    export_module(&TrainedNet::seeded(spec, seed), 0..layers.len()).ok()
}

/// The exported partitions and modules of a trained candidate.
#[derive(Debug, Serialize, Deserialize)]
pub struct PreparedNet {
    /// Each partition with its accuracy on the fitness split, overall and per class.
    pub partitions: Vec<(ExportedPartition, ClassAccuracy)>,
    /// The partitions exported at the evolved batch size for the board, in the same order
    /// (`MeasureBatch::Evolved`); `None`: the board measures `partitions` themselves.
    pub measured_at_batch: Option<Vec<ExportedPartition>>,
    /// The two-head network of a partitioned candidate, at the measurement batch size
    /// ([`UnsuffixedMetrics::TwoHead`]).
    pub two_head: Option<ExportedPartition>,
    /// The modules to measure alone: (module index, export).
    pub modules: Vec<(usize, ExportedModule)>,
    /// Epochs trained.
    pub epochs: usize,
    /// Seconds of training.
    pub train_s: f64,
    /// Parameters inherited from the parent.
    pub inherited_params: usize,
    /// Validation accuracy after each epoch.
    pub curve: Vec<f64>,
    /// Budget not spent because of racing, seconds (`None`: not raced).
    pub raced_saved_s: Option<f64>,
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "unknown panic".into())
}

impl Preparer<'_> {
    /// Prepares one candidate; an invalid network is an `Err` outcome, never a panic.
    pub fn prepare(&self, request: &EvalRequest<'_>) -> Prepared {
        let individual = &request.candidate.individual;
        let phenotype = individual.phenotype(self.space).map(|p| p.to_string()).unwrap_or_default();
        let started = Instant::now();
        let mut host_failure = None;
        let outcome = match individual.to_netspec(self.space) {
            Err(invalid) => Err(invalid.to_string()),
            // burn panics on some shape errors the NetSpec checks cannot foresee; the reference
            // code likewise turns any runtime error of a candidate into an invalid network.
            Ok(spec) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.train_and_export(request, &spec, &mut host_failure)
            }))
            .unwrap_or_else(|panic| Err(format!("training panicked: {}", panic_text(&*panic)))),
        };
        let module_states = request
            .measure_states
            .iter()
            .enumerate()
            .filter_map(|(i, module)| export_module_state(self.space, module, request.seed ^ i as u64).map(|m| (i, m)))
            .collect();
        Prepared { phenotype, outcome, host_failure, trained: (started, Instant::now()), module_states }
    }

    /// The parent's trained network to inherit from, if asked and its weights are on disk (a
    /// parent whose weights cannot be read is skipped: the child then trains from scratch).
    fn inheritance(&self, request: &EvalRequest<'_>) -> Option<TrainedNet> {
        let (id, parent) = request.inherit_from?;
        let spec = parent.to_netspec(self.space).ok()?;
        match reload_trained(&spec, &weights_dir(self.run_dir, id)) {
            Ok(net) => Some(net),
            Err(err) => {
                tracing::debug!("candidate {} inherits nothing from #{id}: {err}", request.candidate.id);
                None
            }
        }
    }

    fn train_and_export(
        &self,
        request: &EvalRequest<'_>,
        spec: &NetSpec,
        host_failure: &mut Option<EvalError>,
    ) -> Result<PreparedNet, String> {
        let individual = &request.candidate.individual;
        let learning = individual.learning_spec(self.space).map_err(|e| format!("training: {e}"))?;
        let budget = match self.epoch_budget {
            Some((epochs, default_s)) => {
                Budget::Epochs(((epochs as f64) * request.train_s / default_s).round().max(1.0) as usize)
            }
            None => Budget::Seconds(request.train_s),
        };
        let parent_dir = request.warm_start.map(|parent| weights_dir(self.run_dir, parent));
        let save_to = weights_dir(self.run_dir, request.candidate.id);
        let parent = self.inheritance(request);
        let job = TrainJob {
            spec,
            learning: &learning,
            seed: request.seed,
            method: self.method,
            budget,
            warm_start: parent_dir.as_deref(),
            inherit: parent.as_ref(),
            race: request.race.as_ref(),
            save_to: Some(&save_to),
        };
        let trained = match train(&job, self.data, &mut |_| {}) {
            Ok(trained) => trained,
            Err(failure) if failure.is_host_io() => {
                let message = format!("training: {failure}");
                *host_failure =
                    Some(EvalError::caused_by(format!("training candidate {}", request.candidate.id), failure));
                return Err(message);
            }
            Err(failure) => return Err(format!("training: {failure}")),
        };
        let outcome = &trained.outcome;
        let raced_saved_s = (outcome.stop == StopReason::Raced).then(|| match budget {
            Budget::Epochs(epochs) => request.train_s * (1.0 - outcome.epochs as f64 / epochs.max(1) as f64),
            Budget::Seconds(seconds) => (seconds - outcome.wall_time_s).max(0.0),
        });
        let mut partitions = Vec::new();
        for partition in export_partitions(&trained.net).map_err(|e| e.to_string())? {
            let accuracy = partition.class_accuracy(&self.data.fitness).map_err(|e| e.to_string())?;
            partitions.push((partition, accuracy));
        }
        let measure_batch = match self.measure_batch {
            MeasureBatch::Evolved => learning.batch_size.max(1),
            MeasureBatch::One => 1,
        };
        let measured_at_batch = if measure_batch > 1 {
            Some(export_partitions_at(&trained.net, measure_batch).map_err(|e| e.to_string())?)
        } else {
            None
        };
        let two_head = match self.unsuffixed {
            UnsuffixedMetrics::TwoHead if trained.net.spec().partition_point.is_some() => {
                Some(export_two_head_at(&trained.net, measure_batch).map_err(|e| e.to_string())?)
            }
            _ => None,
        };
        let modules = &individual.modules;
        let mut exported_modules = Vec::new();
        for &m in &request.measure_modules {
            let start: usize = modules[..m].iter().map(|module| module.layers.len()).sum();
            if let Ok(module) = export_module(&trained.net, start..start + modules[m].layers.len()) {
                exported_modules.push((m, module));
            }
        }
        Ok(PreparedNet {
            partitions,
            measured_at_batch,
            two_head,
            modules: exported_modules,
            epochs: outcome.epochs,
            train_s: outcome.wall_time_s,
            inherited_params: trained.inherited_params,
            curve: outcome.curve.clone(),
            raced_saved_s,
        })
    }
}
