//! The (1+λ) evolution strategy of Fast-DENSER, as the reference code runs it.
//!
//! Generation 0: λ random individuals. Generation g > 0: the parent is re-evaluated (retrained
//! from scratch with its budget) and λ offspring are mutated copies of it; `train_longer`
//! offspring continue from the parent's weights with one more default budget. Selection takes
//! the fittest, with Fast-DENSER's rules for parents that were given a longer budget
//! ([`Engine::select`]). Every evaluation is appended to `log.jsonl`; the state is checkpointed
//! after every generation ([`crate::evolve::checkpoint`]).
//!
//! With [`EngineConfig::inherit_weights`], other offspring start from the parent's trained
//! weights wherever their network still has the parent's layers (the evaluator decides which,
//! see [`crate::netspec::Lineage`]); the elite is still retrained from scratch.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::evolve::archive::ArchivedModule;
use crate::evolve::candidate::{Candidate, EvalError, EvalRequest, Evaluator, Origin};
use crate::evolve::checkpoint::{self, EvolutionState};
use crate::evolve::mutation::{MutationRates, mutate};
use crate::evolve::runlog::RunLog;
use crate::genome::{Individual, SearchSpace};

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
    /// The genome could not be created or mutated (a grammar/config mismatch).
    #[error("genome: {0}")]
    Genome(#[from] crate::genome::GenomeError),
    /// Checkpoint I/O.
    #[error(transparent)]
    Checkpoint(#[from] checkpoint::CheckpointError),
    /// Log I/O.
    #[error("run log: {0}")]
    Log(#[from] std::io::Error),
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
        let log = RunLog::open(&run_dir.join("log.jsonl"), 0)?;
        Ok(Engine { space, config, evaluator, run_dir: run_dir.to_path_buf(), state, log })
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
        let log = RunLog::open(&run_dir.join("log.jsonl"), state.log_bytes)?;
        Ok(Engine { space, config, evaluator, run_dir: run_dir.to_path_buf(), state, log })
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
        while self.state.generation < self.config.generations {
            self.run_generation(progress)?;
        }
        Ok(())
    }

    fn run_generation(&mut self, progress: &mut dyn FnMut(Progress<'_>)) -> Result<(), EngineError> {
        let generation = self.state.generation;
        let mut population = self.breed(generation)?;
        let size = population.len();
        for (index, candidate) in population.iter_mut().enumerate() {
            progress(Progress::Evaluating { generation, index, of: size, candidate });
            let warm_start = candidate.mutation.as_ref().filter(|m| m.train_longer).and(candidate.parent_id);
            let train_s = if warm_start.is_some() { self.config.train_seconds } else { candidate.budget_s };
            let inherit =
                (self.config.inherit_weights && warm_start.is_none() && candidate.origin == Origin::Offspring)
                    .then_some(candidate.parent_id)
                    .flatten();
            self.evaluate(candidate, train_s, warm_start, inherit)?;
            progress(Progress::Evaluated { candidate });
        }
        let parent = self.select(population, progress)?;
        let improves = self.state.best.as_ref().is_none_or(|best| parent.fitness() > best.fitness());
        if improves {
            self.state.best = Some(parent.clone());
        }
        self.state.parent = Some(parent);
        self.state.generation += 1;
        self.evaluator.checkpoint().map_err(|source| self.eval_error(generation, u64::MAX, source))?;
        self.state.log_bytes = self.log.bytes();
        checkpoint::save(&self.run_dir, &self.state)?;
        if let Some(parent) = &self.state.parent {
            progress(Progress::GenerationDone { generation, parent });
        }
        Ok(())
    }

    /// Generation 0: λ random individuals. Later: the elite plus λ mutated offspring.
    fn breed(&mut self, generation: usize) -> Result<Vec<Candidate>, EngineError> {
        let default = self.config.train_seconds;
        let Some(parent) = self.state.parent.clone() else {
            let mut population = Vec::with_capacity(self.config.lambda);
            for _ in 0..self.config.lambda {
                let individual = Individual::random(self.space, &mut self.state.rng)?;
                population.push(self.candidate(generation, individual, None, None, Origin::Random, default));
            }
            return Ok(population);
        };
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
            let mut individual = parent.individual.clone();
            let record =
                mutate(&mut individual, self.space, &self.config.mutation, &self.state.archive, &mut self.state.rng)?;
            let budget = if record.train_longer { parent.budget_s + default } else { default };
            population.push(self.candidate(
                generation,
                individual,
                Some(parent.id),
                Some(record),
                Origin::Offspring,
                budget,
            ));
        }
        Ok(population)
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
        Candidate { id, generation, individual, parent_id, mutation, origin, budget_s, evaluation: None }
    }

    /// Evaluates a candidate, archives its new modules and logs it.
    fn evaluate(
        &mut self,
        candidate: &mut Candidate,
        train_s: f64,
        warm_start: Option<u64>,
        inherit: Option<u64>,
    ) -> Result<(), EngineError> {
        let measure_modules = (0..candidate.individual.modules.len())
            .filter(|&m| {
                let module = &candidate.individual.modules[m];
                !module.layers.is_empty() && !self.state.archive.entries().iter().any(|e| e.module == *module)
            })
            .collect();
        let seed = self.config.seed ^ candidate.id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let inherit_from = self.state.parent.as_ref().filter(|p| Some(p.id) == inherit).map(|p| (p.id, &p.individual));
        let request = EvalRequest { candidate, train_s, warm_start, inherit_from, seed, measure_modules };
        let evaluation = self
            .evaluator
            .evaluate(request)
            .map_err(|source| self.eval_error(candidate.generation, candidate.id, source))?;
        for cost in &evaluation.modules {
            let Some(module) = candidate.individual.modules.get(cost.module) else { continue };
            if !self.state.archive.entries().iter().any(|e| e.module == *module) {
                self.state.archive.push(ArchivedModule {
                    module: module.clone(),
                    generation: candidate.generation,
                    power_w: cost.power_w,
                    energy_j: cost.energy_j,
                    arch_hash: cost.arch_hash.clone(),
                });
            }
        }
        let stats = &mut self.state.stats;
        stats.evaluations += 1;
        stats.invalid += usize::from(evaluation.invalid.is_some());
        stats.cache_hits += evaluation.cache_hits;
        stats.train_s += evaluation.train_s;
        stats.measure_s += evaluation.measure_s;
        candidate.evaluation = Some(evaluation);
        self.log.append(candidate)?;
        Ok(())
    }

    /// The fittest, with Fast-DENSER's rules when the fittest was trained longer than the
    /// default: the elite (if it had less) and the best of those trained for the shortest budget
    /// are retrained with the fittest's budget, and the fittest of the three wins.
    fn select(
        &mut self,
        population: Vec<Candidate>,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Candidate, EngineError> {
        let fittest = argmax(&population, |_| true).unwrap_or(0);
        let parent = population[fittest].clone();
        if parent.budget_s <= self.config.train_seconds {
            return Ok(parent);
        }
        let generation = self.state.generation;
        let mut contenders = vec![parent.clone()];
        let elite_is_shorter = population[0].origin == Origin::Elite && population[0].budget_s < parent.budget_s;
        if fittest != 0 && elite_is_shorter {
            contenders.push(self.retrain(&population[0], parent.budget_s, generation, progress)?);
        }
        let shortest = population.iter().map(|c| c.budget_s).fold(f64::INFINITY, f64::min);
        if shortest < parent.budget_s {
            let skip_elite = fittest != 0 && elite_is_shorter;
            let best_short = argmax(&population, |(i, c)| c.budget_s == shortest && !(skip_elite && i == 0));
            if let Some(index) = best_short {
                contenders.push(self.retrain(&population[index], parent.budget_s, generation, progress)?);
            }
        }
        Ok(contenders.swap_remove(argmax(&contenders, |_| true).unwrap_or(0)))
    }

    fn retrain(
        &mut self,
        original: &Candidate,
        budget_s: f64,
        generation: usize,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Candidate, EngineError> {
        let mut candidate =
            self.candidate(generation, original.individual.clone(), Some(original.id), None, Origin::Retrain, budget_s);
        progress(Progress::Evaluating { generation, index: 0, of: 1, candidate: &candidate });
        self.evaluate(&mut candidate, budget_s, None, None)?;
        progress(Progress::Evaluated { candidate: &candidate });
        Ok(candidate)
    }

    fn eval_error(&self, generation: usize, id: u64, source: EvalError) -> EngineError {
        EngineError::Evaluation { generation, id, run_dir: self.run_dir.display().to_string(), source }
    }
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

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
