//! The mutation of one offspring, in the reference code's order (REFERENCE.md §1.5, §7.9):
//!
//! 1. with p `train_longer`: only extend the training budget (continue from the parent's
//!    weights), nothing else;
//! 2. otherwise, with p `reuse_module`: insert a module drawn from the archive by inverse-power
//!    roulette at a random position; then with p `remove_module`: remove a random module;
//! 3. for each module: 1–2 tries of add-layer (p `add_layer`, copying an existing layer with p
//!    `reuse_layer`), 1–2 tries of remove-layer (p `remove_layer`), and a DSGE mutation of each
//!    layer with p `dsge_layer`;
//! 4. for each macro gene: a DSGE mutation with p `macro_layer`, forced when `partition_point`
//!    no longer fits the network.
//!
//! The RNG is passed in; every draw happens in a fixed order so a seed replays a run.

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use crate::evolve::archive::ModuleArchive;
use crate::genome::{GenomeError, Individual, Module, SearchSpace};

/// The macro rule holding `partition_point`.
pub const MODEL_PARTITION_RULE: &str = "model_partition";

/// Mutation probabilities; defaults from the reference configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MutationRates {
    /// Only train longer (exclusive).
    pub train_longer: f64,
    /// Re-insert an archived module.
    pub reuse_module: f64,
    /// Remove a random module.
    pub remove_module: f64,
    /// Add a layer (per try, 1–2 tries per module).
    pub add_layer: f64,
    /// An added layer copies an existing one.
    pub reuse_layer: f64,
    /// Remove a layer (per try, 1–2 tries per module).
    pub remove_layer: f64,
    /// DSGE mutation of each layer.
    pub dsge_layer: f64,
    /// DSGE mutation of each macro gene.
    pub macro_layer: f64,
}

impl Default for MutationRates {
    fn default() -> Self {
        Self {
            train_longer: 0.2,
            reuse_module: 0.15,
            remove_module: 0.25,
            add_layer: 0.25,
            reuse_layer: 0.15,
            remove_layer: 0.25,
            dsge_layer: 0.15,
            macro_layer: 0.3,
        }
    }
}

/// What a mutation did, for the run log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MutationRecord {
    /// The budget was extended; nothing else changed.
    pub train_longer: bool,
    /// Archive entry index and insert position of a reused module.
    pub reused_module: Option<(usize, usize)>,
    /// Index of a removed module.
    pub removed_module: Option<usize>,
    /// Layers added.
    pub layers_added: usize,
    /// Layers removed.
    pub layers_removed: usize,
    /// Layer DSGE mutations applied.
    pub layer_dsge: usize,
    /// Macro rules mutated (`learning`, `model_partition`), forced ones included.
    pub macros_mutated: Vec<String>,
    /// The module after each add-layer, remove-layer and DSGE mutation, in order (kept only
    /// for the reference's archive, [`crate::evolve::archive::ArchivePolicy::Reference`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub module_states: Vec<Module>,
}

impl MutationRecord {
    /// True when the genome changed (anything but train_longer).
    pub fn is_structural(&self) -> bool {
        !self.train_longer
    }

    /// A one-line summary (`train_longer`, `reuse_module+add_layer×2`, ...).
    pub fn summary(&self) -> String {
        if self.train_longer {
            return "train_longer".into();
        }
        let mut parts = Vec::new();
        let mut counted = |name: &str, n: usize| match n {
            0 => {}
            1 => parts.push(name.to_owned()),
            n => parts.push(format!("{name}×{n}")),
        };
        counted("reuse_module", usize::from(self.reused_module.is_some()));
        counted("remove_module", usize::from(self.removed_module.is_some()));
        counted("add_layer", self.layers_added);
        counted("remove_layer", self.layers_removed);
        counted("dsge_layer", self.layer_dsge);
        for rule in &self.macros_mutated {
            parts.push(format!("macro_{rule}"));
        }
        if parts.is_empty() { "none".into() } else { parts.join("+") }
    }
}

/// Mutates `individual` in place (see the module docs); with `keep_states`, the record holds
/// the module after each module mutation.
pub fn mutate<R: Rng>(
    individual: &mut Individual,
    space: &SearchSpace,
    rates: &MutationRates,
    archive: &ModuleArchive<Module>,
    keep_states: bool,
    rng: &mut R,
) -> Result<MutationRecord, GenomeError> {
    let mut record = MutationRecord::default();
    if rng.random_bool(rates.train_longer) {
        record.train_longer = true;
        return Ok(record);
    }
    if rng.random_bool(rates.reuse_module) {
        let picked = archive.pick(rng).map(|entry| entry.module.clone());
        if let Some(module) = picked {
            let index = archive.entries().iter().position(|e| e.module == module).unwrap_or(0);
            let position = individual.insert_module_at_random(space, module, rng)?;
            record.reused_module = Some((index, position));
        }
    }
    if rng.random_bool(rates.remove_module) {
        record.removed_module = individual.remove_module(rng);
    }
    mutate_modules(individual, space, rates, rng, &mut record)?;
    if !keep_states {
        record.module_states.clear();
    }
    mutate_macros(individual, space, rates, rng, &mut record)?;
    Ok(record)
}

fn mutate_modules<R: Rng>(
    individual: &mut Individual,
    space: &SearchSpace,
    rates: &MutationRates,
    rng: &mut R,
    record: &mut MutationRecord,
) -> Result<(), GenomeError> {
    let mut module = 0;
    while module < individual.modules.len() {
        for _ in 0..rng.random_range(1..=2) {
            if rng.random_bool(rates.add_layer)
                && matches!(
                    individual.add_layer(space, module, rates.reuse_layer, rng)?,
                    crate::genome::AddLayer::Added { .. }
                )
            {
                record.layers_added += 1;
                record.module_states.push(individual.modules[module].clone());
            }
        }
        let mut module_removed = false;
        for _ in 0..rng.random_range(1..=2) {
            if module_removed || !rng.random_bool(rates.remove_layer) {
                continue;
            }
            match individual.remove_layer(space, module, rng)? {
                crate::genome::RemoveLayer::Removed { .. } => {
                    record.layers_removed += 1;
                    record.module_states.push(individual.modules[module].clone());
                }
                crate::genome::RemoveLayer::RemovedModule { .. } => {
                    record.layers_removed += 1;
                    module_removed = true;
                }
                crate::genome::RemoveLayer::AtMinSize => {}
            }
        }
        if module_removed {
            continue;
        }
        for layer in 0..individual.modules[module].layers.len() {
            if rng.random_bool(rates.dsge_layer) {
                individual.dsge_layer(space, module, layer, rng)?;
                record.layer_dsge += 1;
                record.module_states.push(individual.modules[module].clone());
            }
        }
        module += 1;
    }
    Ok(())
}

fn mutate_macros<R: Rng>(
    individual: &mut Individual,
    space: &SearchSpace,
    rates: &MutationRates,
    rng: &mut R,
    record: &mut MutationRecord,
) -> Result<(), GenomeError> {
    for index in 0..individual.macros.len() {
        let drawn = rng.random_bool(rates.macro_layer);
        let forced = individual.macros[index].rule == MODEL_PARTITION_RULE && !individual.partition_point_fits(space);
        if drawn || forced {
            individual.macro_dsge(space, index, rng)?;
            record.macros_mutated.push(individual.macros[index].rule.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::evolve::archive::ArchivedModule;
    use crate::genome::GenomeConfig;

    fn space() -> SearchSpace {
        SearchSpace::new(GenomeConfig::small()).expect("bundled small grammar")
    }

    #[test]
    fn mutations_keep_genomes_decodable_and_partition_points_in_range() {
        let space = space();
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let rates = MutationRates { reuse_module: 0.5, ..MutationRates::default() };
        let mut archive = ModuleArchive::new();
        let (mut valid, mut invalid, mut structural) = (0, 0, 0);
        for i in 0..200 {
            let mut ind = Individual::random(&space, &mut rng).expect("random individual");
            archive.push(ArchivedModule {
                module: ind.modules[0].clone(),
                generation: 0,
                power_w: Some(1.0 + i as f64),
                energy_j: None,
                arch_hash: i.to_string(),
            });
            for _ in 0..5 {
                let record = mutate(&mut ind, &space, &rates, &archive, false, &mut rng).expect("mutation succeeds");
                structural += usize::from(record.is_structural());
                assert!(ind.phenotype(&space).is_ok(), "mutated genome decodes");
                // An individual left with no layer cannot place a partition point; it maps to Invalid.
                let fits = ind.partition_point_fits(&space) || ind.total_layers() == 0;
                assert!(fits, "partition point repaired: {}", record.summary());
                match ind.to_netspec(&space) {
                    Ok(_) => valid += 1,
                    Err(reason) => {
                        assert!(!reason.reason.is_empty());
                        invalid += 1;
                    }
                }
            }
        }
        assert!(valid > 500, "most mutated small-grammar genomes build: {valid} valid, {invalid} invalid");
        assert!(structural > 600 && structural < 900, "train_longer ≈ 20 % of 1000: {structural} structural");
    }

    #[test]
    fn same_seed_same_mutations() {
        let space = space();
        let run = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut ind = Individual::random(&space, &mut rng).expect("random");
            let archive = ModuleArchive::new();
            let records: Vec<_> = (0..10)
                .map(|_| mutate(&mut ind, &space, &MutationRates::default(), &archive, false, &mut rng).expect("ok"))
                .collect();
            (ind, records)
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5).0, run(6).0);
    }

    #[test]
    fn train_longer_changes_nothing_else() {
        let space = space();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let original = Individual::random(&space, &mut rng).expect("random");
        let rates = MutationRates { train_longer: 1.0, ..MutationRates::default() };
        let mut ind = original.clone();
        let record = mutate(&mut ind, &space, &rates, &ModuleArchive::new(), false, &mut rng).expect("ok");
        assert!(record.train_longer);
        assert_eq!(record.summary(), "train_longer");
        assert_eq!(ind, original);
    }

    #[test]
    fn the_reference_archive_sees_every_intermediate_module_state() {
        let space = space();
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let rates = MutationRates {
            train_longer: 0.0,
            reuse_module: 0.0,
            remove_module: 0.0,
            add_layer: 1.0,
            reuse_layer: 0.0,
            remove_layer: 0.0,
            dsge_layer: 1.0,
            macro_layer: 0.0,
        };
        let original = Individual::random(&space, &mut rng).expect("random");
        let (mut ind, mut replay) = (original.clone(), rng.clone());
        let record = mutate(&mut ind, &space, &rates, &ModuleArchive::new(), true, &mut rng).expect("ok");
        // one state per add-layer and per DSGE mutation, in order; the last state of each module
        // is the module as it ends up
        assert_eq!(record.module_states.len(), record.layers_added + record.layer_dsge);
        assert!(record.layers_added >= 1 && record.layer_dsge >= 1, "{}", record.summary());
        let last = record.module_states.last().expect("a state");
        assert_eq!(last, ind.modules.last().expect("a module"));
        let first = &record.module_states[0];
        assert_eq!(first.layers.len(), original.modules[0].layers.len() + 1, "after the first add-layer");
        // the same draws without keeping states: the same genome, no states
        let mut same = original.clone();
        let plain = mutate(&mut same, &space, &rates, &ModuleArchive::new(), false, &mut replay).expect("ok");
        assert_eq!(same, ind);
        assert!(plain.module_states.is_empty());
    }
}
