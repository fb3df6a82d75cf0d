//! The DSGE mutation (REFERENCE.md §1.5, `mutation_dsge` of the reference code).
//!
//! Pick a non-terminal of the genotype uniformly, then one of its expansions. Possible moves:
//! - another alternative (weight 1, only if the rule has an alternative that differs from the
//!   current one; duplicated alternatives count once, as the reference's set does), with freshly
//!   sampled attributes;
//! - resample one attribute of the current alternative until its value changes (weight 2, only
//!   if the alternative has attributes). An attribute whose range holds a single value is set to
//!   it (this is how an out-of-range `partition_point` is pulled back when `[0, 0]` is all that
//!   remains; the reference would loop forever there).
//!
//! If neither applies the mutation is neutral. Afterwards the genotype is repaired (missing
//! codons expanded lazily, unused ones dropped).

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use super::genotype::{attribute_range, sample_attribute, sample_expansion};
use super::{DynamicBounds, Genotype, GenotypeError, Grammar, Value};

/// Attempts at drawing a different attribute value before giving up (a float range of width
/// zero, or a tiny int range hit by bad luck).
const RESAMPLE_ATTEMPTS: usize = 1000;

/// What a DSGE mutation changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DsgeMutation {
    /// An expansion switched to another alternative.
    Production {
        /// The non-terminal.
        symbol: String,
        /// Which of its expansions.
        index: usize,
        /// Old alternative.
        from: usize,
        /// New alternative.
        to: usize,
    },
    /// One attribute was resampled.
    Attribute {
        /// The non-terminal.
        symbol: String,
        /// Which of its expansions.
        index: usize,
        /// Attribute name.
        name: String,
        /// Old value.
        from: Value,
        /// New value.
        to: Value,
    },
    /// Nothing could change (an alternative-free, attribute-free expansion was picked).
    Neutral {
        /// The non-terminal picked.
        symbol: String,
    },
}

/// Applies one DSGE mutation to `genotype` (a derivation of `start`) and repairs it.
pub fn dsge_mutation(
    genotype: &mut Genotype,
    grammar: &Grammar,
    start: &str,
    bounds: &DynamicBounds,
    rng: &mut impl Rng,
) -> Result<DsgeMutation, GenotypeError> {
    let symbols: Vec<String> = genotype.expansions.keys().cloned().collect();
    let mutation = if symbols.is_empty() {
        DsgeMutation::Neutral { symbol: start.to_string() }
    } else {
        let symbol = symbols[rng.random_range(0..symbols.len())].clone();
        let count = genotype.expansions.get(&symbol).map_or(0, Vec::len);
        let index = rng.random_range(0..count.max(1));
        mutate_expansion(genotype, grammar, symbol, index, bounds, rng)?
    };
    genotype.repair(grammar, start, bounds, rng)?;
    Ok(mutation)
}

/// Mutates expansion `index` of `symbol` (no repair).
fn mutate_expansion(
    genotype: &mut Genotype,
    grammar: &Grammar,
    symbol: String,
    index: usize,
    bounds: &DynamicBounds,
    rng: &mut impl Rng,
) -> Result<DsgeMutation, GenotypeError> {
    let rule = grammar.productions(&symbol).ok_or_else(|| GenotypeError::UnknownSymbol(symbol.clone()))?;
    let Some(current) = genotype.expansions.get(&symbol).and_then(|list| list.get(index)).cloned() else {
        return Ok(DsgeMutation::Neutral { symbol });
    };
    let Some(current_alt) = rule.get(current.production) else {
        return Err(GenotypeError::BadProduction { symbol, index, production: current.production });
    };
    // Distinct alternatives other than the current one, each by its first index.
    let others: Vec<usize> =
        (0..rule.len()).filter(|&j| rule[j] != *current_alt && !rule[..j].contains(&rule[j])).collect();
    let attributes: Vec<_> = current_alt.attributes().collect();
    let production_weight = usize::from(!others.is_empty());
    let attribute_weight = if attributes.is_empty() { 0 } else { 2 };
    if production_weight + attribute_weight == 0 {
        return Ok(DsgeMutation::Neutral { symbol });
    }
    if rng.random_range(0..production_weight + attribute_weight) < production_weight {
        let to = others[rng.random_range(0..others.len())];
        let fresh = sample_expansion(grammar, &symbol, to, bounds, rng)?;
        set_expansion(genotype, &symbol, index, fresh);
        return Ok(DsgeMutation::Production { symbol, index, from: current.production, to });
    }
    let which = rng.random_range(0..attributes.len());
    let attr = attributes[which];
    let from = current.values.get(which).cloned().unwrap_or(Value::List(Vec::new()));
    let to = resample(attr, &from, bounds, rng)?;
    let mut changed = current;
    if let Some(slot) = changed.values.get_mut(which) {
        *slot = to.clone();
    }
    set_expansion(genotype, &symbol, index, changed);
    Ok(DsgeMutation::Attribute { symbol, index, name: attr.name.clone(), from, to })
}

fn set_expansion(genotype: &mut Genotype, symbol: &str, index: usize, expansion: super::Expansion) {
    if let Some(slot) = genotype.expansions.get_mut(symbol).and_then(|list| list.get_mut(index)) {
        *slot = expansion;
    }
}

/// A new value for `attr` different from `from` when its range allows one.
fn resample(
    attr: &super::Attribute,
    from: &Value,
    bounds: &DynamicBounds,
    rng: &mut impl Rng,
) -> Result<Value, GenotypeError> {
    let (min, max) = attribute_range(attr, bounds)?;
    let mut value = sample_attribute(attr, bounds, rng)?;
    if min == max {
        return Ok(value);
    }
    for _ in 0..RESAMPLE_ATTEMPTS {
        if value != *from {
            break;
        }
        value = sample_attribute(attr, bounds, rng)?;
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::grammar::Bundled;

    #[test]
    fn mutations_change_something_and_stay_decodable() {
        let grammar = Grammar::bundled(Bundled::Energize).expect("parses");
        let bounds = DynamicBounds::new();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (mut productions, mut attributes) = (0, 0);
        for _ in 0..300 {
            let mut genotype = Genotype::random(&grammar, "features", &bounds, &mut rng).expect("expands");
            let before = genotype.decode(&grammar, "features").expect("decodes");
            let mutation = dsge_mutation(&mut genotype, &grammar, "features", &bounds, &mut rng).expect("mutates");
            let after = genotype.decode(&grammar, "features").expect("still decodes");
            match mutation {
                DsgeMutation::Production { from, to, .. } => {
                    productions += 1;
                    assert_ne!(from, to);
                }
                DsgeMutation::Attribute { from, to, .. } => {
                    attributes += 1;
                    assert_ne!(from, to);
                    assert_ne!(before, after);
                }
                DsgeMutation::Neutral { .. } => assert_eq!(before, after),
            }
        }
        assert!(productions > 30 && attributes > 30, "{productions} / {attributes}");
    }

    #[test]
    fn alternative_and_attribute_moves_weigh_one_to_two() {
        let grammar =
            crate::grammar::parse::parse("<a> ::= x:1 [n,int,1,0,1000] | y:2 [n,int,1,0,1000]\n", "t").expect("parses");
        let bounds = DynamicBounds::new();
        let mut rng = ChaCha8Rng::seed_from_u64(99);
        let mut genotype = Genotype::random(&grammar, "a", &bounds, &mut rng).expect("expands");
        let trials = 3000;
        let mut productions = 0;
        for _ in 0..trials {
            if let DsgeMutation::Production { .. } =
                dsge_mutation(&mut genotype, &grammar, "a", &bounds, &mut rng).expect("mutates")
            {
                productions += 1;
            }
        }
        // expected 1/3 of 3000 = 1000, standard deviation about 26
        assert!((900..=1100).contains(&productions), "{productions} alternative moves of {trials}");
    }

    #[test]
    fn single_value_range_pulls_partition_point_back() {
        let grammar = Grammar::bundled(Bundled::Energize).expect("parses");
        let wide = DynamicBounds::from([("partition_point".to_string(), (0.0, 9.0))]);
        let narrow = DynamicBounds::from([("partition_point".to_string(), (0.0, 0.0))]);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..20 {
            let mut genotype = Genotype::random(&grammar, "model_partition", &wide, &mut rng).expect("expands");
            let mutation = dsge_mutation(&mut genotype, &grammar, "model_partition", &narrow, &mut rng).expect("ok");
            let phenotype = genotype.decode(&grammar, "model_partition").expect("decodes");
            assert!(matches!(mutation, DsgeMutation::Attribute { .. }), "one rule, one attribute: {mutation:?}");
            assert_eq!(phenotype.get("partition_point"), Some(&Value::Int(0)));
        }
    }
}
