//! NSGA-II (Deb et al. 2002) over the engine's operators: a population of μ candidates; each
//! generation λ offspring, each a mutated copy (the grammar's own variation, no crossover) of a
//! parent chosen by binary tournament on (non-domination rank, crowding distance); the μ
//! survivors of parents ∪ offspring by rank, the last front cut by crowding distance.
//!
//! Objectives are metrics of the evaluation (`accuracy_1` maximised, `energy_1` minimised by
//! default); constraints are conditions like the fitness's (`accuracy_1 > 0.7`), handled by
//! constraint domination: the violation is how far a failed condition misses its value; an
//! invalid candidate, or one lacking an objective's metric, is dominated by every valid one.
//! Survivors are not retrained; `train_longer` offspring continue from their parent's weights,
//! and weight inheritance and racing work as in the (1+λ) strategy, against each offspring's
//! own parent. Draws come from the run's RNG in a fixed order, so a seed replays a run and a
//! resumed run ends as an uninterrupted one.

use std::cmp::Ordering;

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::{Engine, EngineError, Progress};
use crate::evolve::candidate::{Candidate, Evaluator};
use crate::evolve::fitness::{Comparison, Condition, Objective, lookup};
use crate::evolve::pareto::{Point, crowded_order, crowding_distances, non_dominated_fronts};

/// One objective: a metric and whether it is maximised or minimised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveTerm {
    /// Metric name (`accuracy_1`, `energy_1`, `latency_0`, `params_1`, ...).
    pub metric: String,
    /// Maximise or minimise.
    pub objective: Objective,
}

/// NSGA-II's objectives and constraints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Objectives {
    /// The objectives.
    pub terms: Vec<ObjectiveTerm>,
    /// Conditions every candidate should meet (constraint domination).
    pub constraints: Vec<Condition>,
}

impl Default for Objectives {
    /// `accuracy_1` maximised and `energy_1` minimised, no constraint.
    fn default() -> Self {
        let term = |metric: &str, objective| ObjectiveTerm { metric: metric.to_owned(), objective };
        Objectives {
            terms: vec![term("accuracy_1", Objective::Maximize), term("energy_1", Objective::Minimize)],
            constraints: Vec::new(),
        }
    }
}

impl Objectives {
    /// The candidate in objective space: costs to minimise (maximised metrics negated) and its
    /// constraint violation.
    pub fn point(&self, candidate: &Candidate) -> Point {
        let invalid = Point { costs: vec![0.0; self.terms.len()], violation: f64::INFINITY };
        let Some(evaluation) = candidate.evaluation.as_ref().filter(|e| e.invalid.is_none()) else { return invalid };
        let mut costs = Vec::with_capacity(self.terms.len());
        for term in &self.terms {
            match lookup(&evaluation.metrics, &term.metric) {
                Ok(value) if value.is_finite() => costs.push(match term.objective {
                    Objective::Maximize => -value,
                    Objective::Minimize => value,
                }),
                _ => return invalid,
            }
        }
        let mut violation = 0.0;
        for condition in &self.constraints {
            let Some(metric) = condition.metric.as_deref() else { continue };
            let Ok(value) = lookup(&evaluation.metrics, metric) else { return invalid };
            let holds = match condition.comparison {
                Comparison::GreaterThan => value > condition.value,
                Comparison::LessThan => value < condition.value,
                Comparison::AtLeast => value >= condition.value,
                Comparison::AtMost => value <= condition.value,
            };
            if !holds {
                violation += (value - condition.value).abs() + f64::EPSILON;
            }
        }
        Point { costs, violation }
    }
}

/// Each candidate's non-domination rank (0: the first front) and crowding distance within its
/// front.
pub fn ranks_and_crowding(objectives: &Objectives, candidates: &[Candidate]) -> (Vec<usize>, Vec<f64>) {
    let points: Vec<Point> = candidates.iter().map(|c| objectives.point(c)).collect();
    let mut rank = vec![0; candidates.len()];
    let mut crowding = vec![0.0; candidates.len()];
    for (r, front) in non_dominated_fronts(&points).iter().enumerate() {
        for (&i, d) in front.iter().zip(crowding_distances(&points, front)) {
            rank[i] = r;
            crowding[i] = d;
        }
    }
    (rank, crowding)
}

/// The `mu` survivors of `candidates`: whole fronts in rank order, the last one cut by crowding
/// distance (larger first, then the earlier id); in that order.
pub fn survivors(objectives: &Objectives, candidates: Vec<Candidate>, mu: usize) -> Vec<Candidate> {
    let (rank, crowding) = ranks_and_crowding(objectives, &candidates);
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&a, &b| {
        crowded_order(rank[a], crowding[a], rank[b], crowding[b]).then(candidates[a].id.cmp(&candidates[b].id))
    });
    let keep: Vec<usize> = order.into_iter().take(mu).collect();
    let mut slots: Vec<Option<Candidate>> = candidates.into_iter().map(Some).collect();
    keep.into_iter().filter_map(|i| slots[i].take()).collect()
}

impl<E: Evaluator> Engine<'_, E> {
    /// One NSGA-II generation (generation 0: the first μ); returns the fittest survivor by the
    /// scalar fitness, which the run reports as its parent.
    pub(super) fn nsga2_generation(
        &mut self,
        generation: usize,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Candidate, EngineError> {
        let mut offspring = if self.state.population.is_empty() {
            self.first_generation(progress)?
        } else {
            self.nsga2_offspring(generation)?
        };
        self.evaluate_all(&mut offspring, generation, progress)?;
        let mut merged = std::mem::take(&mut self.state.population);
        merged.extend(offspring);
        self.state.population = survivors(&self.config.objectives, merged, self.config.mu);
        let fittest = self
            .state
            .population
            .iter()
            .max_by(|a, b| a.fitness().total_cmp(&b.fitness()).then(b.id.cmp(&a.id)))
            .cloned();
        fittest.ok_or_else(|| EngineError::Genome(crate::genome::GenomeError::Config("an empty population".into())))
    }

    /// λ offspring, each a mutated copy of a binary-tournament winner of the population.
    fn nsga2_offspring(&mut self, generation: usize) -> Result<Vec<Candidate>, EngineError> {
        let population = self.state.population.clone();
        let (rank, crowding) = ranks_and_crowding(&self.config.objectives, &population);
        let mut offspring = Vec::with_capacity(self.config.lambda);
        for _ in 0..self.config.lambda {
            let a = self.state.rng.random_range(0..population.len());
            let b = self.state.rng.random_range(0..population.len());
            let winner = match crowded_order(rank[a], crowding[a], rank[b], crowding[b]) {
                Ordering::Greater => b,
                _ => a,
            };
            let parent = population[winner].clone();
            offspring.push(self.offspring_of(&parent, generation)?);
        }
        Ok(offspring)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genome::{GenomeConfig, Individual, SearchSpace};
    use rand::SeedableRng;

    fn candidate(id: u64, individual: &Individual, metrics: Option<[f64; 2]>) -> Candidate {
        let [accuracy, energy] = metrics.unwrap_or([0.0; 2]);
        let mut c = Candidate::scored(id, individual, accuracy, &[("accuracy_1", accuracy), ("energy_1", energy)]);
        if metrics.is_none() {
            c.evaluation = None;
        }
        c
    }

    #[test]
    fn survivors_are_whole_fronts_then_the_least_crowded() {
        let space = SearchSpace::new(GenomeConfig::small()).expect("space");
        let ind = Individual::random(&space, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1)).expect("random");
        let all = vec![
            candidate(0, &ind, Some([0.90, 4e-3])),
            candidate(1, &ind, Some([0.80, 2e-3])),
            candidate(2, &ind, Some([0.85, 3e-3])),
            candidate(3, &ind, Some([0.70, 1e-3])),
            candidate(4, &ind, Some([0.60, 3e-3])), // dominated by #1 and #2
            candidate(5, &ind, None),               // invalid: last
        ];
        let objectives = Objectives::default();
        let (rank, _) = ranks_and_crowding(&objectives, &all);
        assert_eq!(rank, [0, 0, 0, 0, 1, 2]);
        let ids = |c: Vec<Candidate>| c.iter().map(|c| c.id).collect::<Vec<_>>();
        // the extremes (#0, #3) have infinite crowding; of #1 and #2, #1's neighbours are
        // further apart ((0.85−0.70)/0.2 + (3−1)/3 against (0.90−0.80)/0.2 + (4−2)/3)
        assert_eq!(ids(survivors(&objectives, all.clone(), 3)), [0, 3, 1]);
        assert_eq!(ids(survivors(&objectives, all.clone(), 5)), [0, 3, 1, 2, 4]);
        // a constraint turns the front around: only #0 and #2 meet accuracy ≥ 0.85
        let constrained = Objectives {
            constraints: vec![Condition {
                metric: Some("accuracy_1".into()),
                comparison: Comparison::AtLeast,
                value: 0.85,
            }],
            ..Objectives::default()
        };
        let (rank, _) = ranks_and_crowding(&constrained, &all);
        assert_eq!(&rank[..3], [0, 1, 0], "#1 misses by 0.05 and is dominated by the feasible ones");
    }
}
