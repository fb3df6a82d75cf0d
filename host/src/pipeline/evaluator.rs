//! The real evaluator: train → cut partitions → export ONNX → accuracy (tract, on the fitness
//! split) → measure on the board → metrics → fitness; and each new module measured alone.
//!
//! Metrics per partition `p` (0: the full network, 1: the early-exit one; an unpartitioned
//! network's partition 1 is its partition 0): `accuracy_p`, `power_p` (mean board power, W),
//! `dynamic_power_p` (W), `energy_p` (total energy per inference, J), `dynamic_energy_p` (J),
//! `latency_p` (µs), `params_p`. Training or export failures make the candidate invalid (the
//! reference treats any runtime error the same way); a board failure is retried by reopening
//! the board, then stops the run so it can be resumed.
//!
//! An evaluation has two halves: [`Preparer::prepare`] (host: train, export, accuracy) and
//! [`PipelineEvaluator::finish`] (board: measure, score). [`super::parallel`] runs the first
//! half of several candidates at once and the second in candidate order, overlapped.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::board::{BoardError, BoardSession, ClientError, MeasureOverrides, OpenOptions};
use crate::data::DataSplits;
use crate::evolve::candidate::{EvalError, EvalRequest, Evaluation, Evaluator, ModuleCost};
use crate::evolve::fitness::{FitnessFunction, Metrics, UnsuffixedMetrics};
use crate::genome::SearchSpace;
use crate::nn::train::TrainMethod;
use wattevo_proto::{Measurement, WireError};

use super::cache::MeasurementCache;
use super::export::ClassAccuracy;
use super::parallel::Schedule;
use super::prepare::{MeasureBatch, Prepared, Preparer};
use super::wall::WallAccount;

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
    run_dir: &'a Path,
    /// Train for epochs instead of seconds: `(epochs per default budget, default budget in s)`.
    /// A candidate with budget `b` s trains `round(epochs · b / default)` epochs.
    pub epoch_budget: Option<(usize, f64)>,
    /// How candidates are trained (loss, LARS schedule, `train_longer` optimiser).
    pub method: TrainMethod,
    /// At which batch size the board measures the partitions.
    pub measure_batch: MeasureBatch,
    /// What unsuffixed board metrics mean (the two-head network is measured for `TwoHead`).
    pub unsuffixed: UnsuffixedMetrics,
    /// Called with a short phase name while a candidate is evaluated (`training`, `measuring`).
    pub on_phase: Option<PhaseCallback<'a>>,
    /// How many candidates train at once, with how many threads each.
    pub schedule: Schedule,
    /// Where the wall time of the evaluations went.
    pub wall: WallAccount,
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
        run_dir: &'a Path,
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
            run_dir,
            on_phase: None,
            epoch_budget: None,
            method: TrainMethod::default(),
            measure_batch: MeasureBatch::default(),
            unsuffixed: UnsuffixedMetrics::default(),
            schedule: Schedule::default(),
            wall: WallAccount::default(),
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
        let options = OpenOptions { port: self.target.port.clone(), run_dir: Some(self.run_dir.to_path_buf()) };
        let session = BoardSession::open(&self.target.board, &options)
            .map_err(|e| EvalError::caused_by(format!("board {}", self.target.board), e))?;
        self.board = Some(session);
        Ok(())
    }

    pub(super) fn phase(&mut self, name: &str) {
        if let Some(callback) = self.on_phase.as_mut() {
            callback(name);
        }
    }

    /// Measures an ONNX model (cached by architecture, board and runtime versions), reopening
    /// the board after a failure up to `retries` times. A model the board refuses for what it
    /// is (it does not load, does not run, or needs more memory than the board has) is
    /// `Ok(Err(reason))`: the candidate is invalid, the run goes on.
    fn measure(
        &mut self,
        bytes: &[u8],
        arch: &str,
        hits: &mut usize,
    ) -> Result<Result<Measurement, String>, EvalError> {
        let mut attempts = 0;
        loop {
            let Some(board) = self.board.as_mut() else {
                self.open_board()?;
                continue;
            };
            let key = MeasurementCache::key(arch, &board.hello);
            if let Some(found) = self.cache.get(&key) {
                *hits += 1;
                return Ok(Ok(found.clone()));
            }
            match board.measure_onnx(bytes, &self.target.overrides, 0) {
                Ok(measurement) => {
                    self.cache.insert(key, measurement.clone());
                    return Ok(Ok(measurement));
                }
                Err(err) if model_refusal(&err).is_some() => {
                    return Ok(Err(model_refusal(&err).unwrap_or_default()));
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

    /// The host-side half of an evaluation, without the board.
    pub fn preparer(&self) -> Preparer<'a> {
        Preparer {
            space: self.space,
            data: self.data,
            run_dir: self.run_dir,
            epoch_budget: self.epoch_budget,
            method: self.method,
            measure_batch: self.measure_batch,
            unsuffixed: self.unsuffixed,
        }
    }

    /// The board's half: measures the partitions and modules of a prepared candidate and
    /// scores it.
    pub(super) fn finish(&mut self, prepared: Prepared) -> Result<Evaluation, EvalError> {
        if let Some(host) = prepared.host_failure {
            return Err(host);
        }
        self.phase("measuring");
        let started = Instant::now();
        let mut hits = 0;
        // the reference's archive measures module states whatever becomes of the candidate
        let mut module_states = Vec::new();
        for (index, exported) in &prepared.module_states {
            if let Ok(measured) = self.measure(&exported.onnx, &exported.arch_hash, &mut hits)? {
                module_states.push(ModuleCost {
                    module: *index,
                    arch_hash: exported.arch_hash.clone(),
                    power_w: Some(measured.total_power_w.mean),
                    energy_j: Some(measured.energy_per_inference_j.mean),
                });
            }
        }
        let invalid = |reason: String| {
            let mut evaluation = Evaluation::invalid(reason, prepared.phenotype.clone());
            evaluation.module_states.clone_from(&module_states);
            evaluation
        };
        let net = match prepared.outcome {
            Ok(net) => net,
            Err(reason) => return Ok(invalid(reason)),
        };
        let mut metrics = Metrics::new();
        for (index, (partition, accuracy)) in net.partitions.iter().enumerate() {
            let on_board = net.measured_at_batch.as_ref().and_then(|models| models.get(index)).unwrap_or(partition);
            let measured = match self.measure(&on_board.onnx, &on_board.arch_hash, &mut hits)? {
                Ok(measured) => per_sample(measured, on_board.batch),
                Err(reason) => return Ok(invalid(reason)),
            };
            insert_partition(&mut metrics, partition.partition.index(), accuracy, &measured, partition.params);
        }
        if let Some(two_head) = &net.two_head {
            let measured = match self.measure(&two_head.onnx, &two_head.arch_hash, &mut hits)? {
                Ok(measured) => per_sample(measured, two_head.batch),
                Err(reason) => return Ok(invalid(reason)),
            };
            insert_board_metrics(&mut metrics, None, &measured);
        }
        if net.partitions.len() == 1 {
            let copies: Vec<_> =
                metrics.iter().filter_map(|(k, v)| k.strip_suffix("_0").map(|b| (format!("{b}_1"), *v))).collect();
            metrics.extend(copies);
        }
        let mut modules = Vec::new();
        for (module, exported) in &net.modules {
            let measured = match self.measure(&exported.onnx, &exported.arch_hash, &mut hits)? {
                Ok(measured) => measured,
                Err(reason) => return Ok(invalid(reason)),
            };
            modules.push(ModuleCost {
                module: *module,
                arch_hash: exported.arch_hash.clone(),
                power_w: Some(measured.total_power_w.mean),
                energy_j: Some(measured.energy_per_inference_j.mean),
            });
        }
        let mut evaluation = invalid(String::new());
        evaluation.invalid = None;
        match self.fitness.evaluate(&metrics) {
            Ok(fitness) => evaluation.fitness = fitness,
            Err(err) => evaluation.invalid = Some(format!("fitness: {err}")),
        }
        evaluation.metrics = metrics;
        evaluation.epochs = net.epochs;
        evaluation.train_s = net.train_s;
        evaluation.measure_s = started.elapsed().as_secs_f64();
        evaluation.cache_hits = hits;
        evaluation.inherited_params = net.inherited_params;
        evaluation.curve = net.curve;
        evaluation.raced = net.raced_saved_s.is_some();
        evaluation.race_saved_s = net.raced_saved_s.unwrap_or(0.0);
        evaluation.modules = modules;
        Ok(evaluation)
    }
}

/// Why the board refused a model for what the model is (a property of the candidate, not a
/// failure of the board or the link), if it did.
fn model_refusal(err: &BoardError) -> Option<String> {
    match err {
        BoardError::Client(ClientError::Agent { request, error, detail, .. })
            if matches!(
                error,
                WireError::InvalidModel
                    | WireError::InputShapeMismatch
                    | WireError::RunFailed
                    | WireError::MemoryExceeded { .. }
                    | WireError::TooSlow { .. }
            ) =>
        {
            Some(format!("the board refused the model ({request}): {error:?}: {detail}"))
        }
        BoardError::Model(e) => Some(format!("the board cannot be given the model: {e}")),
        _ => None,
    }
}

/// A measurement of runs of `batch` samples as figures per sample: energy and latency divided by
/// the batch, power as measured.
fn per_sample(mut m: Measurement, batch: usize) -> Measurement {
    if batch > 1 {
        let b = batch as f64;
        for stat in [&mut m.energy_per_inference_j, &mut m.dynamic_energy_per_inference_j] {
            stat.mean /= b;
            stat.std /= b;
            stat.ci95 /= b;
        }
        m.latency_mean_us /= b;
        m.latency_p50_us /= b;
        m.latency_p99_us /= b;
    }
    m
}

fn insert_partition(metrics: &mut Metrics, p: usize, accuracy: &ClassAccuracy, m: &Measurement, params: usize) {
    metrics.insert(format!("accuracy_{p}"), accuracy.overall);
    for (class, value) in accuracy.per_class.iter().enumerate().filter(|(_, v)| v.is_finite()) {
        metrics.insert(format!("accuracy_class{class}_{p}"), *value);
    }
    metrics.insert(format!("params_{p}"), params as f64);
    insert_board_metrics(metrics, Some(p), m);
}

/// The board's figures as `<name>_<p>`, or unsuffixed `<name>` without a partition (the
/// two-head network).
fn insert_board_metrics(metrics: &mut Metrics, partition: Option<usize>, m: &Measurement) {
    let mut put = |name: &str, value: f64| {
        let key = partition.map_or_else(|| name.to_owned(), |p| format!("{name}_{p}"));
        metrics.insert(key, value);
    };
    put("power", m.total_power_w.mean);
    put("dynamic_power", m.dynamic_power_w.mean);
    put("energy", m.energy_per_inference_j.mean);
    put("dynamic_energy", m.dynamic_energy_per_inference_j.mean);
    put("latency", m.latency_mean_us);
}

impl Evaluator for PipelineEvaluator<'_> {
    fn evaluate(&mut self, request: EvalRequest<'_>) -> Result<Evaluation, EvalError> {
        self.phase("training");
        let prepared = self.preparer().prepare(&request);
        self.finish(prepared)
    }

    fn evaluate_all(
        &mut self,
        requests: Vec<EvalRequest<'_>>,
        done: &mut dyn FnMut(usize, Evaluation) -> bool,
    ) -> Result<(), EvalError> {
        super::parallel::evaluate_all(self, &requests, done)
    }

    fn checkpoint(&mut self) -> Result<(), EvalError> {
        self.cache.save().map_err(|e| EvalError::caused_by("saving the measurement cache", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(error: WireError) -> BoardError {
        BoardError::Client(ClientError::Agent {
            link: "board sim".into(),
            request: "UploadCommit",
            error,
            detail: "detail".into(),
        })
    }

    #[test]
    fn batched_measurements_are_reported_per_sample() {
        let one = crate::board::fake::placeholder_measurement(wattevo_proto::ModelHash([0; 32]));
        let batched = per_sample(one.clone(), 4);
        assert_eq!(batched.total_power_w, one.total_power_w, "power is the board's while it runs batches");
        assert_eq!(batched.energy_per_inference_j.mean, one.energy_per_inference_j.mean / 4.0);
        assert_eq!(batched.dynamic_energy_per_inference_j.mean, one.dynamic_energy_per_inference_j.mean / 4.0);
        assert_eq!(batched.latency_mean_us, 250.0);
        assert_eq!(per_sample(one.clone(), 1).energy_per_inference_j, one.energy_per_inference_j);
    }

    #[test]
    fn refusals_of_the_model_make_it_invalid_and_link_failures_do_not() {
        for error in [
            WireError::InvalidModel,
            WireError::InputShapeMismatch,
            WireError::RunFailed,
            WireError::MemoryExceeded { needed: 2, limit: 1 },
            WireError::TooSlow { run_us: 1, projected_ms: 2, limit_ms: 1 },
        ] {
            let reason = model_refusal(&refused(error)).expect("a property of the model");
            assert!(reason.contains("UploadCommit") && reason.contains("detail"), "{reason}");
        }
        for error in [WireError::SensorFault, WireError::Internal, WireError::BadFrame] {
            assert_eq!(model_refusal(&refused(error)), None, "{error:?} is the board's failure");
        }
        let timeout =
            BoardError::Client(ClientError::Timeout { link: "board sim".into(), request: "Measure", timeout_ms: 1 });
        assert_eq!(model_refusal(&timeout), None);
    }
}
