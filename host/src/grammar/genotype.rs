//! The DSGE genotype: for each non-terminal, the list of its expansions in derivation order.
//!
//! An expansion is the index of the chosen alternative plus the sampled values of that
//! alternative's attributes. Decoding walks the grammar from a start symbol, taking the next
//! unused expansion of each non-terminal it meets (pre-order), and writes the phenotype.
//!
//! A mutation can leave a genotype that no longer matches its derivation (a new alternative
//! needs expansions that do not exist, old ones are left over). [`Genotype::repair`] walks the
//! derivation, expands missing codons with the RNG ("lazy expansion") and drops unused ones, as
//! the reference decoder does; [`Genotype::random`] is a repair of the empty genotype.
//! [`Genotype::decode`] is pure and fails on a genotype that needs repair.

use std::collections::BTreeMap;

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use super::{AttrKind, Attribute, Bound, DynamicBounds, Grammar, Item, Phenotype, Token, Value};

/// Deepest derivation allowed (guards against grammars that never terminate).
pub const MAX_DEPTH: usize = 64;

/// One expansion of a non-terminal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expansion {
    /// Index of the chosen alternative in the rule.
    pub production: usize,
    /// Values of the alternative's attributes, in order (a `List` for a count above 1).
    pub values: Vec<Value>,
}

/// Expansions per non-terminal, each list in pre-order of the derivation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Genotype {
    /// Non-terminal name → its expansions.
    pub expansions: BTreeMap<String, Vec<Expansion>>,
}

/// A genotype that does not fit its grammar.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GenotypeError {
    /// A start or used symbol without a rule.
    #[error("no rule for `<{0}>` in the grammar")]
    UnknownSymbol(String),
    /// Decoding needs an expansion that the genotype does not have.
    #[error("`<{symbol}>` needs expansion {index} but the genotype has only {index}")]
    MissingCodon {
        /// The non-terminal.
        symbol: String,
        /// How many it has.
        index: usize,
    },
    /// A production index outside the rule.
    #[error("`<{symbol}>` expansion {index}: alternative {production} does not exist")]
    BadProduction {
        /// The non-terminal.
        symbol: String,
        /// Which expansion.
        index: usize,
        /// The stored alternative.
        production: usize,
    },
    /// The stored values do not match the alternative's attributes.
    #[error("`<{symbol}>` expansion {index}: {found} attribute values for {expected} attributes")]
    BadValues {
        /// The non-terminal.
        symbol: String,
        /// Which expansion.
        index: usize,
        /// Attributes of the alternative.
        expected: usize,
        /// Values stored.
        found: usize,
    },
    /// A `_` bound with no run-time value.
    #[error("attribute `{0}` has a `_` bound but no dynamic bound was given")]
    UnboundedAttribute(String),
    /// Bounds with min > max at run time.
    #[error("attribute `{name}`: empty range [{min}, {max}]")]
    EmptyRange {
        /// Attribute name.
        name: String,
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
    /// The derivation is deeper than [`MAX_DEPTH`].
    #[error("derivation deeper than {MAX_DEPTH} at `<{0}>` (a grammar that never terminates?)")]
    TooDeep(String),
}

/// The resolved `(min, max)` of an attribute.
pub fn attribute_range(attr: &Attribute, bounds: &DynamicBounds) -> Result<(f64, f64), GenotypeError> {
    let dynamic = || bounds.get(&attr.name).ok_or_else(|| GenotypeError::UnboundedAttribute(attr.name.clone()));
    let min = match attr.min {
        Bound::Fixed(x) => x,
        Bound::Dynamic => dynamic()?.0,
    };
    let max = match attr.max {
        Bound::Fixed(x) => x,
        Bound::Dynamic => dynamic()?.1,
    };
    let (min, max) = match attr.kind {
        AttrKind::Int | AttrKind::IntPower2 | AttrKind::InvPower2 => (min.ceil(), max.floor()),
        AttrKind::Float => (min, max),
    };
    if min > max || !min.is_finite() || !max.is_finite() {
        return Err(GenotypeError::EmptyRange { name: attr.name.clone(), min, max });
    }
    Ok((min, max))
}

/// Significant digits kept of a sampled float: short decimals print readably and read back
/// exactly from text and JSON (serde_json parses numbers of up to 15 digits exactly).
pub const FLOAT_DIGITS: usize = 6;

fn round_significant(x: f64) -> f64 {
    format!("{x:.prec$e}", prec = FLOAT_DIGITS - 1).parse().unwrap_or(x)
}

/// Largest exponent of a power-of-two attribute (`2^62` still fits an `i64`).
pub const MAX_POWER2_EXPONENT: i64 = 62;

/// Samples an attribute's value(s) uniformly within its (resolved) bounds; floats are rounded
/// to [`FLOAT_DIGITS`] significant digits; power-of-two kinds draw the exponent uniformly.
pub fn sample_attribute(attr: &Attribute, bounds: &DynamicBounds, rng: &mut impl Rng) -> Result<Value, GenotypeError> {
    let (min, max) = attribute_range(attr, bounds)?;
    let power2 = matches!(attr.kind, AttrKind::IntPower2 | AttrKind::InvPower2);
    if power2 && (min < 0.0 || max > MAX_POWER2_EXPONENT as f64) {
        return Err(GenotypeError::EmptyRange { name: attr.name.clone(), min, max });
    }
    let mut one = || match attr.kind {
        AttrKind::Int => Value::Int(rng.random_range(min as i64..=max as i64)),
        AttrKind::Float if min == max => Value::Float(min),
        AttrKind::Float => Value::Float(round_significant(rng.random_range(min..max)).clamp(min, max)),
        AttrKind::IntPower2 => Value::Int(1i64 << rng.random_range(min as i64..=max as i64)),
        AttrKind::InvPower2 => Value::Float(1.0 / (1i64 << rng.random_range(min as i64..=max as i64)) as f64),
    };
    Ok(if attr.count == 1 { one() } else { Value::List((0..attr.count).map(|_| one()).collect()) })
}

/// A fresh expansion of `symbol` with alternative `production` and sampled attributes.
pub fn sample_expansion(
    grammar: &Grammar,
    symbol: &str,
    production: usize,
    bounds: &DynamicBounds,
    rng: &mut impl Rng,
) -> Result<Expansion, GenotypeError> {
    let rule = grammar.productions(symbol).ok_or_else(|| GenotypeError::UnknownSymbol(symbol.to_string()))?;
    let alternative = rule.get(production).ok_or_else(|| GenotypeError::BadProduction {
        symbol: symbol.to_string(),
        index: 0,
        production,
    })?;
    let values = alternative.attributes().map(|a| sample_attribute(a, bounds, rng)).collect::<Result<_, _>>()?;
    Ok(Expansion { production, values })
}

/// Walks a derivation, consuming the old genotype and recording the one actually used.
struct Walker<'a, F> {
    grammar: &'a Grammar,
    old: &'a Genotype,
    cursors: BTreeMap<String, usize>,
    used: Genotype,
    tokens: Vec<Token>,
    /// Called when a non-terminal has no expansion left: a fresh one, or an error.
    fresh: F,
}

impl<'a, F: FnMut(&str, usize) -> Result<Expansion, GenotypeError>> Walker<'a, F> {
    /// Derives `start` from `old`'s expansions (`fresh` when one runs out): the expansions used,
    /// and the terminals in order.
    fn derive(
        grammar: &'a Grammar,
        old: &'a Genotype,
        start: &str,
        fresh: F,
    ) -> Result<(Genotype, Vec<Token>), GenotypeError> {
        let mut walker =
            Walker { grammar, old, cursors: BTreeMap::new(), used: Genotype::default(), tokens: Vec::new(), fresh };
        walker.walk(start, 0)?;
        Ok((walker.used, walker.tokens))
    }

    fn next_expansion(&mut self, symbol: &str) -> Result<Expansion, GenotypeError> {
        let cursor = self.cursors.entry(symbol.to_string()).or_insert(0);
        let index = *cursor;
        *cursor += 1;
        match self.old.expansions.get(symbol).and_then(|list| list.get(index)) {
            Some(expansion) => Ok(expansion.clone()),
            None => (self.fresh)(symbol, index),
        }
    }

    fn walk(&mut self, symbol: &str, depth: usize) -> Result<(), GenotypeError> {
        if depth > MAX_DEPTH {
            return Err(GenotypeError::TooDeep(symbol.to_string()));
        }
        let grammar = self.grammar;
        let rule = grammar.productions(symbol).ok_or_else(|| GenotypeError::UnknownSymbol(symbol.to_string()))?;
        let expansion = self.next_expansion(symbol)?;
        let index = self.used.expansions.get(symbol).map_or(0, Vec::len);
        let Some(alternative) = rule.get(expansion.production) else {
            let production = expansion.production;
            return Err(GenotypeError::BadProduction { symbol: symbol.to_string(), index, production });
        };
        let expected = alternative.attributes().count();
        if expansion.values.len() != expected {
            let found = expansion.values.len();
            return Err(GenotypeError::BadValues { symbol: symbol.to_string(), index, expected, found });
        }
        let mut values = expansion.values.iter();
        self.used.expansions.entry(symbol.to_string()).or_default().push(expansion.clone());
        for item in &alternative.items {
            match item {
                Item::NonTerminal(child) => self.walk(child, depth + 1)?,
                Item::Terminal { key, value } => self.tokens.push(Token { key: key.clone(), value: value.clone() }),
                Item::Attribute(attr) => {
                    let value = values.next().cloned().unwrap_or(Value::List(Vec::new()));
                    self.tokens.push(Token { key: attr.name.clone(), value });
                }
            }
        }
        Ok(())
    }
}

impl Genotype {
    /// A random derivation of `start`: each alternative chosen uniformly, attributes sampled
    /// uniformly; `_` bounds come from `bounds`.
    pub fn random(
        grammar: &Grammar,
        start: &str,
        bounds: &DynamicBounds,
        rng: &mut impl Rng,
    ) -> Result<Genotype, GenotypeError> {
        let mut genotype = Genotype::default();
        genotype.repair(grammar, start, bounds, rng)?;
        Ok(genotype)
    }

    /// Makes the genotype match its derivation: missing expansions are drawn at random
    /// (lazy expansion), unused ones are dropped. Returns the phenotype.
    pub fn repair(
        &mut self,
        grammar: &Grammar,
        start: &str,
        bounds: &DynamicBounds,
        rng: &mut impl Rng,
    ) -> Result<Phenotype, GenotypeError> {
        let fresh = |symbol: &str, _index: usize| -> Result<Expansion, GenotypeError> {
            let count = grammar.productions(symbol).map_or(0, <[_]>::len);
            if count == 0 {
                return Err(GenotypeError::UnknownSymbol(symbol.to_string()));
            }
            let production = rng.random_range(0..count);
            sample_expansion(grammar, symbol, production, bounds, &mut *rng)
        };
        let (used, tokens) = Walker::derive(grammar, self, start, fresh)?;
        *self = used;
        Ok(Phenotype { tokens })
    }

    /// Decodes a complete genotype (no RNG; a missing expansion is an error).
    pub fn decode(&self, grammar: &Grammar, start: &str) -> Result<Phenotype, GenotypeError> {
        let fresh = |symbol: &str, index: usize| -> Result<Expansion, GenotypeError> {
            Err(GenotypeError::MissingCodon { symbol: symbol.to_string(), index })
        };
        let (_, tokens) = Walker::derive(grammar, self, start, fresh)?;
        Ok(Phenotype { tokens })
    }

    /// Number of expansions stored (all non-terminals).
    pub fn codons(&self) -> usize {
        self.expansions.values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::grammar::{Bundled, parse::parse};

    fn bounds() -> DynamicBounds {
        DynamicBounds::from([("partition_point".to_string(), (0.0, 3.0))])
    }

    #[test]
    fn random_genotypes_decode_and_round_trip() {
        let grammar = Grammar::bundled(Bundled::Energize).expect("parses");
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for start in ["features", "classification", "softmax", "learning", "model_partition"] {
            for _ in 0..50 {
                let mut genotype = Genotype::random(&grammar, start, &bounds(), &mut rng).expect("expands");
                let phenotype = genotype.decode(&grammar, start).expect("decodes");
                let repaired = genotype.repair(&grammar, start, &bounds(), &mut rng).expect("repairs");
                assert_eq!(repaired, phenotype, "a complete genotype needs no repair");
                let json = serde_json::to_string(&genotype).expect("serialises");
                let back: Genotype = serde_json::from_str(&json).expect("deserialises");
                assert_eq!(back, genotype);
                let text = phenotype.to_string();
                assert_eq!(text.parse::<Phenotype>().expect("parses"), phenotype, "{text}");
            }
        }
    }

    #[test]
    fn attributes_stay_in_bounds() {
        let grammar = Grammar::bundled(Bundled::Energize).expect("parses");
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for _ in 0..200 {
            let genotype = Genotype::random(&grammar, "model_partition", &bounds(), &mut rng).expect("expands");
            let phenotype = genotype.decode(&grammar, "model_partition").expect("decodes");
            let k = phenotype.get("partition_point").and_then(Value::as_i64).expect("an int");
            assert!((0..=3).contains(&k), "{k}");
        }
        let err = Genotype::random(&grammar, "model_partition", &DynamicBounds::new(), &mut rng).expect_err("no bound");
        assert_eq!(err, GenotypeError::UnboundedAttribute("partition_point".into()));
    }

    #[test]
    fn power_of_two_attributes_draw_their_exponent() {
        let grammar = parse("<l> ::= [b,int_power2,1,5,7] [r,inv_power2,1,1,3] epochs:100\n", "t").expect("ok");
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (mut batches, mut rates) = (std::collections::BTreeSet::new(), std::collections::BTreeSet::new());
        for _ in 0..100 {
            let phenotype = Genotype::random(&grammar, "l", &bounds(), &mut rng).and_then(|g| g.decode(&grammar, "l"));
            let phenotype = phenotype.expect("expands");
            batches.insert(phenotype.get("b").and_then(Value::as_i64).expect("an int"));
            rates.insert(phenotype.get("r").and_then(Value::as_f64).expect("a float").to_bits());
        }
        assert_eq!(batches.into_iter().collect::<Vec<_>>(), [32, 64, 128]);
        let rates: Vec<f64> = rates.into_iter().map(f64::from_bits).collect();
        assert_eq!(rates, [0.125, 0.25, 0.5]);
        let negative = parse("<l> ::= [b,int_power2,1,-1,2]\n", "t").expect("parses");
        assert!(Genotype::random(&negative, "l", &bounds(), &mut rng).is_err(), "2^-1 is not an int");
    }

    #[test]
    fn repair_expands_missing_and_drops_unused_codons() {
        let grammar = parse("<a> ::= <b> | x:1\n<b> ::= [n,int,1,5,5] <c>\n<c> ::= y:2 | y:3\n", "t").expect("ok");
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut genotype = Genotype::default();
        genotype.expansions.insert("a".into(), vec![Expansion { production: 0, values: vec![] }]);
        assert!(matches!(genotype.decode(&grammar, "a"), Err(GenotypeError::MissingCodon { .. })));
        let phenotype = genotype.repair(&grammar, "a", &DynamicBounds::new(), &mut rng).expect("repairs");
        assert_eq!(phenotype.get("n"), Some(&Value::Int(5)));
        assert_eq!(genotype.codons(), 3);
        genotype.expansions.insert("a".into(), vec![Expansion { production: 1, values: vec![] }]);
        let phenotype = genotype.repair(&grammar, "a", &DynamicBounds::new(), &mut rng).expect("repairs");
        assert_eq!(phenotype.to_string(), "x:1");
        assert_eq!(genotype.codons(), 1, "unused b and c dropped");
    }
}
