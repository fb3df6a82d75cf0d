//! Genome settings: which grammar, which modules with which sizes, the output and macro rules,
//! the input shape and the number of classes. Serde-friendly (TOML sections map one to one).
//!
//! [`GenomeConfig::paper`] (the `Default`) follows the reference configuration (REFERENCE.md
//! §6.1); [`GenomeConfig::small`] is sized for a 2-core CPU; [`GenomeConfig::denser`] is the
//! accuracy-only baseline (no `model_partition`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::grammar::Bundled;
use crate::netspec::{Shape, SpecRules};

/// Where the grammar comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrammarChoice {
    /// One of the grammars embedded in the binary.
    Bundled(Bundled),
    /// A grammar file (`--grammar FILE`).
    File(PathBuf),
}

/// One module kind: a run of layers expanded from the grammar symbol `name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleConfig {
    /// The grammar start symbol of its layers (`features`, `classification`).
    pub name: String,
    /// Initial layer counts; one is picked uniformly (`network_structure_init`).
    pub init_sizes: Vec<usize>,
    /// Fewest layers (add/remove-layer bounds, `network_structure[0]`).
    pub min_size: usize,
    /// Most layers (`network_structure[1]`).
    pub max_size: usize,
    /// How many previous layers a layer may read. Only 1 (a sequential network) is supported,
    /// so the reference's per-module `connections` dict is not stored: layer i reads layer i−1.
    #[serde(default = "one")]
    pub levels_back: usize,
}

fn one() -> usize {
    1
}

/// Everything needed to create, decode and map individuals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenomeConfig {
    /// The grammar.
    pub grammar: GrammarChoice,
    /// Module kinds, in network order at initialisation.
    pub modules: Vec<ModuleConfig>,
    /// Start symbol of the output layer.
    pub output: String,
    /// Start symbols of the macro genes (`learning`, `model_partition`).
    pub macros: Vec<String>,
    /// Probability that a new layer at initialisation copies an earlier one of its module.
    pub reuse_layer: f64,
    /// Shape of one input sample.
    pub input: Shape,
    /// Number of classes (the output rule's `out_features` is replaced by this).
    pub classes: usize,
    /// How layers are built and the limits on a buildable network.
    #[serde(default, alias = "limits")]
    pub rules: SpecRules,
}

impl Default for GenomeConfig {
    fn default() -> Self {
        GenomeConfig::paper()
    }
}

impl GenomeConfig {
    /// The reference configuration (`example_config.json`): energize grammar; features init
    /// 1–5 in [0, 50]; classification init 1–5 in [0, 25]; reuse_layer 0.7; macros learning and
    /// model_partition; input 1×32×32 (the reference resizes (Fashion-)MNIST to 32×32); 10 classes.
    pub fn paper() -> Self {
        GenomeConfig {
            grammar: GrammarChoice::Bundled(Bundled::Energize),
            modules: vec![
                ModuleConfig::new("features", &[1, 2, 3, 4, 5], 0, 50),
                ModuleConfig::new("classification", &[1, 2, 3, 4, 5], 0, 25),
            ],
            output: "softmax".into(),
            macros: vec!["learning".into(), "model_partition".into()],
            reuse_layer: 0.7,
            input: Shape::Image { channels: 1, height: 32, width: 32 },
            classes: 10,
            rules: SpecRules::default(),
        }
    }

    /// The accuracy-only baseline: the paper's configuration on `denser.grammar`, macro
    /// `learning` only.
    pub fn denser() -> Self {
        GenomeConfig {
            grammar: GrammarChoice::Bundled(Bundled::Denser),
            macros: vec!["learning".into()],
            ..GenomeConfig::paper()
        }
    }

    /// Sized for a 2-core CPU: `small.grammar`; features init 1–3 in [1, 10]; classification
    /// init 1 in [0, 3]; input 1×28×28 (no resize); at most 2 M parameters.
    pub fn small() -> Self {
        GenomeConfig {
            grammar: GrammarChoice::Bundled(Bundled::Small),
            modules: vec![
                ModuleConfig::new("features", &[1, 2, 3], 1, 10),
                ModuleConfig::new("classification", &[1], 0, 3),
            ],
            input: Shape::Image { channels: 1, height: 28, width: 28 },
            rules: SpecRules { max_params: 2_000_000, ..SpecRules::default() },
            ..GenomeConfig::paper()
        }
    }

    /// The configuration of a module kind.
    pub fn module(&self, name: &str) -> Option<&ModuleConfig> {
        self.modules.iter().find(|m| m.name == name)
    }
}

impl ModuleConfig {
    /// A sequential module kind.
    pub fn new(name: &str, init_sizes: &[usize], min_size: usize, max_size: usize) -> Self {
        ModuleConfig { name: name.into(), init_sizes: init_sizes.to_vec(), min_size, max_size, levels_back: 1 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_round_trip_through_toml() {
        for config in [GenomeConfig::paper(), GenomeConfig::small(), GenomeConfig::denser()] {
            let text = toml::to_string(&config).expect("serialises");
            let back: GenomeConfig = toml::from_str(&text).expect("parses");
            assert_eq!(back, config, "{text}");
        }
        let file = GenomeConfig { grammar: GrammarChoice::File("my.grammar".into()), ..GenomeConfig::small() };
        let text = toml::to_string(&file).expect("serialises");
        assert!(text.contains("my.grammar"), "{text}");
        assert_eq!(toml::from_str::<GenomeConfig>(&text).expect("parses"), file);
    }
}
