//! Whole-genome tests: seeded random individuals from every bundled grammar decode and map,
//! random mutation sequences keep genomes well-formed, serde round trips.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::ops::testing::assert_well_formed;
use super::*;
use crate::grammar::Bundled;

const SAMPLES: usize = 1000;

/// (valid, invalid, invalid reasons seen) over `SAMPLES` random individuals.
fn sample(config: GenomeConfig, seed: u64) -> (usize, usize, Vec<String>) {
    let space = SearchSpace::new(config).expect("space");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut valid, mut invalid, mut reasons) = (0, 0, Vec::new());
    for _ in 0..SAMPLES {
        let ind = Individual::random(&space, &mut rng).expect("random individual");
        let phenotype = ind.phenotype(&space).expect("decodes");
        assert_eq!(phenotype.to_string().parse::<IndividualPhenotype>().expect("parses back"), phenotype);
        ind.learning_spec(&space).expect("the learning macro always maps");
        let layers = ind.layer_specs(&space).expect("bundled layers always map");
        let per_module: Vec<_> = ind.modules.iter().flat_map(|m| m.layer_specs(&space).expect("maps")).collect();
        assert_eq!(per_module, layers);
        match ind.to_netspec(&space) {
            Ok(spec) => {
                valid += 1;
                assert_eq!(spec.layers.len(), ind.total_layers());
                assert_eq!(spec.partition_point.is_some(), space.config.macros.iter().any(|m| m == "model_partition"));
            }
            Err(err) => {
                invalid += 1;
                if reasons.len() < 5 {
                    reasons.push(err.to_string());
                }
            }
        }
    }
    (valid, invalid, reasons)
}

#[test]
fn paper_space_gives_valid_and_invalid_networks() {
    let (valid, invalid, reasons) = sample(GenomeConfig::paper(), 1);
    eprintln!("energize.grammar (paper config): {valid} valid, {invalid} invalid of {SAMPLES}; e.g. {reasons:?}");
    assert!(valid > 0 && invalid > 0, "{valid} valid / {invalid} invalid");
}

#[test]
fn denser_space_has_no_partition() {
    let (valid, invalid, _) = sample(GenomeConfig::denser(), 2);
    eprintln!("denser.grammar (denser config): {valid} valid, {invalid} invalid of {SAMPLES}");
    assert!(valid > 0 && invalid > 0, "{valid} valid / {invalid} invalid");
}

#[test]
fn small_space_is_mostly_valid() {
    let (valid, invalid, reasons) = sample(GenomeConfig::small(), 3);
    eprintln!("small.grammar (small config): {valid} valid, {invalid} invalid of {SAMPLES}; e.g. {reasons:?}");
    assert!(valid * 2 > SAMPLES, "{valid} valid / {invalid} invalid: {reasons:?}");
}

#[test]
fn random_mutation_sequences_keep_genomes_well_formed() {
    for config in [GenomeConfig::small(), GenomeConfig::paper()] {
        let space = SearchSpace::new(config).expect("space");
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let mut ind = Individual::random(&space, &mut rng).expect("random");
        for _ in 0..500 {
            mutate_once(&mut ind, &space, &mut rng);
            if !ind.partition_point_fits(&space) {
                let index = ind.macros.iter().position(|m| m.rule == "model_partition").expect("partition gene");
                ind.macro_dsge(&space, index, &mut rng).expect("forced macro mutation");
            }
            assert!(ind.partition_point_fits(&space));
            assert_well_formed(&ind, &space);
        }
    }
}

fn mutate_once(ind: &mut Individual, space: &SearchSpace, rng: &mut ChaCha8Rng) {
    let module = rng.random_range(0..ind.modules.len());
    match rng.random_range(0..5) {
        0 => {
            ind.add_layer(space, module, 0.15, rng).expect("add");
        }
        1 => {
            ind.remove_layer(space, module, rng).expect("remove");
        }
        2 if !ind.modules[module].layers.is_empty() => {
            let layer = rng.random_range(0..ind.modules[module].layers.len());
            ind.dsge_layer(space, module, layer, rng).expect("dsge");
        }
        3 => {
            let index = rng.random_range(0..ind.macros.len());
            ind.macro_dsge(space, index, rng).expect("macro");
        }
        _ => {
            let copy = ind.modules[module].clone();
            if ind.modules.len() < 4 {
                ind.insert_module_at_random(space, copy, rng).expect("insert");
            } else {
                ind.remove_module(rng);
            }
        }
    }
}

#[test]
fn individuals_round_trip_through_json() {
    for which in Bundled::ALL {
        let config = match which {
            Bundled::Energize => GenomeConfig::paper(),
            Bundled::Denser => GenomeConfig::denser(),
            Bundled::Small => GenomeConfig::small(),
        };
        let space = SearchSpace::new(config).expect("space");
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..50 {
            let ind = Individual::random(&space, &mut rng).expect("random");
            let json = serde_json::to_string(&ind).expect("serialises");
            let back: Individual = serde_json::from_str(&json).expect("deserialises");
            assert_eq!(back, ind);
            let phenotype = ind.phenotype(&space).expect("decodes");
            let json = serde_json::to_string(&phenotype).expect("serialises");
            assert_eq!(serde_json::from_str::<IndividualPhenotype>(&json).expect("deserialises"), phenotype);
        }
    }
}

#[test]
fn config_errors_are_reported() {
    let no_rule = GenomeConfig { grammar: GrammarChoice::Bundled(Bundled::Denser), ..GenomeConfig::paper() };
    let err = SearchSpace::new(no_rule).expect_err("denser has no model_partition");
    assert!(err.to_string().contains("model_partition"), "{err}");
    let mut bad_sizes = GenomeConfig::small();
    bad_sizes.modules[0].min_size = 11;
    assert!(SearchSpace::new(bad_sizes).is_err());
    let missing = GenomeConfig { grammar: GrammarChoice::File("/nonexistent.grammar".into()), ..GenomeConfig::small() };
    let err = SearchSpace::new(missing).expect_err("no file");
    assert!(err.to_string().contains("/nonexistent.grammar"), "{err}");
}
