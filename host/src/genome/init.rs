//! Random individuals (REFERENCE.md §1.1).
//!
//! Per module kind of the config, in order: a layer count drawn from `init_sizes`; layer 0 is a
//! fresh expansion of the module's symbol; every later layer is, with probability
//! `reuse_layer`, a copy of a uniformly chosen earlier layer of the module, else a fresh
//! expansion. (The reference copies by reference, so a later DSGE mutation of one copy changes
//! all of them; wattevo copies by value.) Then the output layer, then the macro genes with
//! `partition_point ∈ [0, total_layers − 1]`.

use rand::{Rng, RngExt};

use super::{Individual, MacroGene, Module, ModuleConfig, SearchSpace, genotype_error};
use crate::grammar::{DynamicBounds, Genotype};

use super::GenomeError;

impl Individual {
    /// A random individual of `space`.
    pub fn random(space: &SearchSpace, rng: &mut impl Rng) -> Result<Individual, GenomeError> {
        let mut modules = Vec::with_capacity(space.config.modules.len());
        for (index, config) in space.config.modules.iter().enumerate() {
            modules.push(random_module(space, config, index, rng)?);
        }
        let output = Genotype::random(&space.grammar, &space.config.output, &DynamicBounds::new(), rng)
            .map_err(genotype_error("output"))?;
        let mut individual = Individual { modules, output, macros: Vec::new() };
        let bounds = individual.dynamic_bounds();
        for rule in &space.config.macros {
            let genotype = Genotype::random(&space.grammar, rule, &bounds, rng)
                .map_err(genotype_error(format!("macro {rule}")))?;
            individual.macros.push(MacroGene { rule: rule.clone(), genotype });
        }
        Ok(individual)
    }
}

fn random_module(
    space: &SearchSpace,
    config: &ModuleConfig,
    index: usize,
    rng: &mut impl Rng,
) -> Result<Module, GenomeError> {
    let size = config.init_sizes[rng.random_range(0..config.init_sizes.len())];
    let mut layers: Vec<Genotype> = Vec::with_capacity(size);
    for layer in 0..size {
        if layer > 0 && rng.random_bool(space.config.reuse_layer) {
            let copied = layers[rng.random_range(0..layer)].clone();
            layers.push(copied);
        } else {
            let place = format!("module {index} ({}) layer {layer}", config.name);
            let genotype = Genotype::random(&space.grammar, &config.name, &DynamicBounds::new(), rng)
                .map_err(genotype_error(place))?;
            layers.push(genotype);
        }
    }
    Ok(Module { name: config.name.clone(), layers })
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::genome::{GenomeConfig, PARTITION_POINT};
    use crate::grammar::Value;

    #[test]
    fn same_seed_same_individual() {
        let space = SearchSpace::new(GenomeConfig::paper()).expect("space");
        let a = Individual::random(&space, &mut ChaCha8Rng::seed_from_u64(42)).expect("random");
        let b = Individual::random(&space, &mut ChaCha8Rng::seed_from_u64(42)).expect("random");
        let c = Individual::random(&space, &mut ChaCha8Rng::seed_from_u64(43)).expect("random");
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn sizes_and_partition_point_follow_the_config() {
        let space = SearchSpace::new(GenomeConfig::small()).expect("space");
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut copies = 0;
        for _ in 0..200 {
            let ind = Individual::random(&space, &mut rng).expect("random");
            assert_eq!(ind.modules.len(), 2);
            assert!((1..=3).contains(&ind.modules[0].layers.len()));
            assert_eq!(ind.modules[1].layers.len(), 1);
            let layers = &ind.modules[0].layers;
            copies += (1..layers.len()).filter(|&i| layers[..i].contains(&layers[i])).count();
            let gene = ind.macro_gene("model_partition").expect("gene");
            let phenotype = gene.genotype.decode(&space.grammar, "model_partition").expect("decodes");
            let k = phenotype.get(PARTITION_POINT).and_then(Value::as_i64).expect("int");
            assert!(k >= 0 && (k as usize) < ind.total_layers());
        }
        assert!(copies > 50, "reuse_layer 0.7 should copy often: {copies}");
    }
}
