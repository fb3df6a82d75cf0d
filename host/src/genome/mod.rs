//! The individual: ordered modules of layer genotypes, the output layer and the macro genes.
//!
//! Representation (REFERENCE.md §1.1): an [`Individual`] holds [`Module`]s (each a run of layer
//! [`Genotype`]s expanded from the module's grammar symbol, `features` or `classification`),
//! the output layer's genotype (start symbol `softmax`) and one [`MacroGene`] per macro rule
//! (`learning`, `model_partition`). Networks are sequential (levels_back 1): layer i reads
//! layer i−1, so the reference's per-module `connections` dict is not stored.
//!
//! - [`config`]: [`GenomeConfig`] and its presets.
//! - [`init`]: random individuals.
//! - [`mapping`]: phenotype → [`crate::netspec::LayerSpec`]s → [`crate::netspec::NetSpec`].
//! - [`learning`]: the `learning` macro → [`LearningSpec`].
//! - [`seed`]: individuals from phenotype texts (`--init FILE`).
//! - [`ops`]: mutation primitives (add/remove layer, DSGE, macro DSGE, module removal/insertion).
//!
//! Everything takes a [`SearchSpace`] (grammar + config) and, when random, an explicit RNG.
//!
//! Deliberate differences from the reference code: layers copied at initialisation or by
//! add-layer are copies by value (the reference shares them, so one DSGE mutation changed every
//! copy); with a single layer `partition_point` is bounded to `[0, 0]` (the reference widens it
//! to `[0, 1]`, producing an out-of-range point that a forced mutation must then repair);
//! sampled floats are rounded to 6 significant digits (see [`crate::grammar`]).

pub mod config;
pub mod init;
pub mod learning;
pub mod mapping;
pub mod network;
pub mod ops;
pub mod seed;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::grammar::{DynamicBounds, Genotype, GenotypeError, Grammar, GrammarError};

pub use config::{GenomeConfig, GrammarChoice, ModuleConfig};
pub use learning::{LearningSpec, Optimiser};
pub use mapping::{IndividualPhenotype, ModulePhenotype};
pub use ops::{AddLayer, RemoveLayer};

/// The attribute bounded at run time by the number of layers.
pub const PARTITION_POINT: &str = "partition_point";

/// A run of layers expanded from one grammar symbol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Module {
    /// The grammar start symbol of its layers (`features`, `classification`).
    pub name: String,
    /// One genotype per layer, in network order.
    pub layers: Vec<Genotype>,
}

/// A macro gene: a derivation of a macro rule (`learning`, `model_partition`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MacroGene {
    /// The rule's start symbol.
    pub rule: String,
    /// Its derivation.
    pub genotype: Genotype,
}

/// One candidate network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Individual {
    /// Modules in network order.
    pub modules: Vec<Module>,
    /// The output layer.
    pub output: Genotype,
    /// The macro genes, in the config's order.
    pub macros: Vec<MacroGene>,
}

/// A genome that does not fit its grammar or config.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GenomeError {
    /// The grammar did not load.
    #[error(transparent)]
    Grammar(#[from] GrammarError),
    /// The config does not fit the grammar or is inconsistent.
    #[error("genome config: {0}")]
    Config(String),
    /// A genotype does not decode.
    #[error("{place}: {source}")]
    Genotype {
        /// Which gene (`module 0 (features) layer 2`, `output`, `macro learning`).
        place: String,
        /// What is wrong.
        source: GenotypeError,
    },
    /// An index outside the individual.
    #[error("{0}")]
    OutOfRange(String),
}

/// A grammar with the config that says how to use it.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchSpace {
    /// The grammar.
    pub grammar: Grammar,
    /// The genome settings.
    pub config: GenomeConfig,
}

impl SearchSpace {
    /// Loads the config's grammar (bundled or file) and checks the config against it.
    pub fn new(config: GenomeConfig) -> Result<SearchSpace, GenomeError> {
        let grammar = match &config.grammar {
            GrammarChoice::Bundled(which) => Grammar::bundled(*which)?,
            GrammarChoice::File(path) => Grammar::from_file(path)?,
        };
        SearchSpace::with_grammar(config, grammar)
    }

    /// Uses `grammar` (whatever `config.grammar` says) and checks the config against it.
    pub fn with_grammar(config: GenomeConfig, grammar: Grammar) -> Result<SearchSpace, GenomeError> {
        let bad = |msg: String| Err(GenomeError::Config(msg));
        if config.modules.is_empty() {
            return bad("no modules".into());
        }
        let symbols = config.modules.iter().map(|m| &m.name).chain([&config.output]).chain(&config.macros);
        for symbol in symbols {
            if !grammar.has_rule(symbol) {
                return bad(format!("grammar {} has no rule `<{symbol}>`", grammar.source));
            }
        }
        for module in &config.modules {
            let name = &module.name;
            if module.min_size > module.max_size {
                return bad(format!("module {name}: min_size {} > max_size {}", module.min_size, module.max_size));
            }
            if module.init_sizes.is_empty() || module.init_sizes.iter().any(|&n| n > module.max_size) {
                return bad(format!("module {name}: init_sizes must be non-empty and at most max_size"));
            }
            if module.levels_back != 1 || name == &config.output || config.macros.contains(name) {
                return bad(format!("module {name}: levels_back must be 1 and the name not a macro/output rule"));
            }
        }
        if !(0.0..=1.0).contains(&config.reuse_layer) {
            return bad(format!("reuse_layer {} outside [0, 1]", config.reuse_layer));
        }
        Ok(SearchSpace { grammar, config })
    }
}

impl Individual {
    /// Evolved layers in all modules (the output layer excluded).
    pub fn total_layers(&self) -> usize {
        self.modules.iter().map(|m| m.layers.len()).sum()
    }

    /// Run-time bounds: `partition_point ∈ [0, total_layers − 1]` (`[0, 0]` with no layer).
    pub fn dynamic_bounds(&self) -> DynamicBounds {
        let last = self.total_layers().saturating_sub(1) as f64;
        DynamicBounds::from([(PARTITION_POINT.to_string(), (0.0, last))])
    }

    /// The macro gene of `rule`, if the individual has one.
    pub fn macro_gene(&self, rule: &str) -> Option<&MacroGene> {
        self.macros.iter().find(|m| m.rule == rule)
    }
}

fn genotype_error(place: impl Into<String>) -> impl FnOnce(GenotypeError) -> GenomeError {
    let place = place.into();
    move |source| GenomeError::Genotype { place, source }
}
