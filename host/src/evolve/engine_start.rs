//! Generation 0: the `--init` seeds, random individuals, and an optional screening round.
//!
//! Without screening (`init_draws ≤ λ`), generation 0 is the seeds (at most λ) topped up with
//! random individuals to λ, as the reference code (which has no seeds). (NSGA-II starts from μ
//! instead of λ: [`super::EngineConfig::first_population`].) With screening, the
//! seeds and random individuals make `init_draws` candidates, each trained for
//! `init_screen_fraction` of the default budget (origin `screen`); the fittest λ (ties to the
//! earliest) then continue training from their screening weights for a default budget and are
//! generation 0's population.

use super::{Engine, EngineError};
use crate::evolve::candidate::{Candidate, Evaluator, Origin};
use crate::evolve::engine::Progress;
use crate::evolve::mutation::MutationRecord;
use crate::genome::Individual;

impl<E: Evaluator> Engine<'_, E> {
    /// Generation 0's population (see the module docs).
    pub(super) fn first_generation(
        &mut self,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Vec<Candidate>, EngineError> {
        let (lambda, default) = (self.config.first_population(), self.config.train_seconds);
        let draws = lambda.max(self.config.init_draws);
        let mut pool = Vec::with_capacity(draws);
        for individual in self.config.seeds.iter().take(draws).cloned().collect::<Vec<_>>() {
            pool.push(self.candidate(0, individual, None, None, Origin::Seed, default));
        }
        while pool.len() < draws {
            let individual = Individual::random(self.space, &mut self.state.rng)?;
            pool.push(self.candidate(0, individual, None, None, Origin::Random, default));
        }
        if draws == lambda {
            return Ok(pool);
        }
        let short = default * self.config.init_screen_fraction;
        for candidate in &mut pool {
            candidate.origin = Origin::Screen;
            candidate.budget_s = short;
        }
        self.evaluate_all(&mut pool, 0, progress)?;
        let mut ranked: Vec<usize> = (0..pool.len()).collect();
        ranked.sort_by(|&a, &b| pool[b].fitness().total_cmp(&pool[a].fitness()).then(a.cmp(&b)));
        let continued = MutationRecord { train_longer: true, ..MutationRecord::default() };
        let mut population = Vec::with_capacity(lambda);
        for &index in ranked.iter().take(lambda) {
            let screened = &pool[index];
            let (individual, id) = (screened.individual.clone(), screened.id);
            let origin = Origin::Random;
            population.push(self.candidate(0, individual, Some(id), Some(continued.clone()), origin, short + default));
        }
        Ok(population)
    }
}
