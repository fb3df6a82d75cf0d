//! Module-level primitives: remove a random module, insert a module (module reuse, §3).
//!
//! `remove_module` is a no-op when the individual has a single module. `insert_module` accepts
//! any module whose layers decode with the space's grammar, at any position `0..=len` (the
//! reference does not constrain the position: a `features` module may land after a
//! `classification` one, and the network then builds or is `Invalid`).

use rand::{Rng, RngExt};

use crate::genome::{GenomeError, Individual, Module, SearchSpace, genotype_error};

impl Individual {
    /// Removes a uniformly chosen module and returns its former index; `None` when the
    /// individual has only one module.
    pub fn remove_module(&mut self, rng: &mut impl Rng) -> Option<usize> {
        if self.modules.len() <= 1 {
            return None;
        }
        let index = rng.random_range(0..self.modules.len());
        self.modules.remove(index);
        Some(index)
    }

    /// Inserts `module` at `position` (`0..=modules.len()`), after checking that its layers
    /// decode with the space's grammar.
    pub fn insert_module(&mut self, space: &SearchSpace, module: Module, position: usize) -> Result<(), GenomeError> {
        if position > self.modules.len() {
            let count = self.modules.len();
            return Err(GenomeError::OutOfRange(format!("insert position {position} in {count} modules")));
        }
        if !space.grammar.has_rule(&module.name) {
            return Err(GenomeError::Config(format!("no rule `<{}>` for the inserted module", module.name)));
        }
        for (l, layer) in module.layers.iter().enumerate() {
            let place = format!("inserted module ({}) layer {l}", module.name);
            layer.decode(&space.grammar, &module.name).map_err(genotype_error(place))?;
        }
        self.modules.insert(position, module);
        Ok(())
    }

    /// Inserts `module` at a uniformly random position in `0..=modules.len()` (the reference's
    /// `randint(0, len(modules))`) and returns it.
    pub fn insert_module_at_random(
        &mut self,
        space: &SearchSpace,
        module: Module,
        rng: &mut impl Rng,
    ) -> Result<usize, GenomeError> {
        let position = rng.random_range(0..=self.modules.len());
        self.insert_module(space, module, position)?;
        Ok(position)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::genome::ops::testing::{assert_well_formed, small};
    use crate::grammar::Genotype;

    #[test]
    fn remove_keeps_one_and_insert_checks_its_input() {
        let space = small();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut ind = Individual::random(&space, &mut rng).expect("random");
        let archived = ind.modules[0].clone();
        assert!(ind.remove_module(&mut rng).is_some());
        assert_eq!(ind.remove_module(&mut rng), None);
        assert_eq!(ind.modules.len(), 1);
        let position = ind.insert_module_at_random(&space, archived.clone(), &mut rng).expect("inserts");
        assert_eq!(ind.modules[position], archived);
        assert_well_formed(&ind, &space);
        assert!(ind.insert_module(&space, archived.clone(), 9).is_err());
        let broken = Module { name: "features".into(), layers: vec![Genotype::default()] };
        assert!(matches!(ind.insert_module(&space, broken, 0), Err(GenomeError::Genotype { .. })));
        let unknown = Module { name: "nope".into(), layers: vec![] };
        assert!(ind.insert_module(&space, unknown, 0).is_err());
    }
}
