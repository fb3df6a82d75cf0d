//! Mutation primitives on an [`Individual`](super::Individual), one operator per file.
//!
//! These are the building blocks of the evolution engine's mutation (REFERENCE.md §1.5); the
//! engine decides when each is applied and with which probability. Every primitive takes the
//! RNG explicitly, returns what it did (for the mutation log) and leaves the genome decodable.
//! None of them re-checks `partition_point`: after a structural change call
//! [`Individual::partition_point_fits`](super::Individual::partition_point_fits) and force a
//! macro DSGE mutation ([`Individual::macro_dsge`](super::Individual::macro_dsge)) when it is false.

mod add_layer;
mod dsge;
mod modules;
mod remove_layer;

pub use add_layer::AddLayer;
pub use remove_layer::RemoveLayer;

use super::GenomeError;

fn module_out_of_range(module: usize, count: usize) -> GenomeError {
    GenomeError::OutOfRange(format!("module {module} of an individual with {count} modules"))
}

#[cfg(test)]
pub(crate) mod testing {
    //! Shared helpers for the operator tests.

    use crate::genome::{GenomeConfig, Individual, SearchSpace};

    /// Every layer, the output and the macros decode, and the sizes are within the config.
    pub fn assert_well_formed(ind: &Individual, space: &SearchSpace) {
        let phenotype = ind.phenotype(space).expect("decodes");
        assert_eq!(phenotype.layers().count(), ind.total_layers());
        for module in &ind.modules {
            let config = space.config.module(&module.name).expect("a known module");
            assert!(module.layers.len() <= config.max_size, "{} layers", module.layers.len());
        }
        // mapping never panics: either a spec or a reason
        let _ = ind.to_netspec(space);
    }

    /// The small space.
    pub fn small() -> SearchSpace {
        SearchSpace::new(GenomeConfig::small()).expect("space")
    }
}
