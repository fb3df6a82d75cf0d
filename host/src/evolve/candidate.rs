//! A candidate of the population, what evaluating it produced, and the interface the engine
//! uses to evaluate one ([`Evaluator`]).
//!
//! The engine owns the search (genomes, RNG, selection, archive, checkpoints); an evaluator owns
//! everything physical (training, export, accuracy, the board). Keeping the two apart lets the
//! search be tested fast and deterministically with a scripted evaluator, and the real
//! pipeline plug in unchanged.

use serde::{Deserialize, Serialize};

use crate::evolve::fitness::{INVALID_FITNESS, Metrics};
use crate::evolve::mutation::MutationRecord;
use crate::genome::Individual;
use crate::nn::train::Race;

/// One member of a generation's population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Unique within a run, in creation order.
    pub id: u64,
    /// Generation it was created (or re-evaluated) in.
    pub generation: usize,
    /// The genome.
    pub individual: Individual,
    /// The candidate it was derived from.
    pub parent_id: Option<u64>,
    /// How it differs from its parent (`None` for random and re-evaluated candidates).
    pub mutation: Option<MutationRecord>,
    /// Why it exists: `random`, `offspring`, `elite` (re-evaluated parent), `retrain`.
    pub origin: Origin,
    /// Allocated training budget, seconds (Fast-DENSER's `train_time`).
    pub budget_s: f64,
    /// A retrain that tops up instead of starting over (the reference's selection rules):
    /// the budget its weights, those of `parent_id`, were already trained for; it trains
    /// `budget_s` minus this from them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topped_up_from_s: Option<f64>,
    /// The evaluation, once done.
    pub evaluation: Option<Evaluation>,
}

/// Why a candidate is in the population.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A random individual of generation 0.
    Random,
    /// A mutated copy of the parent.
    Offspring,
    /// The parent, retrained from scratch with its budget.
    Elite,
    /// Retrained with a longer budget by the selection rules.
    Retrain,
    /// An individual given to the run (`--init FILE`), in generation 0.
    Seed,
    /// A generation-0 candidate trained with a short budget to choose the first population.
    Screen,
}

#[cfg(test)]
impl Candidate {
    /// A valid random candidate of generation 0 with this fitness and these metrics (tests).
    pub(crate) fn scored(id: u64, individual: &Individual, fitness: f64, metrics: &[(&str, f64)]) -> Candidate {
        let mut evaluation = Evaluation::invalid("", String::new());
        evaluation.invalid = None;
        evaluation.fitness = fitness;
        evaluation.metrics = metrics.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
        Candidate {
            id,
            generation: 0,
            individual: individual.clone(),
            parent_id: None,
            mutation: None,
            origin: Origin::Random,
            budget_s: 1.0,
            topped_up_from_s: None,
            evaluation: Some(evaluation),
        }
    }
}

impl Candidate {
    /// The fitness, or [`INVALID_FITNESS`] when not evaluated or invalid.
    pub fn fitness(&self) -> f64 {
        self.evaluation.as_ref().map_or(INVALID_FITNESS, |e| e.fitness)
    }
}

/// What evaluating a candidate gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The fitness ([`INVALID_FITNESS`] for an invalid network).
    pub fitness: f64,
    /// Why the network is invalid (cannot be built, trained, exported or measured); `None` when valid.
    pub invalid: Option<String>,
    /// The metrics (`accuracy_0`, `power_1`, ...), empty when invalid.
    pub metrics: Metrics,
    /// Epochs trained in this evaluation.
    pub epochs: usize,
    /// Seconds spent training.
    pub train_s: f64,
    /// Seconds spent exporting, checking accuracy and measuring.
    pub measure_s: f64,
    /// Board measurements answered from the cache.
    pub cache_hits: usize,
    /// Trainable parameters that started from the parent's weights (weight inheritance).
    #[serde(default)]
    pub inherited_params: usize,
    /// Validation accuracy (main head) after each epoch of this evaluation's training.
    #[serde(default)]
    pub curve: Vec<f64>,
    /// Training stopped early because the candidate fell behind its parent's curve.
    #[serde(default)]
    pub raced: bool,
    /// Training budget not spent because of racing, seconds (for an epoch budget: the
    /// budget's share of the epochs not trained).
    #[serde(default)]
    pub race_saved_s: f64,
    /// Measurements of the modules the engine asked for.
    pub modules: Vec<ModuleCost>,
    /// Measurements of the module states the engine asked for (the reference's archive;
    /// `module` indexes [`EvalRequest::measure_states`]); states that could not be built or
    /// measured are left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub module_states: Vec<ModuleCost>,
    /// The phenotype text, for the log.
    pub phenotype: String,
    /// The board that measured it (its id in the farm; the profile's name for a single board).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub board: String,
}

impl Evaluation {
    /// An invalid outcome.
    pub fn invalid(reason: impl Into<String>, phenotype: String) -> Self {
        Evaluation {
            fitness: INVALID_FITNESS,
            invalid: Some(reason.into()),
            metrics: Metrics::new(),
            epochs: 0,
            train_s: 0.0,
            measure_s: 0.0,
            cache_hits: 0,
            inherited_params: 0,
            curve: Vec::new(),
            raced: false,
            race_saved_s: 0.0,
            modules: Vec::new(),
            module_states: Vec::new(),
            phenotype,
            board: String::new(),
        }
    }
}

/// A module measured alone on the board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModuleCost {
    /// Index of the module in the individual.
    pub module: usize,
    /// Architecture hash of its exported graph.
    pub arch_hash: String,
    /// Mean board power, watts (`None` when it could not be measured).
    pub power_w: Option<f64>,
    /// Total energy per inference, joules.
    pub energy_j: Option<f64>,
}

/// What the engine asks of an evaluator.
#[derive(Debug, Clone)]
pub struct EvalRequest<'a> {
    /// The candidate (its id names its saved weights).
    pub candidate: &'a Candidate,
    /// Seconds to train in this evaluation.
    pub train_s: f64,
    /// Continue from this candidate's saved weights (train_longer) instead of from scratch.
    pub warm_start: Option<u64>,
    /// Start the layers this parent (id, genome) also has from its saved weights (weight
    /// inheritance); the rest from scratch.
    pub inherit_from: Option<(u64, &'a Individual)>,
    /// Stop training early when the validation accuracy falls behind this curve (the
    /// parent's) by more than its margin.
    pub race: Option<Race>,
    /// Seed of everything random in training (derived from the run seed and the candidate id).
    pub seed: u64,
    /// Modules to measure alone for the archive (indices into the individual's modules).
    pub measure_modules: Vec<usize>,
    /// Module states to measure alone, untrained on a 1×32×32 input, for the reference's
    /// archive ([`crate::evolve::archive::ArchivePolicy::Reference`]).
    pub measure_states: Vec<crate::genome::Module>,
}

/// A failure that stops the run (the board is gone, the disk is full); the run can be resumed
/// from its last checkpoint. Invalid networks are not errors: they are [`Evaluation::invalid`].
///
/// The typed cause (a board error, an I/O error) is kept as the error's source, so a caller can
/// tell, say, a protocol-version mismatch from a dead board and act on it.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl EvalError {
    /// A failure described by `message` alone.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), source: None }
    }

    /// A failure of `context` caused by `source` (displayed as the error's source, not repeated
    /// in its message).
    pub fn caused_by(context: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self { message: context.into(), source: Some(Box::new(source)) }
    }
}

/// Trains, exports and measures candidates.
pub trait Evaluator {
    /// Evaluates one candidate.
    fn evaluate(&mut self, request: EvalRequest<'_>) -> Result<Evaluation, EvalError>;
    /// Evaluates several candidates, possibly at the same time, calling `done(index,
    /// evaluation)` in request order (index into `requests`). The default evaluates them one
    /// after the other. An error stops the batch, and so does `done` returning `false` (a signal
    /// asked the run to stop); the candidates not yet done are not reported.
    fn evaluate_all(
        &mut self,
        requests: Vec<EvalRequest<'_>>,
        done: &mut dyn FnMut(usize, Evaluation) -> bool,
    ) -> Result<(), EvalError> {
        for (index, request) in requests.into_iter().enumerate() {
            let evaluation = self.evaluate(request)?;
            if !done(index, evaluation) {
                break;
            }
        }
        Ok(())
    }
    /// Called after every generation, before the engine's checkpoint is written: persist
    /// whatever a resumed run needs (the measurement cache).
    fn checkpoint(&mut self) -> Result<(), EvalError> {
        Ok(())
    }
}
