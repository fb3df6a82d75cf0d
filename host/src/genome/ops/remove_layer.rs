//! Remove-layer mutation: delete a random layer of a module.
//!
//! No-op when the module is at its minimum size. When the last layer of a module goes (a
//! module kind whose minimum is 0), the empty module is removed too, unless it is the
//! individual's only module (REFERENCE.md §1.5).

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use super::module_out_of_range;
use crate::genome::{GenomeError, Individual, SearchSpace};

/// What [`Individual::remove_layer`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RemoveLayer {
    /// Layer `position` was removed.
    Removed {
        /// Its index in the module.
        position: usize,
    },
    /// The module's only layer was removed and the now empty module with it.
    RemovedModule {
        /// The module's former index.
        module: usize,
    },
    /// The module is at its minimum size.
    AtMinSize,
}

impl Individual {
    /// Removes a random layer of module `module` (see the module docs).
    pub fn remove_layer(
        &mut self,
        space: &SearchSpace,
        module: usize,
        rng: &mut impl Rng,
    ) -> Result<RemoveLayer, GenomeError> {
        let count = self.modules.len();
        let target = self.modules.get_mut(module).ok_or_else(|| module_out_of_range(module, count))?;
        let min_size = space.config.module(&target.name).map_or(0, |c| c.min_size);
        if target.layers.len() <= min_size || target.layers.is_empty() {
            return Ok(RemoveLayer::AtMinSize);
        }
        let position = rng.random_range(0..target.layers.len());
        target.layers.remove(position);
        if target.layers.is_empty() && count > 1 {
            self.modules.remove(module);
            return Ok(RemoveLayer::RemovedModule { module });
        }
        Ok(RemoveLayer::Removed { position })
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::genome::ops::testing::{assert_well_formed, small};

    #[test]
    fn stops_at_min_size_and_drops_empty_modules() {
        let space = small();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut ind = Individual::random(&space, &mut rng).expect("random");
        while ind.modules[0].layers.len() > 1 {
            assert!(matches!(ind.remove_layer(&space, 0, &mut rng), Ok(RemoveLayer::Removed { .. })));
            assert_well_formed(&ind, &space);
        }
        // features: min 1
        assert_eq!(ind.remove_layer(&space, 0, &mut rng).expect("ok"), RemoveLayer::AtMinSize);
        // classification: min 0, one layer -> the module goes
        assert_eq!(ind.modules[1].layers.len(), 1);
        assert_eq!(ind.remove_layer(&space, 1, &mut rng).expect("ok"), RemoveLayer::RemovedModule { module: 1 });
        assert_eq!(ind.modules.len(), 1);
        assert_well_formed(&ind, &space);
        assert!(ind.remove_layer(&space, 1, &mut rng).is_err());
    }
}
