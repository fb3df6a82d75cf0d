//! Evaluating a population with training and measuring overlapped, and several candidates
//! training at once.
//!
//! `jobs` worker threads take the candidates in order, each training in its own rayon pool of
//! `threads_per_job` threads (burn-flex runs its kernels on the current rayon pool), exporting
//! and computing accuracies ([`Preparer::prepare`]); the calling thread owns the board and
//! measures the prepared candidates strictly in candidate order while the workers train the
//! next ones. Results are reported in candidate order, and what a candidate computes depends
//! on its request and the thread split only (seeds are per candidate; weights are drawn and
//! dropout masks streamed from per-candidate seeds, not burn's global RNG), so the same seed,
//! epoch budget and thread split give the same run whatever the number of jobs.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::evaluator::PipelineEvaluator;
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

/// Evaluates `requests` with `evaluator`'s schedule (see the module docs); `done(i, evaluation)`
/// in request order. A board failure stops the batch: workers finish the candidate they are
/// training and take no more.
pub fn evaluate_all(
    evaluator: &mut PipelineEvaluator<'_>,
    requests: &[EvalRequest<'_>],
    done: &mut dyn FnMut(usize, Evaluation) -> bool,
) -> Result<(), EvalError> {
    let schedule = evaluator.schedule;
    let preparer = evaluator.preparer();
    let (next, stop) = (AtomicUsize::new(0), AtomicBool::new(false));
    let (sender, receiver) = mpsc::channel::<(usize, Prepared)>();
    let started = Instant::now();
    let (mut trains, mut measures) = (Vec::new(), Vec::new());
    let result = std::thread::scope(|scope| {
        for _ in 0..schedule.jobs.min(requests.len()).max(1) {
            let sender = sender.clone();
            let (next, stop) = (&next, &stop);
            scope.spawn(move || {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(schedule.threads_per_job).build();
                while !stop.load(Ordering::Relaxed) {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(request) = requests.get(index) else { break };
                    let prepared = match &pool {
                        Ok(pool) => pool.install(|| preparer.prepare(request)),
                        Err(_) => preparer.prepare(request),
                    };
                    if sender.send((index, prepared)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        let (mut waiting, mut wanted) = (BTreeMap::new(), 0);
        evaluator.phase("training");
        for (index, prepared) in &receiver {
            waiting.insert(index, prepared);
            while let Some(prepared) = waiting.remove(&wanted) {
                trains.push(prepared.trained);
                let began = Instant::now();
                let evaluation = evaluator.finish(prepared);
                measures.push((began, Instant::now()));
                match evaluation {
                    Ok(evaluation) => {
                        if !done(wanted, evaluation) {
                            stop.store(true, Ordering::Relaxed);
                            return Ok(());
                        }
                    }
                    Err(err) => {
                        stop.store(true, Ordering::Relaxed);
                        return Err(err);
                    }
                }
                wanted += 1;
                evaluator.phase("training");
            }
        }
        Ok(())
    });
    evaluator.wall.add_batch((started, Instant::now()), &trains, &measures);
    result
}
