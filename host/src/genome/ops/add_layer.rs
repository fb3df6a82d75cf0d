//! Add-layer mutation: insert a layer at a random position of a module.
//!
//! With probability `reuse_layer` (0.15 in the paper's mutation config) the new layer is a copy
//! of a random existing layer of the module, else a fresh expansion of the module's symbol. The
//! position is uniform in `0..=len`. No-op when the module is at its maximum size.

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use super::module_out_of_range;
use crate::genome::{GenomeError, Individual, SearchSpace, genotype_error};
use crate::grammar::Genotype;

/// What [`Individual::add_layer`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AddLayer {
    /// A layer was inserted at `position`; `copied_from` is the copied layer's index before
    /// the insertion, `None` for a fresh expansion.
    Added {
        /// Index of the new layer in the module.
        position: usize,
        /// Source layer of a copy.
        copied_from: Option<usize>,
    },
    /// The module already has its maximum number of layers.
    AtMaxSize,
}

impl Individual {
    /// Inserts a layer into module `module` (see the module docs).
    pub fn add_layer(
        &mut self,
        space: &SearchSpace,
        module: usize,
        reuse_layer: f64,
        rng: &mut impl Rng,
    ) -> Result<AddLayer, GenomeError> {
        let bounds = self.dynamic_bounds();
        let count = self.modules.len();
        let target = self.modules.get_mut(module).ok_or_else(|| module_out_of_range(module, count))?;
        let max_size = space.config.module(&target.name).map_or(usize::MAX, |c| c.max_size);
        if target.layers.len() >= max_size {
            return Ok(AddLayer::AtMaxSize);
        }
        let copy = !target.layers.is_empty() && rng.random_bool(reuse_layer.clamp(0.0, 1.0));
        let (layer, copied_from) = if copy {
            let source = rng.random_range(0..target.layers.len());
            (target.layers[source].clone(), Some(source))
        } else {
            let place = format!("module {module} ({}) new layer", target.name);
            let fresh = Genotype::random(&space.grammar, &target.name, &bounds, rng).map_err(genotype_error(place))?;
            (fresh, None)
        };
        let position = rng.random_range(0..=target.layers.len());
        target.layers.insert(position, layer);
        Ok(AddLayer::Added { position, copied_from })
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::genome::ops::testing::{assert_well_formed, small};

    #[test]
    fn adds_until_the_maximum_then_stops() {
        let space = small();
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let mut ind = Individual::random(&space, &mut rng).expect("random");
        let (mut copies, mut fresh) = (0, 0);
        for _ in 0..12 {
            let before = ind.modules[0].layers.len();
            match ind.add_layer(&space, 0, 0.5, &mut rng).expect("adds") {
                AddLayer::Added { position, copied_from } => {
                    assert_eq!(ind.modules[0].layers.len(), before + 1);
                    assert!(position <= before);
                    if copied_from.is_some() { copies += 1 } else { fresh += 1 }
                }
                AddLayer::AtMaxSize => assert_eq!(before, 10),
            }
            assert_well_formed(&ind, &space);
        }
        assert_eq!(ind.modules[0].layers.len(), 10);
        assert!(copies > 0 && fresh > 0, "{copies} copies, {fresh} fresh");
        assert!(ind.add_layer(&space, 5, 0.5, &mut rng).is_err());
    }
}
