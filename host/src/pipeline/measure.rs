//! The board's half of an evaluation: a prepared candidate's partitions and modules measured
//! on one board of the farm ([`BoardSlot`]), its metrics and fitness ([`finish`]).
//!
//! A model the board refuses for what it is (it does not load, does not run, needs more memory
//! than the board has) makes the candidate invalid; a failure of the board or the link is
//! retried by reopening the board, then reported as an error so that the farm can take the
//! board out and give the candidate to another one.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::board::farm::{self, FarmBoard};
use crate::board::profiles::load_profile;
use crate::board::{BoardError, BoardSession, ClientError, MeasureOverrides, OpenOptions, measure_protocol};
use crate::evolve::candidate::{EvalError, Evaluation, ModuleCost};
use crate::evolve::fitness::{FitnessFunction, Metrics};
use wattevo_proto::{Measurement, WireError};

use super::cache::MeasurementCache;
use super::export::ClassAccuracy;
use super::prepare::Prepared;

/// One board of the farm and its session (opened on first use, reopened after a failure).
#[derive(Debug)]
pub struct BoardSlot {
    /// The board.
    pub board: FarmBoard,
    /// Draw a simulated board's figures from its profile's tolerance (boards of a farm file).
    pub vary: bool,
    session: Option<BoardSession>,
}

/// What every board's measurements share: the protocol, the cache and the scoring.
#[derive(Debug)]
pub struct MeasureContext<'c> {
    /// Overrides of the profiles' measurement protocol.
    pub overrides: &'c MeasureOverrides,
    /// Reopen attempts after a board failure before the board is given up.
    pub retries: usize,
    /// The measurement cache.
    pub cache: &'c Mutex<MeasurementCache>,
    /// The scoring.
    pub fitness: &'c FitnessFunction,
    /// Where simulated agents write their logs.
    pub run_dir: &'c Path,
}

impl BoardSlot {
    /// A slot for `board`, not opened yet.
    pub fn new(board: FarmBoard, vary: bool) -> Self {
        BoardSlot { board, vary, session: None }
    }

    /// The open session, if any.
    pub fn session(&self) -> Option<&BoardSession> {
        self.session.as_ref()
    }

    /// Opens (or reopens) the board.
    pub fn open(&mut self, run_dir: &Path) -> Result<(), EvalError> {
        self.session = None;
        let what = || format!("board {} ({})", self.board.id, self.board.profile);
        let loaded = load_profile(&self.board.profile).map_err(|e| EvalError::caused_by(what(), e))?;
        let loaded = if self.vary { farm::vary(&loaded, &self.board) } else { loaded };
        let options = OpenOptions {
            port: self.board.port.clone(),
            run_dir: Some(run_dir.to_path_buf()),
            board_id: self.vary.then(|| self.board.id.clone()),
        };
        let session = BoardSession::open_profile(loaded, &options).map_err(|e| EvalError::caused_by(what(), e))?;
        self.session = Some(session);
        Ok(())
    }

    /// Measures an ONNX model, reopening the board after a failure up to `ctx.retries` times.
    /// With `arch` (its architecture hash) the measurement is cached by architecture, board and
    /// runtime versions and protocol; without, it is always taken (calibration, cross-checks).
    /// A model the board refuses for what it is is `Ok(Err(reason))`.
    pub fn measure(
        &mut self,
        ctx: &MeasureContext<'_>,
        bytes: &[u8],
        arch: Option<&str>,
        hits: &mut usize,
    ) -> Result<Result<Measurement, String>, EvalError> {
        let mut attempts = 0;
        loop {
            let Some(session) = self.session.as_mut() else {
                match self.open(ctx.run_dir) {
                    Ok(()) => continue,
                    Err(err) if attempts < ctx.retries => {
                        attempts += 1;
                        tracing::warn!("{err:#}; retrying (attempt {attempts} of {})", ctx.retries);
                        std::thread::sleep(Duration::from_millis(500));
                        continue;
                    }
                    Err(err) => return Err(err),
                }
            };
            let key = arch.map(|arch| {
                MeasurementCache::key(arch, &session.hello, &measure_protocol(&session.profile.profile, ctx.overrides))
            });
            if let Some(found) = key.as_ref().and_then(|key| lock(ctx.cache).get(key)) {
                *hits += 1;
                return Ok(Ok(found));
            }
            match session.measure_onnx(bytes, ctx.overrides, 0) {
                Ok(measurement) => {
                    if let Some(key) = key {
                        lock(ctx.cache).insert(key, measurement.clone());
                    }
                    return Ok(Ok(measurement));
                }
                Err(err) if model_refusal(&err).is_some() => {
                    return Ok(Err(model_refusal(&err).unwrap_or_default()));
                }
                Err(err) if attempts < ctx.retries => {
                    attempts += 1;
                    tracing::warn!(
                        "board {} failed ({err}); reopening it (attempt {attempts} of {})",
                        self.board.id,
                        ctx.retries
                    );
                    std::thread::sleep(Duration::from_millis(500));
                    if let Err(reopen) = self.open(ctx.run_dir) {
                        tracing::warn!("{reopen:#}");
                    }
                }
                Err(err) => {
                    self.session = None;
                    return Err(EvalError::caused_by(
                        format!("board {} failed after {attempts} retries", self.board.id),
                        err,
                    ));
                }
            }
        }
    }
}

/// The cache, even if another board's thread panicked while holding it (its entries are whole:
/// an insert is one map operation).
fn lock(cache: &Mutex<MeasurementCache>) -> std::sync::MutexGuard<'_, MeasurementCache> {
    cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Measures the partitions and modules of a prepared candidate on `slot` and scores it; an
/// error is the board's (after its retries), and another board may take the candidate.
pub fn finish(ctx: &MeasureContext<'_>, slot: &mut BoardSlot, prepared: &Prepared) -> Result<Evaluation, EvalError> {
    let started = Instant::now();
    let mut hits = 0;
    let measure =
        |slot: &mut BoardSlot, bytes: &[u8], arch: &str, hits: &mut usize| slot.measure(ctx, bytes, Some(arch), hits);
    // the reference's archive measures module states whatever becomes of the candidate
    let mut module_states = Vec::new();
    for (index, exported) in &prepared.module_states {
        if let Ok(measured) = measure(slot, &exported.onnx, &exported.arch_hash, &mut hits)? {
            module_states.push(ModuleCost {
                module: *index,
                arch_hash: exported.arch_hash.clone(),
                power_w: Some(measured.total_power_w.mean),
                energy_j: Some(measured.energy_per_inference_j.mean),
            });
        }
    }
    let board = slot.board.id.clone();
    let invalid = |reason: String| {
        let mut evaluation = Evaluation::invalid(reason, prepared.phenotype.clone());
        evaluation.module_states.clone_from(&module_states);
        evaluation.board.clone_from(&board);
        evaluation
    };
    let net = match &prepared.outcome {
        Ok(net) => net,
        Err(reason) => return Ok(invalid(reason.clone())),
    };
    let mut metrics = Metrics::new();
    for (index, (partition, accuracy)) in net.partitions.iter().enumerate() {
        let on_board = net.measured_at_batch.as_ref().and_then(|models| models.get(index)).unwrap_or(partition);
        let measured = match measure(slot, &on_board.onnx, &on_board.arch_hash, &mut hits)? {
            Ok(measured) => per_sample(measured, on_board.batch),
            Err(reason) => return Ok(invalid(reason)),
        };
        insert_partition(&mut metrics, partition.partition.index(), accuracy, &measured, partition.params);
    }
    if let Some(two_head) = &net.two_head {
        let measured = match measure(slot, &two_head.onnx, &two_head.arch_hash, &mut hits)? {
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
        let measured = match measure(slot, &exported.onnx, &exported.arch_hash, &mut hits)? {
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
    match ctx.fitness.evaluate(&metrics) {
        Ok(fitness) => evaluation.fitness = fitness,
        Err(err) => evaluation.invalid = Some(format!("fitness: {err}")),
    }
    evaluation.metrics = metrics;
    evaluation.epochs = net.epochs;
    evaluation.train_s = net.train_s;
    evaluation.measure_s = started.elapsed().as_secs_f64();
    evaluation.cache_hits = hits;
    evaluation.inherited_params = net.inherited_params;
    evaluation.curve.clone_from(&net.curve);
    evaluation.raced = net.raced_saved_s.is_some();
    evaluation.race_saved_s = net.raced_saved_s.unwrap_or(0.0);
    evaluation.modules = modules;
    Ok(evaluation)
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
