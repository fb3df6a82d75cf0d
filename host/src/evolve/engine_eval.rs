//! Evaluating a population: one request per candidate, all handed to the evaluator at once (it
//! may train several at a time, [`Evaluator::evaluate_all`]), the results recorded in
//! candidate order — archive, counters, `log.jsonl` — so a run does not depend on the schedule.
//!
//! What each request asks for depends only on the population and the state before it: the
//! budget (a `train_longer` offspring continues from its parent's weights for one default
//! budget; a top-up retrain from the weights of the candidate it retrains, for the budget that
//! candidate lacked), weight inheritance and racing for structural offspring, and the modules to measure
//! for the archive (each module not yet archived, once per population: the first candidate
//! that has it measures it).

use super::{Engine, EngineError};
use crate::evolve::archive::{ArchivePolicy, ArchivedModule};
use crate::evolve::candidate::{Candidate, EvalRequest, Evaluation, Evaluator, ModuleCost, Origin};
use crate::evolve::checkpoint::EvolutionState;
use crate::evolve::engine::Progress;
use crate::evolve::runlog::RunLog;
use crate::genome::Module;
use crate::nn::train::Race;

/// What one candidate's evaluation asks for.
struct Plan {
    train_s: f64,
    warm_start: Option<u64>,
    inherit: Option<u64>,
    race: Option<Race>,
    seed: u64,
    measure_modules: Vec<usize>,
    measure_states: Vec<Module>,
}

/// The module states a candidate brings to the reference's archive: every module of a new
/// individual (the reference measures modules when they are initialised or loaded), the states
/// an offspring's mutation went through; nothing for re-evaluated candidates.
fn module_states(candidate: &Candidate) -> Vec<Module> {
    match candidate.origin {
        Origin::Random | Origin::Seed | Origin::Screen => {
            candidate.individual.modules.iter().filter(|m| !m.layers.is_empty()).cloned().collect()
        }
        Origin::Offspring => candidate.mutation.as_ref().map(|m| m.module_states.clone()).unwrap_or_default(),
        Origin::Elite | Origin::Retrain => Vec::new(),
    }
}

impl<E: Evaluator> Engine<'_, E> {
    fn plans(&self, population: &[Candidate]) -> Vec<Plan> {
        let mut claimed: Vec<&Module> = Vec::new();
        let mut plans = Vec::with_capacity(population.len());
        for candidate in population {
            let train_longer = candidate.mutation.as_ref().filter(|m| m.train_longer).and(candidate.parent_id);
            let top_up = candidate.topped_up_from_s.and(candidate.parent_id);
            let warm_start = train_longer.or(top_up);
            let train_s = match (train_longer, candidate.topped_up_from_s) {
                (Some(_), _) => self.config.train_seconds,
                (None, Some(done)) if top_up.is_some() => (candidate.budget_s - done).max(0.0),
                _ => candidate.budget_s,
            };
            let offspring = warm_start.is_none() && candidate.origin == Origin::Offspring;
            let inherit = (self.config.inherit_weights && offspring).then_some(candidate.parent_id).flatten();
            let race = if offspring { self.race(candidate.parent_id) } else { None };
            let reference_archive = self.config.archive == ArchivePolicy::Reference;
            let measure_states = if reference_archive { module_states(candidate) } else { Vec::new() };
            let mut measure_modules = Vec::new();
            for (m, module) in candidate.individual.modules.iter().enumerate().filter(|_| !reference_archive) {
                let archived = self.state.archive.entries().iter().any(|e| e.module == *module);
                if !module.layers.is_empty() && !archived && !claimed.contains(&module) {
                    claimed.push(module);
                    measure_modules.push(m);
                }
            }
            let seed = self.config.seed ^ candidate.id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            plans.push(Plan { train_s, warm_start, inherit, race, seed, measure_modules, measure_states });
        }
        plans
    }

    /// Evaluates `population` (see the module docs), reporting each candidate as it is recorded.
    pub(super) fn evaluate_all(
        &mut self,
        population: &mut [Candidate],
        generation: usize,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<(), EngineError> {
        let plans = self.plans(population);
        let parents: Vec<Candidate> =
            plans.iter().filter_map(|plan| plan.inherit.and_then(|id| self.known(id)).cloned()).collect();
        let snapshot = population.to_vec();
        let requests = snapshot
            .iter()
            .zip(plans)
            .map(|(candidate, plan)| EvalRequest {
                candidate,
                train_s: plan.train_s,
                warm_start: plan.warm_start,
                inherit_from: parents.iter().find(|p| Some(p.id) == plan.inherit).map(|p| (p.id, &p.individual)),
                race: plan.race,
                seed: plan.seed,
                measure_modules: plan.measure_modules,
                measure_states: plan.measure_states,
            })
            .collect();
        let of = population.len();
        if let Some(candidate) = population.first() {
            progress(Progress::Evaluating { generation, index: 0, of, candidate });
        }
        let (mut next, mut failure) = (0, None);
        let (state, log, interrupt) = (&mut self.state, &mut self.log, self.interrupt);
        let interrupted = || interrupt.is_some_and(|flag| flag.load(std::sync::atomic::Ordering::SeqCst) != 0);
        let result = self.evaluator.evaluate_all(requests, &mut |index, evaluation| {
            next = index + 1;
            let Some(candidate) = population.get_mut(index).filter(|_| failure.is_none()) else { return false };
            if let Err(err) = record(state, log, candidate, evaluation) {
                failure = Some(err);
                return false;
            }
            progress(Progress::Evaluated { candidate });
            // A signal stops the run between evaluations: nothing more of this batch is recorded.
            if interrupted() {
                return false;
            }
            if let Some(candidate) = population.get(index + 1) {
                progress(Progress::Evaluating { generation, index: index + 1, of, candidate });
            }
            true
        });
        if let Err(source) = result {
            let id = population.get(next.min(population.len().saturating_sub(1))).map_or(0, |c| c.id);
            return Err(self.eval_error(generation, id, source));
        }
        if let Some(err) = failure {
            return Err(EngineError::Log(err));
        }
        self.check_interrupt(generation)
    }
}

/// Archives the candidate's newly measured modules (and, for the reference's archive, every
/// measured module state with a positive power, duplicates kept), counts it, and logs it.
fn record(
    state: &mut EvolutionState,
    log: &mut RunLog,
    candidate: &mut Candidate,
    evaluation: Evaluation,
) -> std::io::Result<()> {
    let entry = |module: &Module, cost: &ModuleCost| ArchivedModule {
        module: module.clone(),
        generation: candidate.generation,
        power_w: cost.power_w,
        energy_j: cost.energy_j,
        arch_hash: cost.arch_hash.clone(),
    };
    let states = if evaluation.module_states.is_empty() { Vec::new() } else { module_states(candidate) };
    for cost in &evaluation.module_states {
        let Some(module) = states.get(cost.module) else { continue };
        if cost.power_w.is_some_and(|p| p > 0.0 && p.is_finite()) {
            state.archive.push(entry(module, cost));
        }
    }
    for cost in &evaluation.modules {
        let Some(module) = candidate.individual.modules.get(cost.module) else { continue };
        if !state.archive.entries().iter().any(|e| e.module == *module) {
            state.archive.push(entry(module, cost));
        }
    }
    let stats = &mut state.stats;
    stats.evaluations += 1;
    stats.invalid += usize::from(evaluation.invalid.is_some());
    stats.cache_hits += evaluation.cache_hits;
    stats.train_s += evaluation.train_s;
    stats.measure_s += evaluation.measure_s;
    stats.raced += usize::from(evaluation.raced);
    stats.race_saved_s += evaluation.race_saved_s;
    candidate.evaluation = Some(evaluation);
    log.append(candidate)
}
