//! Fast-DENSER grammars and their DSGE genotypes.
//!
//! A grammar is a list of rules `<symbol> ::= alternative | alternative`. An alternative is a
//! sequence of items: a non-terminal `<name>`, a terminal `key:value` (or a bare word such as
//! `+`, copied as is), or a typed attribute `[name,type,count,min,max]` whose value is sampled:
//! `int` uniformly in `[min, max]`, `float` uniformly in `[min, max)` (rounded to 6 significant
//! digits so that genomes round-trip exactly through text and JSON), `int_power2` as `2^e` and
//! `inv_power2` as `1/2^e` with the exponent `e` uniform in `[min, max]` (the reference
//! parser's four types, same names). A bound written `_` is dynamic: it is filled in when the
//! attribute is sampled, from a [`DynamicBounds`] map keyed by the attribute name (this is how
//! `partition_point ∈ [0, layers − 1]` is expressed).
//!
//! - [`parse`]: text → [`Grammar`], with errors that name the file, line and column.
//! - [`genotype`]: the DSGE genotype (chosen productions and attribute values per non-terminal),
//!   random initialisation, repair (lazy expansion of missing codons) and decoding.
//! - [`encode`]: phenotype → genotype ([`Genotype::encode`]), for searches started from text.
//! - [`phenotype`]: the decoded `key:value` token list, printable and parseable.
//! - [`mutation`]: the DSGE mutation of the reference code (REFERENCE.md §1.5).
//!
//! The bundled grammars (`grammars/` at the repository root) are embedded with `include_str!`,
//! so they work from any directory: see [`Bundled`].

pub mod encode;
pub mod genotype;
pub mod mutation;
pub mod parse;
pub mod phenotype;
pub mod text;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use genotype::{Expansion, Genotype, GenotypeError};
pub use mutation::{DsgeMutation, dsge_mutation};
pub use parse::{GrammarError, GrammarErrorKind};
pub use phenotype::{Phenotype, PhenotypeError, Token, Value};

/// Run-time values of `_` bounds, keyed by attribute name: `(min, max)`.
pub type DynamicBounds = BTreeMap<String, (f64, f64)>;

/// The type of an attribute's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttrKind {
    /// Integers, sampled uniformly in `[min, max]` (both inclusive).
    Int,
    /// Floats, sampled uniformly in `[min, max)`.
    Float,
    /// Powers of two `2^e`, the exponent `e` uniform in `[min, max]` (the reference's
    /// `int_power2`).
    IntPower2,
    /// Inverse powers of two `1/2^e`, the exponent `e` uniform in `[min, max]` (the
    /// reference's `inv_power2`).
    InvPower2,
}

/// One bound of an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// A number written in the grammar (integral for `int` attributes).
    Fixed(f64),
    /// `_`: filled in at run time from a [`DynamicBounds`] map.
    Dynamic,
}

/// A typed attribute `[name,kind,count,min,max]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    /// Key of the attribute in the phenotype (`out_channels`).
    pub name: String,
    /// Int or float.
    pub kind: AttrKind,
    /// How many values are sampled (1 in every bundled grammar).
    pub count: usize,
    /// Lower bound.
    pub min: Bound,
    /// Upper bound.
    pub max: Bound,
}

/// One item of an alternative.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Item {
    /// `<name>`: expanded through its rule.
    NonTerminal(String),
    /// `key:value`, copied to the phenotype as is; a bare word (`+`, `X`) has the word as its
    /// key and an empty text value.
    Terminal {
        /// The part before the first `:` (the whole word for a bare terminal).
        key: String,
        /// The part after it (empty text for a bare terminal).
        value: Value,
    },
    /// `[name,kind,count,min,max]`: a sampled value, written `name:value` in the phenotype.
    Attribute(Attribute),
}

/// One alternative of a rule: a sequence of items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Production {
    /// The items in order.
    pub items: Vec<Item>,
}

impl Production {
    /// The attributes of this production, in order.
    pub fn attributes(&self) -> impl Iterator<Item = &Attribute> {
        self.items.iter().filter_map(|item| match item {
            Item::Attribute(attr) => Some(attr),
            _ => None,
        })
    }
}

/// A parsed grammar: non-terminal → its alternatives, in file order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grammar {
    /// Where the grammar came from (file path or `bundled:<name>`), for messages.
    pub source: String,
    /// The rules, keyed by non-terminal name (without `<>`).
    pub rules: BTreeMap<String, Vec<Production>>,
}

impl Grammar {
    /// The alternatives of `symbol`, if it has a rule.
    pub fn productions(&self, symbol: &str) -> Option<&[Production]> {
        self.rules.get(symbol).map(Vec::as_slice)
    }

    /// True if `symbol` has a rule.
    pub fn has_rule(&self, symbol: &str) -> bool {
        self.rules.contains_key(symbol)
    }

    /// Loads one of the grammars embedded in the binary.
    pub fn bundled(which: Bundled) -> Result<Grammar, GrammarError> {
        parse::parse(which.text(), &format!("bundled:{}", which.file_name()))
    }

    /// Reads and parses a grammar file.
    pub fn from_file(path: &std::path::Path) -> Result<Grammar, GrammarError> {
        let text = std::fs::read_to_string(path).map_err(|err| GrammarError::io(path, &err))?;
        parse::parse(&text, &path.display().to_string())
    }
}

/// The grammars shipped with wattevo (the files in `grammars/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bundled {
    /// The paper's search space, verbatim (`energize.grammar`).
    Energize,
    /// The paper's space without `model_partition`: the accuracy-only DENSER baseline.
    Denser,
    /// A smaller space sized for a 2-core CPU (`small.grammar`).
    Small,
}

impl Bundled {
    /// All bundled grammars.
    pub const ALL: [Bundled; 3] = [Bundled::Energize, Bundled::Denser, Bundled::Small];

    /// The grammar's text.
    pub fn text(self) -> &'static str {
        match self {
            Bundled::Energize => include_str!("../../../grammars/energize.grammar"),
            Bundled::Denser => include_str!("../../../grammars/denser.grammar"),
            Bundled::Small => include_str!("../../../grammars/small.grammar"),
        }
    }

    /// The file name under `grammars/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Bundled::Energize => "energize.grammar",
            Bundled::Denser => "denser.grammar",
            Bundled::Small => "small.grammar",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_grammars_parse() {
        for which in Bundled::ALL {
            let grammar = Grammar::bundled(which).expect("bundled grammar parses");
            for symbol in ["features", "classification", "softmax", "learning"] {
                assert!(grammar.has_rule(symbol), "{which:?} lacks <{symbol}>");
            }
            assert_eq!(grammar.has_rule("model_partition"), which != Bundled::Denser);
        }
        let paper = Grammar::bundled(Bundled::Energize).expect("parses");
        assert_eq!(paper.productions("features").map(<[_]>::len), Some(6));
        let conv = &paper.productions("convolution").expect("conv")[0];
        let filters = conv.attributes().next().expect("an attribute");
        assert_eq!(filters.name, "out_channels");
        assert_eq!((filters.min, filters.max), (Bound::Fixed(32.0), Bound::Fixed(256.0)));
    }
}
