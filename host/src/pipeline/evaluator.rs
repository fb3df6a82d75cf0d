//! The real evaluator: train → cut partitions → export ONNX → accuracy (tract, on the fitness
//! split) → measure on the board → metrics → fitness; and each new module measured alone.
//!
//! Metrics per partition `p` (0: the full network, 1: the early-exit one; an unpartitioned
//! network's partition 1 is its partition 0): `accuracy_p`, `power_p` (mean board power, W),
//! `dynamic_power_p` (W), `energy_p` (total energy per inference, J), `dynamic_energy_p` (J),
//! `latency_p` (µs), `params_p`. Training or export failures make the candidate invalid (the
//! reference treats any runtime error the same way); a board failure is retried by reopening
//! the board, then the board leaves the farm and another takes the candidate; with no board
//! left the run stops so it can be resumed.
//!
//! An evaluation has two halves: [`Preparer::prepare`] (host: train, export, accuracy) and
//! [`super::measure::finish`] (board: measure, score). [`super::parallel`] runs the first half
//! of several candidates at once and the second on the farm's boards, overlapped.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::board::{Farm, MeasureOverrides};
use crate::data::DataSplits;
use crate::evolve::candidate::{EvalError, EvalRequest, Evaluation, Evaluator};
use crate::evolve::fitness::{FitnessFunction, UnsuffixedMetrics};
use crate::genome::SearchSpace;
use crate::nn::train::TrainMethod;

use super::cache::MeasurementCache;
use super::farm_check::{CalibrationRecord, CrossCheck, CrossCheckModel};
use super::measure::{BoardSlot, MeasureContext};
use super::parallel::Schedule;
use super::prepare::{MeasureBatch, Preparer};
use super::wall::WallAccount;

/// Told the phase of the candidate being evaluated.
pub type PhaseCallback<'a> = Box<dyn FnMut(&str) + 'a>;

/// Where and how candidates are measured.
#[derive(Debug, Clone)]
pub struct BoardTarget {
    /// The boards (one, or a farm file's).
    pub farm: Farm,
    /// Overrides of the profile's measurement protocol.
    pub overrides: MeasureOverrides,
    /// Reopen attempts after a board failure before the board leaves the farm.
    pub retries: usize,
    /// A measurement cache shared between runs (`--cache DIR`).
    pub shared_cache: Option<PathBuf>,
}

/// The physical pipeline.
pub struct PipelineEvaluator<'a> {
    space: &'a SearchSpace,
    data: &'a DataSplits,
    fitness: FitnessFunction,
    target: BoardTarget,
    /// The farm's boards still in service, in farm order.
    pub(super) boards: Vec<BoardSlot>,
    /// Boards taken out of the farm: (id, why).
    pub retired: Vec<(String, String)>,
    /// A farm's boards measure the reference model before the first batch of this invocation
    /// and then every `calibrate_every` generations (0: only the first). A single board takes
    /// no calibration records.
    pub calibrate_every: usize,
    /// The calibration records taken (also in `farm.jsonl`).
    pub calibrations: Vec<CalibrationRecord>,
    /// Models measured again on a second board.
    pub cross_checks: Vec<CrossCheck>,
    calibrated_at: Option<usize>,
    cache: Mutex<MeasurementCache>,
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
    /// Train on a Slurm cluster instead of this machine (`--executor slurm`).
    pub slurm: Option<super::slurm::SlurmSettings>,
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

/// A run's farm, for its summary.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FarmReport {
    /// The farm's name.
    pub name: String,
    /// Its boards' ids.
    pub boards: Vec<String>,
    /// Boards taken out of the farm during the run.
    pub retired: Vec<RetiredBoard>,
    /// (Largest − smallest) / mean of the reference model's energy over the boards' latest
    /// calibration records, percent: how far boards of this kind agree.
    pub reference_energy_spread_pct: Option<f64>,
    /// Calibration records taken (`farm.jsonl`).
    pub calibrations: usize,
    /// Models of the front measured again on a second board.
    pub cross_checks: Vec<CrossCheck>,
    /// The median of their absolute differences, percent (`None`: none measured again).
    pub cross_check_median_abs_pct: Option<f64>,
}

fn median_abs(checks: &[CrossCheck]) -> Option<f64> {
    let mut values: Vec<f64> = checks.iter().map(|c| c.difference_pct.abs()).collect();
    values.sort_by(f64::total_cmp);
    let n = values.len();
    (n > 0).then(|| if n % 2 == 1 { values[n / 2] } else { 0.5 * (values[n / 2 - 1] + values[n / 2]) })
}

/// A board that left the farm.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RetiredBoard {
    /// Its id.
    pub id: String,
    /// Why.
    pub why: String,
}

/// The directory holding a candidate's trained weights.
pub fn weights_dir(run_dir: &Path, id: u64) -> PathBuf {
    run_dir.join("weights").join(format!("{id:06}"))
}

impl<'a> PipelineEvaluator<'a> {
    /// Opens every board of the farm (a board that does not open is a failure: a run starts
    /// with the farm it was given) and loads the run's measurement cache (if any).
    pub fn new(
        space: &'a SearchSpace,
        data: &'a DataSplits,
        fitness: FitnessFunction,
        target: BoardTarget,
        run_dir: &'a Path,
    ) -> Result<Self, EvalError> {
        let mut cache = MeasurementCache::load(&run_dir.join("measurements.json"))
            .map_err(|e| EvalError::caused_by("loading the measurement cache", e))?;
        if let Some(dir) = &target.shared_cache {
            cache =
                cache.with_shared(dir).map_err(|e| EvalError::caused_by("opening the shared measurement cache", e))?;
        }
        let vary = target.farm.from_file;
        let boards = target.farm.boards.iter().map(|b| BoardSlot::new(b.clone(), vary)).collect();
        let mut evaluator = PipelineEvaluator {
            space,
            data,
            fitness,
            target,
            boards,
            retired: Vec::new(),
            calibrate_every: 0,
            calibrations: Vec::new(),
            cross_checks: Vec::new(),
            calibrated_at: None,
            cache: Mutex::new(cache),
            run_dir,
            on_phase: None,
            epoch_budget: None,
            method: TrainMethod::default(),
            measure_batch: MeasureBatch::default(),
            unsuffixed: UnsuffixedMetrics::default(),
            schedule: Schedule::default(),
            slurm: None,
            wall: WallAccount::default(),
        };
        for slot in &mut evaluator.boards {
            slot.open(run_dir)?;
        }
        evaluator.check_one_kind()?;
        Ok(evaluator)
    }

    /// A run compares its candidates' figures, so a farm's boards must be of one kind: the
    /// same board name and, for simulated boards, the same twin.
    fn check_one_kind(&self) -> Result<(), EvalError> {
        let kinds: Vec<(String, String)> = self
            .boards
            .iter()
            .filter_map(|slot| slot.session().map(|s| (s.hello.board_name.clone(), s.hello.twin.clone())))
            .collect();
        if let Some(other) = kinds.iter().find(|k| **k != kinds[0]) {
            let name = |(board, twin): &(String, String)| {
                if twin.is_empty() { board.clone() } else { format!("{board} ({twin})") }
            };
            return Err(EvalError::new(format!(
                "farm {} mixes kinds of board ({} and {}): a run compares figures from one kind; give each kind its own farm file and run",
                self.target.farm.name,
                name(&kinds[0]),
                name(other)
            )));
        }
        Ok(())
    }

    /// Where the figures come from: the first board's handshake label (`SIMULATED (...)` or
    /// `measured on ...`), and the farm's boards when there are several.
    pub fn source_label(&self) -> String {
        let first = self.boards.iter().find_map(|slot| slot.session()).map(crate::board::BoardSession::source_label);
        let label = first.unwrap_or_else(|| "no board".to_owned());
        let farm = &self.target.farm;
        if farm.boards.len() > 1 {
            format!("{label}; farm {} of {} boards: {}", farm.name, farm.boards.len(), farm.ids())
        } else {
            label
        }
    }

    /// The reference model and the generation when a batch of `generation`'s candidates starts
    /// with calibration records (a farm file's boards: the first batch, then every
    /// `calibrate_every` generations).
    pub(super) fn calibration_due(&mut self, generation: usize) -> Result<Option<(Vec<u8>, usize)>, EvalError> {
        let due = match self.calibrated_at {
            None => true,
            Some(last) => self.calibrate_every > 0 && generation >= last + self.calibrate_every,
        };
        if !(self.is_farm() && due) {
            return Ok(None);
        }
        self.calibrated_at = Some(generation);
        Ok(Some((super::farm_check::reference_model()?, generation)))
    }

    /// Takes the boards that failed out of service for good.
    pub(super) fn drop_retired(&mut self) {
        let retired = &self.retired;
        self.boards.retain(|slot| !retired.iter().any(|(id, _)| *id == slot.board.id));
    }

    /// True when the boards come from a farm file (calibration records, cross-checks).
    pub fn is_farm(&self) -> bool {
        self.target.farm.from_file
    }

    /// The farm's name, boards, the boards taken out and how far the boards agree.
    pub fn farm_report(&self) -> Option<FarmReport> {
        let farm = &self.target.farm;
        self.is_farm().then(|| FarmReport {
            name: farm.name.clone(),
            boards: farm.boards.iter().map(|b| b.id.clone()).collect(),
            retired: self.retired.iter().map(|(id, why)| RetiredBoard { id: id.clone(), why: why.clone() }).collect(),
            reference_energy_spread_pct: super::farm_check::energy_spread_pct(&self.calibrations),
            calibrations: self.calibrations.len(),
            cross_checks: self.cross_checks.clone(),
            cross_check_median_abs_pct: median_abs(&self.cross_checks),
        })
    }

    /// Measures `models` again, each on a board of the farm that did not measure it; the
    /// results go to the farm report.
    pub fn cross_check(&mut self, models: &[CrossCheckModel]) {
        let (context, boards, _) = self.measuring();
        let checks = super::farm_check::cross_check(boards, &context, models);
        self.cross_checks.extend(checks);
    }

    /// What the boards' threads share, and the boards themselves.
    pub(super) fn measuring(&mut self) -> (MeasureContext<'_>, &mut Vec<BoardSlot>, &mut Vec<(String, String)>) {
        let context = MeasureContext {
            overrides: &self.target.overrides,
            retries: self.target.retries,
            cache: &self.cache,
            fitness: &self.fitness,
            run_dir: self.run_dir,
        };
        (context, &mut self.boards, &mut self.retired)
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
}

impl Evaluator for PipelineEvaluator<'_> {
    fn evaluate(&mut self, request: EvalRequest<'_>) -> Result<Evaluation, EvalError> {
        let mut evaluation = None;
        super::parallel::evaluate_all(self, std::slice::from_ref(&request), &mut |_, e| {
            evaluation = Some(e);
            true
        })?;
        evaluation.ok_or_else(|| EvalError::new("the batch of one candidate ended without its evaluation"))
    }

    fn evaluate_all(
        &mut self,
        requests: Vec<EvalRequest<'_>>,
        done: &mut dyn FnMut(usize, Evaluation) -> bool,
    ) -> Result<(), EvalError> {
        super::parallel::evaluate_all(self, &requests, done)
    }

    fn checkpoint(&mut self) -> Result<(), EvalError> {
        let cache = self.cache.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.save().map_err(|e| EvalError::caused_by("saving the measurement cache", e))
    }
}
