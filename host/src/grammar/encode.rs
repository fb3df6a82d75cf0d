//! Phenotype → genotype: the derivation of a grammar symbol that writes a given token list.
//!
//! The inverse of [`Genotype::decode`], for starting a search from networks written as text
//! (`--init FILE`). A backtracking parse over the rule's alternatives: a terminal must equal
//! the token, an attribute takes the token with its name (as an int or a float, per its kind;
//! values outside the grammar's range are kept as written, a later mutation resamples within
//! it), a non-terminal recurses. Expansions are recorded in pre-order per non-terminal, as
//! [`Genotype::decode`] consumes them, so `encode` then `decode` gives the tokens back.

use super::genotype::MAX_DEPTH;
use super::{AttrKind, Attribute, Expansion, Genotype, Grammar, Item, Phenotype, Token, Value};

/// A partial parse: the next token position and the expansions used, in pre-order.
type Parse = (usize, Vec<(String, Expansion)>);

/// A partial parse of one alternative: also the attribute values read so far.
type Partial = (usize, Vec<(String, Expansion)>, Vec<Value>);

/// A value of an attribute's kind read from a token, if it has that kind.
fn typed(attr: &Attribute, value: &Value) -> Option<Value> {
    if attr.count != 1 {
        return None;
    }
    match attr.kind {
        AttrKind::Int | AttrKind::IntPower2 => value.as_i64().map(Value::Int),
        AttrKind::Float | AttrKind::InvPower2 => value.as_f64().map(Value::Float),
    }
}

fn terminal_matches(token: Option<&Token>, key: &str, value: &Value) -> bool {
    token.is_some_and(|t| t.key == key && (t.value == *value || t.value.to_string() == value.to_string()))
}

/// Every way `symbol` derives a prefix of `tokens[pos..]`.
fn parses(grammar: &Grammar, symbol: &str, tokens: &[Token], pos: usize, depth: usize) -> Vec<Parse> {
    let Some(rule) = grammar.productions(symbol).filter(|_| depth <= MAX_DEPTH) else { return Vec::new() };
    let mut found = Vec::new();
    for (production, alternative) in rule.iter().enumerate() {
        let mut states: Vec<Partial> = vec![(pos, Vec::new(), Vec::new())];
        for item in &alternative.items {
            let mut next = Vec::new();
            for (at, expansions, values) in states {
                match item {
                    Item::Terminal { key, value } => {
                        if terminal_matches(tokens.get(at), key, value) {
                            next.push((at + 1, expansions, values));
                        }
                    }
                    Item::Attribute(attr) => {
                        let token = tokens.get(at).filter(|t| t.key == attr.name);
                        if let Some(v) = token.and_then(|t| typed(attr, &t.value)) {
                            let mut values = values;
                            values.push(v);
                            next.push((at + 1, expansions, values));
                        }
                    }
                    Item::NonTerminal(child) => {
                        for (after, child_expansions) in parses(grammar, child, tokens, at, depth + 1) {
                            let mut all = expansions.clone();
                            all.extend(child_expansions);
                            next.push((after, all, values.clone()));
                        }
                    }
                }
            }
            states = next;
        }
        for (at, children, values) in states {
            let mut expansions = vec![(symbol.to_string(), Expansion { production, values })];
            expansions.extend(children);
            found.push((at, expansions));
        }
    }
    found
}

impl Genotype {
    /// The genotype whose derivation of `start` writes exactly `phenotype`'s tokens, or `None`
    /// when the grammar cannot write them (the first derivation found when several can).
    pub fn encode(grammar: &Grammar, start: &str, phenotype: &Phenotype) -> Option<Genotype> {
        let tokens = &phenotype.tokens;
        let (_, expansions) = parses(grammar, start, tokens, 0, 0).into_iter().find(|(at, _)| *at == tokens.len())?;
        let mut genotype = Genotype::default();
        for (symbol, expansion) in expansions {
            genotype.expansions.entry(symbol).or_default().push(expansion);
        }
        Some(genotype)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::grammar::{Bundled, DynamicBounds};

    #[test]
    fn encoding_a_decoded_genotype_writes_the_same_tokens() {
        let grammar = Grammar::bundled(Bundled::Energize).expect("parses");
        let bounds = DynamicBounds::from([("partition_point".to_string(), (0.0, 3.0))]);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for start in ["features", "classification", "softmax", "learning", "model_partition"] {
            for _ in 0..30 {
                let genotype = Genotype::random(&grammar, start, &bounds, &mut rng).expect("expands");
                let phenotype = genotype.decode(&grammar, start).expect("decodes");
                let encoded = Genotype::encode(&grammar, start, &phenotype).expect("encodes");
                assert_eq!(encoded.decode(&grammar, start).expect("decodes"), phenotype, "{phenotype}");
            }
        }
        let text: Phenotype = "layer:conv out_channels:8".parse().expect("tokens");
        assert_eq!(Genotype::encode(&grammar, "features", &text), None, "an incomplete layer");
    }
}
