//! The real evaluator: train → cut partitions → export ONNX → accuracy (tract, on the fitness
//! split) → measure on the board → metrics → fitness; and each new module measured alone.
//!
//! Metrics per partition `p` (0: the full network, 1: the early-exit one; an unpartitioned
//! network's partition 1 is its partition 0): `accuracy_p`, `power_p` (mean board power, W),
//! `dynamic_power_p` (W), `energy_p` (total energy per inference, J), `dynamic_energy_p` (J),
//! `latency_p` (µs), `params_p`. Training or export failures make the candidate invalid (the
//! reference treats any runtime error the same way); a board failure is retried by reopening
//! the board, then stops the run so it can be resumed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::board::{BoardSession, MeasureOverrides, OpenOptions};
use crate::data::DataSplits;
use crate::evolve::candidate::{EvalError, EvalRequest, Evaluation, Evaluator, ModuleCost};
use crate::evolve::fitness::{FitnessFunction, Metrics};
use crate::genome::SearchSpace;
use crate::netspec::{NetSpec, TrainedNet};
use crate::nn::train::LossKind;
use wattevo_proto::Measurement;

use super::cache::MeasurementCache;
use super::export::{export_module, export_partitions};
use super::train::{Budget, TrainJob, reload_trained, train};

/// What training a candidate gave the evaluator.
struct Trained {
    net: TrainedNet,
    epochs: usize,
    train_s: f64,
    inherited_params: usize,
}

/// Told the phase of the candidate being evaluated.
pub type PhaseCallback<'a> = Box<dyn FnMut(&str) + 'a>;

/// Where and how candidates are measured.
#[derive(Debug, Clone)]
pub struct BoardTarget {
    /// Profile path or bundled name (`sim`, `pi4b`).
    pub board: String,
    /// Serial port (`None`: the profile's, or a simulated board).
    pub port: Option<String>,
    /// Overrides of the profile's measurement protocol.
    pub overrides: MeasureOverrides,
    /// Reopen attempts after a board failure before the run stops.
    pub retries: usize,
}

/// The physical pipeline.
pub struct PipelineEvaluator<'a> {
    space: &'a SearchSpace,
    data: &'a DataSplits,
    fitness: FitnessFunction,
    target: BoardTarget,
    board: Option<BoardSession>,
    cache: MeasurementCache,
    run_dir: PathBuf,
    /// Train for epochs instead of seconds: `(epochs per default budget, default budget in s)`.
    /// A candidate with budget `b` s trains `round(epochs · b / default)` epochs.
    pub epoch_budget: Option<(usize, f64)>,
    /// Called with a short phase name while a candidate is evaluated (`training`, `measuring`).
    pub on_phase: Option<PhaseCallback<'a>>,
}

impl std::fmt::Debug for PipelineEvaluator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineEvaluator")
            .field("target", &self.target)
            .field("run_dir", &self.run_dir)
            .finish_non_exhaustive()
    }
}

/// The directory holding a candidate's trained weights.
pub fn weights_dir(run_dir: &Path, id: u64) -> PathBuf {
    run_dir.join("weights").join(format!("{id:06}"))
}

impl<'a> PipelineEvaluator<'a> {
    /// Opens the board and loads the run's measurement cache (if any).
    pub fn new(
        space: &'a SearchSpace,
        data: &'a DataSplits,
        fitness: FitnessFunction,
        target: BoardTarget,
        run_dir: &Path,
    ) -> Result<Self, EvalError> {
        let cache = MeasurementCache::load(&run_dir.join("measurements.json"))
            .map_err(|e| EvalError::caused_by("loading the measurement cache", e))?;
        let mut evaluator = PipelineEvaluator {
            space,
            data,
            fitness,
            target,
            board: None,
            cache,
            run_dir: run_dir.to_path_buf(),
            on_phase: None,
            epoch_budget: None,
        };
        evaluator.open_board()?;
        Ok(evaluator)
    }

    /// The board's handshake label (`SIMULATED (...)` or `measured on ...`).
    pub fn source_label(&self) -> String {
        self.board.as_ref().map_or_else(|| "no board".to_owned(), BoardSession::source_label)
    }

    fn open_board(&mut self) -> Result<(), EvalError> {
        self.board = None;
        let options = OpenOptions { port: self.target.port.clone(), run_dir: Some(self.run_dir.clone()) };
        let session = BoardSession::open(&self.target.board, &options)
            .map_err(|e| EvalError::caused_by(format!("board {}", self.target.board), e))?;
        self.board = Some(session);
        Ok(())
    }

    fn phase(&mut self, name: &str) {
        if let Some(callback) = self.on_phase.as_mut() {
            callback(name);
        }
    }

    /// Measures an ONNX model (cached by architecture, board and runtime versions), reopening
    /// the board after a failure up to `retries` times.
    fn measure(&mut self, bytes: &[u8], arch: &str, hits: &mut usize) -> Result<Measurement, EvalError> {
        let mut attempts = 0;
        loop {
            let Some(board) = self.board.as_mut() else {
                self.open_board()?;
                continue;
            };
            let key = MeasurementCache::key(arch, &board.hello);
            if let Some(found) = self.cache.get(&key) {
                *hits += 1;
                return Ok(found.clone());
            }
            match board.measure_onnx(bytes, &self.target.overrides, 0) {
                Ok(measurement) => {
                    self.cache.insert(key, measurement.clone());
                    return Ok(measurement);
                }
                Err(err) if attempts < self.target.retries => {
                    attempts += 1;
                    tracing::warn!(
                        "board {} failed ({err}); reopening it (attempt {attempts} of {})",
                        self.target.board,
                        self.target.retries
                    );
                    std::thread::sleep(Duration::from_millis(500));
                    if let Err(reopen) = self.open_board() {
                        tracing::warn!("{reopen}");
                    }
                }
                Err(err) => {
                    return Err(EvalError::caused_by(
                        format!("board {} failed after {attempts} retries", self.target.board),
                        err,
                    ));
                }
            }
        }
    }

    /// The parent's trained network to inherit from, if asked and its weights are on disk (a
    /// parent whose weights cannot be read is skipped: the child then trains from scratch).
    fn inheritance(&self, request: &EvalRequest<'_>) -> Option<TrainedNet> {
        let (id, parent) = request.inherit_from?;
        let spec = parent.to_netspec(self.space).ok()?;
        match reload_trained(&spec, &weights_dir(&self.run_dir, id)) {
            Ok(net) => Some(net),
            Err(err) => {
                tracing::debug!("candidate {} inherits nothing from #{id}: {err}", request.candidate.id);
                None
            }
        }
    }

    fn train(&mut self, request: &EvalRequest<'_>, spec: &NetSpec) -> Result<Trained, String> {
        let learning = request.candidate.individual.learning_spec(self.space).map_err(|e| e.to_string())?;
        let budget = match self.epoch_budget {
            Some((epochs, default_s)) => {
                Budget::Epochs(((epochs as f64) * request.train_s / default_s).round().max(1.0) as usize)
            }
            None => Budget::Seconds(request.train_s),
        };
        let parent_dir = request.warm_start.map(|parent| weights_dir(&self.run_dir, parent));
        let save_to = weights_dir(&self.run_dir, request.candidate.id);
        let parent = self.inheritance(request);
        let job = TrainJob {
            spec,
            learning: &learning,
            seed: request.seed,
            loss: LossKind::Logits,
            budget,
            warm_start: parent_dir.as_deref(),
            inherit: parent.as_ref(),
            save_to: Some(&save_to),
        };
        let trained = train(&job, self.data, &mut |_| {}).map_err(|e| e.to_string())?;
        Ok(Trained {
            net: trained.net,
            epochs: trained.outcome.epochs,
            train_s: trained.outcome.wall_time_s,
            inherited_params: trained.inherited_params,
        })
    }

    fn partition_metrics(&mut self, net: &TrainedNet, hits: &mut usize) -> Result<Result<Metrics, String>, EvalError> {
        let exported = match export_partitions(net) {
            Ok(exported) => exported,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let mut metrics = Metrics::new();
        for partition in &exported {
            let accuracy = match partition.accuracy(&self.data.fitness) {
                Ok(a) => a,
                Err(e) => return Ok(Err(e.to_string())),
            };
            let measured = self.measure(&partition.onnx, &partition.arch_hash, hits)?;
            insert_partition(&mut metrics, partition.partition.index(), accuracy, &measured, partition.params);
        }
        if exported.len() == 1 {
            let copies: Vec<_> =
                metrics.iter().filter_map(|(k, v)| k.strip_suffix("_0").map(|b| (format!("{b}_1"), *v))).collect();
            metrics.extend(copies);
        }
        Ok(Ok(metrics))
    }

    fn module_costs(
        &mut self,
        request: &EvalRequest<'_>,
        net: &TrainedNet,
        hits: &mut usize,
    ) -> Result<Vec<ModuleCost>, EvalError> {
        let modules = &request.candidate.individual.modules;
        let mut costs = Vec::new();
        for &m in &request.measure_modules {
            let start: usize = modules[..m].iter().map(|module| module.layers.len()).sum();
            let Ok(module) = export_module(net, start..start + modules[m].layers.len()) else { continue };
            let measured = self.measure(&module.onnx, &module.arch_hash, hits)?;
            costs.push(ModuleCost {
                module: m,
                arch_hash: module.arch_hash,
                power_w: Some(measured.total_power_w.mean),
                energy_j: Some(measured.energy_per_inference_j.mean),
            });
        }
        Ok(costs)
    }
}

fn insert_partition(metrics: &mut Metrics, p: usize, accuracy: f64, m: &Measurement, params: usize) {
    let mut put = |name: &str, value: f64| metrics.insert(format!("{name}_{p}"), value);
    put("accuracy", accuracy);
    put("power", m.total_power_w.mean);
    put("dynamic_power", m.dynamic_power_w.mean);
    put("energy", m.energy_per_inference_j.mean);
    put("dynamic_energy", m.dynamic_energy_per_inference_j.mean);
    put("latency", m.latency_mean_us);
    put("params", params as f64);
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "unknown panic".into())
}

impl Evaluator for PipelineEvaluator<'_> {
    fn evaluate(&mut self, request: EvalRequest<'_>) -> Result<Evaluation, EvalError> {
        let individual = &request.candidate.individual;
        let phenotype = individual.phenotype(self.space).map(|p| p.to_string()).unwrap_or_default();
        let spec = match individual.to_netspec(self.space) {
            Ok(spec) => spec,
            Err(invalid) => return Ok(Evaluation::invalid(invalid.to_string(), phenotype)),
        };
        self.phase("training");
        // burn panics on some shape errors the NetSpec checks cannot foresee; the reference
        // code likewise turns any runtime error of a candidate into an invalid network.
        let trained = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.train(&request, &spec)));
        let Trained { net, epochs, train_s, inherited_params } = match trained {
            Ok(Ok(trained)) => trained,
            Ok(Err(reason)) => return Ok(Evaluation::invalid(format!("training: {reason}"), phenotype)),
            Err(panic) => {
                return Ok(Evaluation::invalid(format!("training panicked: {}", panic_text(&*panic)), phenotype));
            }
        };
        self.phase("measuring");
        let started = Instant::now();
        let mut hits = 0;
        let metrics = match self.partition_metrics(&net, &mut hits)? {
            Ok(metrics) => metrics,
            Err(reason) => return Ok(Evaluation::invalid(reason, phenotype)),
        };
        let modules = self.module_costs(&request, &net, &mut hits)?;
        let mut evaluation = Evaluation::invalid("", phenotype);
        evaluation.invalid = None;
        match self.fitness.evaluate(&metrics) {
            Ok(fitness) => evaluation.fitness = fitness,
            Err(err) => evaluation.invalid = Some(format!("fitness: {err}")),
        }
        evaluation.metrics = metrics;
        evaluation.epochs = epochs;
        evaluation.train_s = train_s;
        evaluation.measure_s = started.elapsed().as_secs_f64();
        evaluation.cache_hits = hits;
        evaluation.inherited_params = inherited_params;
        evaluation.modules = modules;
        Ok(evaluation)
    }

    fn checkpoint(&mut self) -> Result<(), EvalError> {
        self.cache.save().map_err(|e| EvalError::caused_by("saving the measurement cache", e))
    }
}
