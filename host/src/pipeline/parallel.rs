//! Evaluating a population with training and measuring overlapped, several candidates training
//! at once, and several boards measuring at once.
//!
//! `jobs` worker threads take the candidates in order, each training in its own rayon pool of
//! `threads_per_job` threads (burn-flex runs its kernels on the current rayon pool), exporting
//! and computing accuracies ([`Preparer::prepare`]), and put them in a queue. One thread per
//! board of the farm takes prepared candidates from the queue and measures them: a single board
//! strictly in candidate order, several boards each the earliest candidate ready when it is
//! free. A board that fails (after its retries) leaves the farm with a warning and its candidate
//! goes back to the queue for another board; with no board left the batch stops with the error.
//! Results are reported in candidate order, and what a candidate computes depends on its request
//! and the thread split only (seeds are per candidate; weights are drawn and dropout masks
//! streamed from per-candidate seeds, not burn's global RNG), so the same seed, epoch budget and
//! thread split give the same run whatever the number of jobs (on one board; on a farm, which
//! board measures a candidate depends on timing).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError, mpsc};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::evaluator::PipelineEvaluator;
use super::farm_check::{self, CalibrationRecord};
use super::measure::{self, BoardSlot, MeasureContext};
use super::prepare::Prepared;
use crate::evolve::candidate::{EvalError, EvalRequest, Evaluation};

/// How candidates share the host's cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// Candidates trained at the same time.
    pub jobs: usize,
    /// Threads of each training's rayon pool.
    pub threads_per_job: usize,
}

impl Schedule {
    /// `jobs` and `threads_per_job` as configured, 0 meaning automatic: one training per core
    /// (small networks do not keep several cores busy, so one core each gives the most
    /// candidates per hour), and the cores split evenly between the jobs.
    pub fn resolve(jobs: usize, threads_per_job: usize) -> Schedule {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let jobs = if jobs == 0 { cores } else { jobs };
        let threads_per_job = if threads_per_job == 0 { (cores / jobs).max(1) } else { threads_per_job };
        Schedule { jobs, threads_per_job }
    }
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule { jobs: 1, threads_per_job: 1 }
    }
}

/// Prepared candidates waiting for a board, and what the boards need to know to stop.
struct Queue {
    ready: BTreeMap<usize, Prepared>,
    /// Candidates the trainers have not handed over yet.
    unprepared: usize,
    /// Candidates a board is measuring (they may come back if the board fails).
    in_flight: usize,
    /// Boards still in service.
    boards: usize,
    /// One board: the next candidate it must take (strict candidate order).
    strict_next: Option<usize>,
    stop: bool,
}

impl Queue {
    /// The next candidate for a free board; `None` when there is nothing left to do.
    fn take(&mut self) -> Option<Option<(usize, Prepared)>> {
        if self.stop {
            return None;
        }
        let index = match self.strict_next {
            Some(next) => self.ready.contains_key(&next).then_some(next),
            None => self.ready.keys().next().copied(),
        };
        if let Some(index) = index {
            let prepared = self.ready.remove(&index)?;
            self.in_flight += 1;
            if let Some(next) = self.strict_next.as_mut() {
                *next += 1;
            }
            return Some(Some((index, prepared)));
        }
        if self.ready.is_empty() && self.unprepared == 0 && self.in_flight == 0 {
            return None;
        }
        Some(None)
    }
}

/// What a board's thread reports.
enum Outcome {
    /// A board started measuring a candidate.
    Measuring,
    /// Candidate `index` was finished (or failed for a reason no other board would change), with
    /// when it trained and when it was measured.
    Finished(usize, Box<Result<Evaluation, EvalError>>, (Instant, Instant), (Instant, Instant)),
    /// A board left the farm.
    Retired(String, String),
    /// A board measured the farm's reference model.
    Calibrated(CalibrationRecord),
    /// The last board failed (on candidate `index`, or calibrating): the batch stops.
    NoBoardLeft(Option<usize>, EvalError),
}

fn locked(queue: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    queue.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A board's thread: measures what the queue gives it until there is nothing left, or until the
/// board fails (its candidate goes back to the queue unless it was the last board).
fn serve(
    slot: &mut BoardSlot,
    context: &MeasureContext<'_>,
    calibration: Option<(&[u8], usize)>,
    queue: &(Mutex<Queue>, Condvar),
    outcomes: &mpsc::Sender<Outcome>,
) {
    let (lock, wakeup) = queue;
    if let Some((reference, batch)) = calibration {
        match slot.calibrate(context, reference, batch) {
            Ok(record) => {
                let _ = outcomes.send(Outcome::Calibrated(record));
            }
            Err(err) => {
                let mut state = locked(lock);
                retire(&mut state, slot, None, err, outcomes);
                wakeup.notify_all();
                return;
            }
        }
    }
    loop {
        let taken = {
            let mut state = locked(lock);
            loop {
                match state.take() {
                    None => return,
                    Some(Some(taken)) => break taken,
                    Some(None) => state = wakeup.wait(state).unwrap_or_else(PoisonError::into_inner),
                }
            }
        };
        let (index, mut prepared) = taken;
        let (began, trained) = (Instant::now(), prepared.trained);
        if let Some(failure) = prepared.host_failure.take() {
            let _ = outcomes.send(Outcome::Finished(index, Box::new(Err(failure)), trained, (began, began)));
            let mut state = locked(lock);
            state.in_flight -= 1;
            wakeup.notify_all();
            continue;
        }
        let _ = outcomes.send(Outcome::Measuring);
        let finished = measure::finish(context, slot, &prepared);
        let mut state = locked(lock);
        state.in_flight -= 1;
        match finished {
            Ok(evaluation) => {
                let _ =
                    outcomes.send(Outcome::Finished(index, Box::new(Ok(evaluation)), trained, (began, Instant::now())));
                wakeup.notify_all();
            }
            Err(err) => {
                if state.boards > 1 {
                    state.ready.insert(index, prepared);
                    if let Some(next) = state.strict_next.as_mut() {
                        *next = (*next).min(index);
                    }
                }
                retire(&mut state, slot, Some(index), err, outcomes);
                wakeup.notify_all();
                return;
            }
        }
    }
}

/// The trainers' part on a Slurm cluster: each result into the queue as it arrives; a failure
/// of Slurm itself fails every candidate not delivered yet, so the batch stops with it.
fn on_cluster(
    settings: &super::slurm::SlurmSettings,
    preparer: &super::prepare::Preparer<'_>,
    generation: usize,
    threads: usize,
    requests: &[EvalRequest<'_>],
    queue: &(Mutex<Queue>, Condvar),
) {
    let mut delivered = vec![false; requests.len()];
    let mut deliver = |index: usize, prepared: Prepared| {
        if std::mem::replace(&mut delivered[index], true) {
            return;
        }
        let mut state = locked(&queue.0);
        state.unprepared -= 1;
        state.ready.insert(index, prepared);
        queue.1.notify_all();
    };
    let stop = || locked(&queue.0).stop;
    let outcome =
        super::slurm::train_on_cluster(settings, preparer.run_dir, generation, threads, requests, &mut deliver, &stop);
    if let Err(err) = outcome {
        let message = with_causes(&err);
        for index in 0..requests.len() {
            let failed = Prepared {
                phenotype: String::new(),
                outcome: Err(message.clone()),
                host_failure: Some(EvalError::new(message.clone())),
                trained: (Instant::now(), Instant::now()),
                module_states: Vec::new(),
            };
            deliver(index, failed);
        }
    }
}

/// An error and its causes, on one line.
fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(line.lines().next().unwrap_or_default());
        }
        source = cause.source();
    }
    text
}

/// Takes a failed board out of the farm; the batch stops when it was the last.
fn retire(state: &mut Queue, slot: &BoardSlot, index: Option<usize>, err: EvalError, outcomes: &mpsc::Sender<Outcome>) {
    state.boards -= 1;
    if state.boards == 0 {
        state.stop = true;
        let _ = outcomes.send(Outcome::NoBoardLeft(index, err));
    } else {
        let _ = outcomes.send(Outcome::Retired(slot.board.id.clone(), with_causes(&err)));
    }
}

/// Evaluates `requests` with `evaluator`'s schedule (see the module docs); `done(i, evaluation)`
/// in request order. The failure of the last board stops the batch: workers finish the
/// candidate they are training and take no more.
pub fn evaluate_all(
    evaluator: &mut PipelineEvaluator<'_>,
    requests: &[EvalRequest<'_>],
    done: &mut dyn FnMut(usize, Evaluation) -> bool,
) -> Result<(), EvalError> {
    if evaluator.boards.is_empty() {
        let retired: Vec<String> = evaluator.retired.iter().map(|(id, why)| format!("{id}: {why}")).collect();
        return Err(EvalError::new(format!("no board left in the farm ({})", retired.join("; "))));
    }
    let schedule = evaluator.schedule;
    let preparer = evaluator.preparer();
    let mut on_phase = evaluator.on_phase.take();
    let mut phase = |name: &str| {
        if let Some(callback) = on_phase.as_mut() {
            callback(name);
        }
    };
    let generation = requests.first().map_or(0, |r| r.candidate.generation);
    let calibration = evaluator.calibration_due(generation)?;
    let slurm = evaluator.slurm.clone();
    let (context, boards, retired) = evaluator.measuring();
    let next = AtomicUsize::new(0);
    let queue = (
        Mutex::new(Queue {
            ready: BTreeMap::new(),
            unprepared: requests.len(),
            in_flight: 0,
            boards: boards.len(),
            strict_next: (boards.len() == 1).then_some(0),
            stop: false,
        }),
        Condvar::new(),
    );
    let (outcomes, reports) = mpsc::channel::<Outcome>();
    let started = Instant::now();
    let (mut trains, mut measures, mut records) = (Vec::new(), Vec::new(), Vec::new());
    let stopping = |queue: &(Mutex<Queue>, Condvar)| {
        locked(&queue.0).stop = true;
        queue.1.notify_all();
    };
    let result = std::thread::scope(|scope| {
        if let Some(settings) = &slurm {
            let queue = &queue;
            scope.spawn(move || on_cluster(settings, &preparer, generation, schedule.threads_per_job, requests, queue));
        }
        for _ in 0..if slurm.is_some() { 0 } else { schedule.jobs.min(requests.len()).max(1) } {
            let (next, queue) = (&next, &queue);
            scope.spawn(move || {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(schedule.threads_per_job).build();
                while !locked(&queue.0).stop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(request) = requests.get(index) else { break };
                    let prepared = match &pool {
                        Ok(pool) => pool.install(|| preparer.prepare(request)),
                        Err(_) => preparer.prepare(request),
                    };
                    let mut state = locked(&queue.0);
                    state.unprepared -= 1;
                    state.ready.insert(index, prepared);
                    queue.1.notify_all();
                }
            });
        }
        for slot in boards.iter_mut() {
            let (context, queue, outcomes) = (&context, &queue, outcomes.clone());
            let calibration = calibration.as_ref().map(|(model, batch)| (model.as_slice(), *batch));
            scope.spawn(move || serve(slot, context, calibration, queue, &outcomes));
        }
        drop(outcomes);
        let (mut finished, mut wanted) = (BTreeMap::new(), 0);
        phase("training");
        for report in &reports {
            match report {
                Outcome::Measuring => phase("measuring"),
                Outcome::Retired(id, why) => {
                    tracing::warn!("board {id} leaves the farm: {why}; the other boards carry on");
                    retired.push((id, why));
                }
                Outcome::NoBoardLeft(index, err) => {
                    stopping(&queue);
                    let what = index.map_or_else(|| "calibrating".to_owned(), |i| format!("on candidate {i}"));
                    tracing::warn!("the farm's last board failed ({what}): no board left to measure");
                    return Err(err);
                }
                Outcome::Calibrated(record) => {
                    if let Err(err) = farm_check::append_record(context.run_dir, &record) {
                        stopping(&queue);
                        return Err(EvalError::caused_by("writing farm.jsonl", err));
                    }
                    records.push(record);
                }
                Outcome::Finished(index, evaluation, trained, measured) => {
                    trains.push(trained);
                    measures.push(measured);
                    finished.insert(index, evaluation);
                }
            }
            while let Some(evaluation) = finished.remove(&wanted) {
                match *evaluation {
                    Ok(evaluation) => {
                        if !done(wanted, evaluation) {
                            stopping(&queue);
                            return Ok(());
                        }
                    }
                    Err(err) => {
                        stopping(&queue);
                        return Err(err);
                    }
                }
                wanted += 1;
                phase("training");
            }
        }
        Ok(())
    });
    evaluator.on_phase = on_phase;
    evaluator.calibrations.extend(records);
    evaluator.drop_retired();
    evaluator.wall.add_batch((started, Instant::now()), &trains, &measures);
    result
}
