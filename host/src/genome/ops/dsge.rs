//! DSGE mutations of one layer and of a macro gene (REFERENCE.md §1.5).
//!
//! Both apply [`dsge_mutation`] to one genotype. The macro version fills the `_` bounds from the
//! individual's current size (`partition_point ∈ [0, total_layers − 1]`), so applying it to the
//! `model_partition` gene when [`Individual::partition_point_fits`] is false always brings
//! `partition_point` back in range (it is the gene's only attribute and rule).

use rand::Rng;

use super::module_out_of_range;
use crate::genome::{GenomeError, Individual, SearchSpace, genotype_error};
use crate::grammar::{DsgeMutation, dsge_mutation};

impl Individual {
    /// A DSGE mutation of layer `layer` of module `module`.
    pub fn dsge_layer(
        &mut self,
        space: &SearchSpace,
        module: usize,
        layer: usize,
        rng: &mut impl Rng,
    ) -> Result<DsgeMutation, GenomeError> {
        let bounds = self.dynamic_bounds();
        let count = self.modules.len();
        let target = self.modules.get_mut(module).ok_or_else(|| module_out_of_range(module, count))?;
        let layers = target.layers.len();
        let genotype = target.layers.get_mut(layer).ok_or_else(|| {
            GenomeError::OutOfRange(format!("layer {layer} of module {module}, which has {layers} layers"))
        })?;
        let place = format!("module {module} ({}) layer {layer}", target.name);
        dsge_mutation(genotype, &space.grammar, &target.name, &bounds, rng).map_err(genotype_error(place))
    }

    /// A DSGE mutation of macro gene `index` with dynamic bounds from the current layer count.
    pub fn macro_dsge(
        &mut self,
        space: &SearchSpace,
        index: usize,
        rng: &mut impl Rng,
    ) -> Result<DsgeMutation, GenomeError> {
        let bounds = self.dynamic_bounds();
        let count = self.macros.len();
        let gene = self
            .macros
            .get_mut(index)
            .ok_or_else(|| GenomeError::OutOfRange(format!("macro {index} of an individual with {count} macros")))?;
        let place = format!("macro {}", gene.rule);
        dsge_mutation(&mut gene.genotype, &space.grammar, &gene.rule, &bounds, rng).map_err(genotype_error(place))
    }
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::genome::ops::testing::{assert_well_formed, small};

    #[test]
    fn layer_dsge_changes_one_layer_only() {
        let space = small();
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        for _ in 0..100 {
            let mut ind = Individual::random(&space, &mut rng).expect("random");
            let before = ind.clone();
            let layer = rng.random_range(0..ind.modules[0].layers.len());
            let mutation = ind.dsge_layer(&space, 0, layer, &mut rng).expect("mutates");
            assert_well_formed(&ind, &space);
            for (i, genotype) in ind.modules[0].layers.iter().enumerate() {
                if i != layer {
                    assert_eq!(genotype, &before.modules[0].layers[i]);
                }
            }
            let changed = ind.modules[0].layers[layer] != before.modules[0].layers[layer];
            assert_eq!(changed, !matches!(mutation, DsgeMutation::Neutral { .. }), "{mutation:?}");
        }
    }

    #[test]
    fn forced_macro_dsge_pulls_partition_point_back() {
        let space = small();
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        let mut pulled = 0;
        for _ in 0..200 {
            let mut ind = Individual::random(&space, &mut rng).expect("random");
            let partition = ind.macros.iter().position(|m| m.rule == "model_partition").expect("gene");
            while ind.modules[0].layers.len() > 1 {
                ind.remove_layer(&space, 0, &mut rng).expect("removes");
            }
            if ind.partition_point_fits(&space) {
                continue;
            }
            ind.macro_dsge(&space, partition, &mut rng).expect("mutates");
            assert!(ind.partition_point_fits(&space));
            assert_well_formed(&ind, &space);
            pulled += 1;
        }
        assert!(pulled > 10, "{pulled}");
        assert!(ind_err(&space));
    }

    fn ind_err(space: &SearchSpace) -> bool {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut ind = Individual::random(space, &mut rng).expect("random");
        ind.macro_dsge(space, 9, &mut rng).is_err() && ind.dsge_layer(space, 0, 99, &mut rng).is_err()
    }
}
