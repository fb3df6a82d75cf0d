//! The (1+λ) evolution strategy of Fast-DENSER, as the reference code runs it, with the choices
//! where wattevo differs named in [`EngineConfig`] ([`RetrainRule`], [`ArchivePolicy`]).
//!
//! Generation 0: λ random individuals. Generation g > 0: the parent is re-evaluated (retrained
//! from scratch with its budget) and λ offspring are mutated copies of it; `train_longer`
//! offspring continue from the parent's weights with one more default budget. Selection takes
//! the fittest, with Fast-DENSER's rules for parents that were given a longer budget
//! ([`Engine::select`], as [`RetrainRule`] says). Every evaluation is appended to `log.jsonl`; the state is checkpointed
//! after every generation ([`crate::evolve::checkpoint`]).
//!
//! With [`EngineConfig::inherit_weights`], other offspring start from the parent's trained
//! weights wherever their network still has the parent's layers (the evaluator decides which,
//! see [`crate::netspec::Lineage`]); the elite is still retrained from scratch. With
//! [`EngineConfig::race_margin`], offspring race against the parent's learning curve and stop
//! training once they fall behind it ([`Race`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};

use serde::{Deserialize, Serialize};

use crate::evolve::archive::ArchivePolicy;
use crate::evolve::candidate::{Candidate, EvalError, Evaluator, Origin};
use crate::evolve::checkpoint::{self, EvolutionState};
use crate::evolve::mutation::{MutationRates, mutate};
use crate::evolve::runlog::{Recovery, RunLog};
use crate::genome::{Individual, SearchSpace};
use crate::nn::train::Race;

/// The search's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineConfig {
    /// Generations to run (generation 0 included).
    pub generations: usize,
    /// Offspring per generation (λ).
    pub lambda: usize,
    /// Default training budget of a candidate, seconds.
    pub train_seconds: f64,
    /// Run seed.
    pub seed: u64,
    /// Mutation probabilities.
    #[serde(default)]
    pub mutation: MutationRates,
    /// Offspring of a structural mutation start from the parent's trained weights for every
    /// layer the mutation left unchanged (Lamarckian inheritance); off: from scratch, as the
    /// reference code.
    #[serde(default = "yes")]
    pub inherit_weights: bool,
    /// Racing: an offspring whose validation accuracy after an epoch is more than this below
    /// its parent's at the same epoch stops training there (`None`: no racing).
    #[serde(default)]
    pub race_margin: Option<f64>,
    /// Generation 0 draws this many candidates (seeds included) and screens them with a short
    /// budget, keeping the fittest λ; at most λ: no screening.
    #[serde(default)]
    pub init_draws: usize,
    /// The screening budget as a fraction of `train_seconds`.
    #[serde(default = "quarter")]
    pub init_screen_fraction: f64,
    /// Individuals generation 0 starts from (`--init FILE`), before random ones.
    #[serde(default)]
    pub seeds: Vec<Individual>,
    /// How selection retrains when the fittest was trained longer than the default.
    #[serde(default)]
    pub retrain: RetrainRule,
    /// Which modules enter the archive.
    #[serde(default)]
    pub archive: ArchivePolicy,
    /// The search strategy.
    #[serde(default)]
    pub strategy: Strategy,
    /// NSGA-II's population size μ (λ offspring are bred per generation).
    #[serde(default = "four")]
    pub mu: usize,
    /// NSGA-II's objectives and constraints.
    #[serde(default)]
    pub objectives: Objectives,
}

fn four() -> usize {
    4
}

impl EngineConfig {
    /// Size of generation 0: λ for the (1+λ) strategy, μ for NSGA-II.
    pub fn first_population(&self) -> usize {
        match self.strategy {
            Strategy::OnePlusLambda | Strategy::Lexicase => self.lambda,
            Strategy::Nsga2 => self.mu,
        }
    }
}

/// How the next generation is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Fast-DENSER's (1+λ) evolution strategy on the scalar fitness (the paper's).
    #[default]
    OnePlusLambda,
    /// NSGA-II on the objectives, with constraint domination ([`nsga2`]).
    Nsga2,
    /// The (1+λ) strategy with the parent chosen by ε-lexicase over the objectives' cases
    /// (per-class accuracies, ε for the continuous ones; [`super::lexicase`]) instead of by the
    /// fitness.
    Lexicase,
}

impl crate::named::Named for Strategy {
    const KIND: &'static str = "strategy";
    const VALUES: &'static [(Self, &'static str, &'static str)] = &[
        (Self::OnePlusLambda, "one-plus-lambda", "the paper's (1+λ) strategy on the scalar fitness"),
        (Self::Nsga2, "nsga2", "NSGA-II on the objectives (a Pareto front of accuracy against energy)"),
        (Self::Lexicase, "lexicase", "(1+λ) with ε-lexicase parent selection over per-class accuracy and energy"),
    ];
}
crate::named::named_enum_text!(Strategy);

/// How [`Engine::select`] retrains the elite and the best shortest-trained candidate when the
/// fittest candidate was given more than the default budget (Fast-DENSER's rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetrainRule {
    /// From scratch with the fittest's budget; the elite whenever its budget was shorter.
    #[default]
    Scratch,
    /// As the reference code: each continues from its own weights for the budget it lacks (a
    /// top-up), and the elite only when its own budget already exceeded the default; ties keep
    /// the fittest.
    Reference,
}

impl crate::named::Named for RetrainRule {
    const KIND: &'static str = "retrain rule";
    const VALUES: &'static [(Self, &'static str, &'static str)] = &[
        (Self::Scratch, "scratch", "retrain from scratch with the fittest's budget"),
        (Self::Reference, "reference", "top up from the candidate's own weights, as the reference code"),
    ];
}
crate::named::named_enum_text!(RetrainRule);

fn quarter() -> f64 {
    0.25
}

fn yes() -> bool {
    true
}

/// What the engine reports while it works (for progress displays).
#[derive(Debug, Clone, PartialEq)]
pub enum Progress<'a> {
    /// A candidate is about to be evaluated.
    Evaluating {
        /// Generation.
        generation: usize,
        /// Position in the generation's population.
        index: usize,
        /// Population size.
        of: usize,
        /// The candidate.
        candidate: &'a Candidate,
    },
    /// A candidate was evaluated.
    Evaluated {
        /// The candidate, evaluation filled in.
        candidate: &'a Candidate,
    },
    /// A generation ended and was checkpointed.
    GenerationDone {
        /// Generation.
        generation: usize,
        /// The selected parent.
        parent: &'a Candidate,
    },
}

/// Why a run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// An evaluation failed for a reason other than an invalid network.
    #[error(
        "generation {generation}, candidate {id} could not be evaluated; the run in {run_dir} can be resumed from its last checkpoint"
    )]
    Evaluation {
        /// Generation.
        generation: usize,
        /// Candidate id.
        id: u64,
        /// Run directory.
        run_dir: String,
        /// The failure.
        source: EvalError,
    },
    /// The evaluator could not save its state (the measurement cache) after a generation.
    #[error("saving the measurements after generation {generation}; the run in {run_dir} can be resumed")]
    EvaluatorCheckpoint {
        /// Generation.
        generation: usize,
        /// Run directory.
        run_dir: String,
        /// The failure.
        source: EvalError,
    },
    /// The genome could not be created or mutated (a grammar/config mismatch).
    #[error("creating or mutating a genome")]
    Genome(#[from] crate::genome::GenomeError),
    /// Checkpoint I/O.
    #[error(transparent)]
    Checkpoint(#[from] checkpoint::CheckpointError),
    /// Log I/O.
    #[error("writing the run log (log.jsonl)")]
    Log(#[from] std::io::Error),
    /// A signal asked the run to stop; the log is synced and the last complete generation is
    /// checkpointed.
    #[error("stopped by signal {signal} in generation {generation}; the run can be resumed")]
    Interrupted {
        /// The signal number.
        signal: i32,
        /// The generation that was interrupted (it is replayed on resume).
        generation: usize,
    },
}

/// The evolution engine over an evaluator.
#[derive(Debug)]
pub struct Engine<'s, E> {
    space: &'s SearchSpace,
    config: EngineConfig,
    evaluator: E,
    run_dir: PathBuf,
    state: EvolutionState,
    log: RunLog,
    interrupt: Option<&'static AtomicI32>,
}

impl<'s, E: Evaluator> Engine<'s, E> {
    /// A new run in `run_dir` (which receives `log.jsonl` and `checkpoints/`).
    pub fn new(
        space: &'s SearchSpace,
        config: EngineConfig,
        evaluator: E,
        run_dir: &Path,
    ) -> Result<Self, EngineError> {
        let state = EvolutionState::new(config.seed);
        let log = RunLog::create(&run_dir.join("log.jsonl"))?;
        Ok(Engine { space, config, evaluator, run_dir: run_dir.to_path_buf(), state, log, interrupt: None })
    }

    /// Continues the run in `run_dir` from its last checkpoint (or from the start when it has
    /// none), with `config.generations` as the new total.
    pub fn resume(
        space: &'s SearchSpace,
        config: EngineConfig,
        evaluator: E,
        run_dir: &Path,
    ) -> Result<Self, EngineError> {
        let state = match checkpoint::load(run_dir) {
            Ok(state) => state,
            Err(checkpoint::CheckpointError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                EvolutionState::new(config.seed)
            }
            Err(err) => return Err(err.into()),
        };
        let (log, recovery) = RunLog::recover(&run_dir.join("log.jsonl"), state.log_bytes)?;
        let mut engine =
            Engine { space, config, evaluator, run_dir: run_dir.to_path_buf(), state, log, interrupt: None };
        if let Some(recovery) = recovery {
            engine.rebuild_log(&recovery)?;
        }
        Ok(engine)
    }

    /// Stop between evaluations once `flag` holds a signal number (non-zero).
    pub fn set_interrupt(&mut self, flag: &'static AtomicI32) {
        self.interrupt = Some(flag);
    }

    /// A log shorter than the checkpoint says: appends the lines the checkpoint still holds
    /// (its parent and best candidates) and records the new length.
    fn rebuild_log(&mut self, recovery: &Recovery) -> Result<(), EngineError> {
        let mut held: Vec<Candidate> = [&self.state.parent, &self.state.best]
            .into_iter()
            .flatten()
            .filter(|c| c.evaluation.is_some() && !recovery.kept_ids.contains(&c.id))
            .cloned()
            .collect();
        held.sort_by_key(|c| c.id);
        held.dedup_by_key(|c| c.id);
        for candidate in &held {
            self.log.append(candidate)?;
        }
        self.log.sync()?;
        tracing::warn!(
            "log.jsonl held {} of the {} bytes its checkpoint records; kept its {} complete lines and rebuilt {} from the checkpoint (candidates {:?}); the other lost lines cannot be rebuilt",
            recovery.kept_bytes,
            recovery.expected_bytes,
            recovery.kept_ids.len(),
            held.len(),
            held.iter().map(|c| c.id).collect::<Vec<_>>()
        );
        self.state.log_bytes = self.log.bytes();
        checkpoint::save(&self.run_dir, &self.state)?;
        Ok(())
    }

    /// The state after the last completed generation.
    pub fn state(&self) -> &EvolutionState {
        &self.state
    }

    /// The evaluator (for the final report).
    pub fn evaluator_mut(&mut self) -> &mut E {
        &mut self.evaluator
    }

    /// Runs the remaining generations.
    pub fn run(&mut self, progress: &mut dyn FnMut(Progress<'_>)) -> Result<(), EngineError> {
        self.run_for(None, progress)
    }

    /// Runs the remaining generations, starting no new generation once `limit` (if any) has
    /// passed since the call (a wall-clock search budget; the generation under way finishes).
    pub fn run_for(
        &mut self,
        limit: Option<std::time::Duration>,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<(), EngineError> {
        let started = std::time::Instant::now();
        while self.state.generation < self.config.generations && limit.is_none_or(|l| started.elapsed() < l) {
            if let Err(err) = self.run_generation(progress) {
                self.flush_after(&err);
                return Err(err);
            }
        }
        Ok(())
    }

    /// After a stop: makes the logged lines and the measurements durable, so a resumed run
    /// (which replays the interrupted generation) re-measures nothing.
    fn flush_after(&mut self, err: &EngineError) {
        if let Err(sync) = self.log.sync() {
            tracing::warn!("syncing log.jsonl after `{err}`: {sync}");
        }
        if let Err(save) = self.evaluator.checkpoint() {
            tracing::warn!("saving the measurements after `{err}`: {save}");
        }
    }

    fn check_interrupt(&self, generation: usize) -> Result<(), EngineError> {
        match self.interrupt.map(|flag| flag.load(Ordering::SeqCst)) {
            Some(signal) if signal != 0 => Err(EngineError::Interrupted { signal, generation }),
            _ => Ok(()),
        }
    }

    fn run_generation(&mut self, progress: &mut dyn FnMut(Progress<'_>)) -> Result<(), EngineError> {
        let generation = self.state.generation;
        self.check_interrupt(generation)?;
        let parent = match self.config.strategy {
            Strategy::OnePlusLambda | Strategy::Lexicase => {
                let mut population = if self.state.parent.is_some() {
                    self.breed(generation)?
                } else {
                    self.first_generation(progress)?
                };
                self.evaluate_all(&mut population, generation, progress)?;
                self.select(population, progress)?
            }
            Strategy::Nsga2 => self.nsga2_generation(generation, progress)?,
        };
        let improves = self.state.best.as_ref().is_none_or(|best| parent.fitness() > best.fitness());
        if improves {
            self.state.best = Some(parent.clone());
        }
        self.state.parent = Some(parent);
        self.state.generation += 1;
        self.evaluator.checkpoint().map_err(|source| EngineError::EvaluatorCheckpoint {
            generation,
            run_dir: self.run_dir.display().to_string(),
            source,
        })?;
        self.log.sync()?;
        self.state.log_bytes = self.log.bytes();
        checkpoint::save(&self.run_dir, &self.state)?;
        if let Some(parent) = &self.state.parent {
            progress(Progress::GenerationDone { generation, parent });
        }
        Ok(())
    }

    /// After generation 0 ([`Engine::first_generation`]): the elite plus λ mutated offspring.
    fn breed(&mut self, generation: usize) -> Result<Vec<Candidate>, EngineError> {
        let Some(parent) = self.state.parent.clone() else { return Ok(Vec::new()) };
        let elite = self.candidate(
            generation,
            parent.individual.clone(),
            Some(parent.id),
            None,
            Origin::Elite,
            parent.budget_s,
        );
        let mut population = vec![elite];
        for _ in 0..self.config.lambda {
            population.push(self.offspring_of(&parent, generation)?);
        }
        Ok(population)
    }

    /// A mutated copy of `parent`: a default budget, or the parent's plus one for
    /// `train_longer`.
    fn offspring_of(&mut self, parent: &Candidate, generation: usize) -> Result<Candidate, EngineError> {
        let default = self.config.train_seconds;
        let mut individual = parent.individual.clone();
        let keep_states = self.config.archive == ArchivePolicy::Reference;
        let record = mutate(
            &mut individual,
            self.space,
            &self.config.mutation,
            &self.state.archive,
            keep_states,
            &mut self.state.rng,
        )?;
        let budget = if record.train_longer { parent.budget_s + default } else { default };
        Ok(self.candidate(generation, individual, Some(parent.id), Some(record), Origin::Offspring, budget))
    }

    fn candidate(
        &mut self,
        generation: usize,
        individual: Individual,
        parent_id: Option<u64>,
        mutation: Option<crate::evolve::mutation::MutationRecord>,
        origin: Origin,
        budget_s: f64,
    ) -> Candidate {
        let id = self.state.next_id;
        self.state.next_id += 1;
        Candidate {
            id,
            generation,
            individual,
            parent_id,
            mutation,
            origin,
            budget_s,
            topped_up_from_s: None,
            evaluation: None,
        }
    }

    /// The fittest, with Fast-DENSER's rules when the fittest was trained longer than the
    /// default: the elite (if it had less) and the best of those trained for the shortest budget
    /// are retrained with the fittest's budget, and the fittest of the three wins
    /// ([`RetrainRule`] says how).
    fn select(
        &mut self,
        population: Vec<Candidate>,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Candidate, EngineError> {
        let fittest = match self.config.strategy {
            Strategy::Lexicase => {
                let cases = super::lexicase::cases(&self.config.objectives, &population);
                super::lexicase::select(&population, &cases, &mut self.state.rng)
            }
            _ => argmax(&population, |_| true).unwrap_or(0),
        };
        let parent = population[fittest].clone();
        let default = self.config.train_seconds;
        if parent.budget_s <= default {
            return Ok(parent);
        }
        let reference = self.config.retrain == RetrainRule::Reference;
        let generation = self.state.generation;
        let elite = &population[0];
        let elite_is_shorter = elite.origin == Origin::Elite
            && elite.budget_s < parent.budget_s
            && (!reference || elite.budget_s > default);
        let retrained_elite = if fittest != 0 && elite_is_shorter {
            Some(self.retrain(elite, parent.budget_s, generation, progress)?)
        } else {
            None
        };
        let shortest = population.iter().map(|c| c.budget_s).fold(f64::INFINITY, f64::min);
        let mut retrained_short = None;
        if shortest < parent.budget_s {
            let skip_elite = retrained_elite.is_some();
            let best_short = argmax(&population, |(i, c)| c.budget_s == shortest && !(skip_elite && i == 0));
            if let Some(index) = best_short {
                retrained_short = Some(self.retrain(&population[index], parent.budget_s, generation, progress)?);
            }
        }
        if reference {
            return Ok(reference_choice(parent, retrained_elite, retrained_short));
        }
        let mut contenders = vec![parent];
        contenders.extend(retrained_elite);
        contenders.extend(retrained_short);
        Ok(contenders.swap_remove(argmax(&contenders, |_| true).unwrap_or(0)))
    }

    fn retrain(
        &mut self,
        original: &Candidate,
        budget_s: f64,
        generation: usize,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Candidate, EngineError> {
        self.check_interrupt(generation)?;
        let mut candidate =
            self.candidate(generation, original.individual.clone(), Some(original.id), None, Origin::Retrain, budget_s);
        if self.config.retrain == RetrainRule::Reference
            && original.evaluation.as_ref().is_some_and(|e| e.invalid.is_none())
        {
            candidate.topped_up_from_s = Some(original.budget_s);
        }
        self.evaluate_all(std::slice::from_mut(&mut candidate), generation, progress)?;
        Ok(candidate)
    }

    /// The race an offspring of `parent` runs against: its parent's learning curve and the
    /// margin.
    fn race(&self, parent: Option<u64>) -> Option<Race> {
        let margin = self.config.race_margin?;
        let curve = self.known(parent?)?.evaluation.as_ref()?.curve.clone();
        (!curve.is_empty()).then_some(Race { curve, margin })
    }

    /// A candidate of the current parent or population, by id.
    fn known(&self, id: u64) -> Option<&Candidate> {
        self.state.parent.iter().chain(&self.state.population).find(|c| c.id == id)
    }

    fn eval_error(&self, generation: usize, id: u64, source: EvalError) -> EngineError {
        EngineError::Evaluation { generation, id, run_dir: self.run_dir.display().to_string(), source }
    }
}

/// The reference's choice among the fittest and its retrained rivals: a rival wins only when it
/// is strictly fitter than every other contender (ties keep the fittest).
fn reference_choice(parent: Candidate, elite: Option<Candidate>, short: Option<Candidate>) -> Candidate {
    let beats = |c: &Candidate, others: &[Option<&Candidate>]| {
        others.iter().flatten().all(|o| c.fitness() > o.fitness()) && c.fitness() > parent.fitness()
    };
    if let Some(s) = &short
        && beats(s, &[elite.as_ref()])
    {
        return short.unwrap_or(parent);
    }
    if let Some(e) = &elite
        && beats(e, &[short.as_ref()])
    {
        return elite.unwrap_or(parent);
    }
    parent
}

/// Index of the fittest candidate among those `keep` accepts; ties go to the earliest.
fn argmax(candidates: &[Candidate], keep: impl Fn((usize, &Candidate)) -> bool) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, c) in candidates.iter().enumerate() {
        if keep((i, c)) && best.is_none_or(|b| c.fitness() > candidates[b].fitness()) {
            best = Some(i);
        }
    }
    best
}

#[path = "engine_eval.rs"]
mod eval;
#[path = "nsga2.rs"]
pub mod nsga2;
#[path = "engine_start.rs"]
mod start;

pub use nsga2::{ObjectiveTerm, Objectives};
#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
