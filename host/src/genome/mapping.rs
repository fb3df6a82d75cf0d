//! Individual → phenotype → [`LayerSpec`]s → [`NetSpec`] (REFERENCE.md §1.3).
//!
//! Layer phenotypes: `layer:conv out_channels kernel_size stride padding act bias`,
//! `layer:pool_avg|pool_max kernel_size stride padding`, `layer:batch_norm`,
//! `layer:dropout rate`, `layer:fc act out_features bias`. The output rule must be
//! `layer:fc act:softmax ...`; its width is the config's `classes`. Anything that does not map
//! (an unknown layer, a missing key, a bad shape) is an [`Invalid`] outcome, never a panic.
//!
//! The text form of an [`IndividualPhenotype`] is one section per gene: `[features]` followed by
//! one line per layer (an empty module is a header alone), `[output]` and its line, then
//! `[<macro rule>]` and its line for each macro. It parses back to the same value.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{GenomeError, Individual, LearningSpec, Module, PARTITION_POINT, SearchSpace, genotype_error};
use crate::grammar::{Phenotype, PhenotypeError, Value};
use crate::netspec::{Activation, Invalid, LayerSpec, NetSpec, Padding, PoolKind};

/// The layers of one module, decoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModulePhenotype {
    /// Module name.
    pub name: String,
    /// One phenotype per layer.
    pub layers: Vec<Phenotype>,
}

/// A whole individual, decoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndividualPhenotype {
    /// Modules in order.
    pub modules: Vec<ModulePhenotype>,
    /// The output layer.
    pub output: Phenotype,
    /// `(rule, phenotype)` per macro gene.
    pub macros: Vec<(String, Phenotype)>,
}

impl IndividualPhenotype {
    /// All layer phenotypes in network order.
    pub fn layers(&self) -> impl Iterator<Item = &Phenotype> {
        self.modules.iter().flat_map(|m| &m.layers)
    }

    /// The phenotype of macro `rule`.
    pub fn macro_phenotype(&self, rule: &str) -> Option<&Phenotype> {
        self.macros.iter().find(|(r, _)| r == rule).map(|(_, p)| p)
    }
}

impl fmt::Display for IndividualPhenotype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for module in &self.modules {
            writeln!(f, "[{}]", module.name)?;
            for layer in &module.layers {
                writeln!(f, "{layer}")?;
            }
        }
        writeln!(f, "[output]\n{}", self.output)?;
        for (rule, phenotype) in &self.macros {
            writeln!(f, "[{rule}]\n{phenotype}")?;
        }
        Ok(())
    }
}

/// Why a phenotype text does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhenotypeTextError {
    /// A token is not `key:value`.
    #[error("line {line}: {source}")]
    Token {
        /// 1-based line.
        line: usize,
        /// The bad token.
        source: PhenotypeError,
    },
    /// The sections are not modules, `[output]`, then one-line macros.
    #[error("line {line}: {problem}")]
    Layout {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        problem: String,
    },
}

impl FromStr for IndividualPhenotype {
    type Err = PhenotypeTextError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let layout = |line: usize, problem: &str| PhenotypeTextError::Layout { line, problem: problem.into() };
        let mut sections: Vec<(String, Vec<Phenotype>)> = Vec::new();
        for (index, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let line_no = index + 1;
            if let Some(name) = line.trim().strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                sections.push((name.to_string(), Vec::new()));
                continue;
            }
            let phenotype = line.parse().map_err(|source| PhenotypeTextError::Token { line: line_no, source })?;
            let section = sections.last_mut().ok_or_else(|| layout(line_no, "a layer before any `[section]`"))?;
            section.1.push(phenotype);
        }
        let end = text.lines().count();
        let output_at = sections.iter().position(|(n, _)| n == "output").ok_or_else(|| layout(end, "no [output]"))?;
        let mut rest = sections.split_off(output_at).into_iter();
        let single = |(name, mut lines): (String, Vec<Phenotype>)| match lines.len() {
            1 => Ok((name, lines.remove(0))),
            _ => Err(layout(end, &format!("section [{name}] must have exactly one line"))),
        };
        let output = rest.next().map(single).ok_or_else(|| layout(end, "no [output]"))??.1;
        let macros = rest.map(single).collect::<Result<_, _>>()?;
        let modules = sections.into_iter().map(|(name, layers)| ModulePhenotype { name, layers }).collect();
        Ok(IndividualPhenotype { modules, output, macros })
    }
}

impl Module {
    /// Decodes the module's layers.
    pub fn phenotype(&self, space: &SearchSpace) -> Result<ModulePhenotype, GenomeError> {
        let mut layers = Vec::with_capacity(self.layers.len());
        for (l, layer) in self.layers.iter().enumerate() {
            let place = format!("module {} layer {l}", self.name);
            layers.push(layer.decode(&space.grammar, &self.name).map_err(genotype_error(place))?);
        }
        Ok(ModulePhenotype { name: self.name.clone(), layers })
    }

    /// The module's layers as [`LayerSpec`]s (indices in errors count from the module's start),
    /// e.g. to build and measure the module alone with [`NetSpec::build`].
    pub fn layer_specs(&self, space: &SearchSpace) -> Result<Vec<LayerSpec>, Invalid> {
        let phenotype = self.phenotype(space).map_err(undecodable)?;
        phenotype.layers.iter().enumerate().map(|(i, p)| layer_spec(i, p)).collect()
    }
}

impl Individual {
    /// Decodes every gene.
    pub fn phenotype(&self, space: &SearchSpace) -> Result<IndividualPhenotype, GenomeError> {
        let grammar = &space.grammar;
        let modules = self.modules.iter().map(|m| m.phenotype(space)).collect::<Result<_, _>>()?;
        let output = self.output.decode(grammar, &space.config.output).map_err(genotype_error("output"))?;
        let mut macros = Vec::with_capacity(self.macros.len());
        for gene in &self.macros {
            let phenotype =
                gene.genotype.decode(grammar, &gene.rule).map_err(genotype_error(format!("macro {}", gene.rule)))?;
            macros.push((gene.rule.clone(), phenotype));
        }
        Ok(IndividualPhenotype { modules, output, macros })
    }

    /// The evolved layers as [`LayerSpec`]s (output head excluded).
    pub fn layer_specs(&self, space: &SearchSpace) -> Result<Vec<LayerSpec>, Invalid> {
        let phenotype = self.phenotype(space).map_err(undecodable)?;
        phenotype.layers().enumerate().map(|(i, p)| layer_spec(i, p)).collect()
    }

    /// The `partition_point` gene, if the individual has one (checked against the layer count
    /// by [`NetSpec::build`]).
    pub fn partition_point(&self, space: &SearchSpace) -> Result<Option<usize>, Invalid> {
        let phenotype = self.phenotype(space).map_err(undecodable)?;
        partition_point(&phenotype)
    }

    /// True when `partition_point` (if any) names an existing layer; false means the macro DSGE
    /// mutation must be forced (REFERENCE.md §1.5).
    pub fn partition_point_fits(&self, space: &SearchSpace) -> bool {
        match self.partition_point(space) {
            Ok(Some(k)) => k < self.total_layers(),
            Ok(None) => true,
            Err(_) => false,
        }
    }

    /// The checked network (two heads when partitioned), or why it cannot be built.
    pub fn to_netspec(&self, space: &SearchSpace) -> Result<NetSpec, Invalid> {
        let phenotype = self.phenotype(space).map_err(undecodable)?;
        check_output(&phenotype.output)?;
        let layers = phenotype.layers().enumerate().map(|(i, p)| layer_spec(i, p)).collect::<Result<Vec<_>, _>>()?;
        let config = &space.config;
        NetSpec::build(config.input, config.classes, &layers, partition_point(&phenotype)?, config.rules)
    }

    /// The training settings from the `learning` macro.
    pub fn learning_spec(&self, space: &SearchSpace) -> Result<LearningSpec, Invalid> {
        let phenotype = self.phenotype(space).map_err(undecodable)?;
        let learning = phenotype.macro_phenotype("learning").ok_or_else(|| whole("no `learning` macro gene"))?;
        LearningSpec::from_phenotype(learning)
    }
}

fn whole(reason: impl Into<String>) -> Invalid {
    Invalid { layer: usize::MAX, reason: reason.into() }
}

fn undecodable(err: GenomeError) -> Invalid {
    whole(format!("genotype does not decode: {err}"))
}

fn partition_point(phenotype: &IndividualPhenotype) -> Result<Option<usize>, Invalid> {
    let Some(value) = phenotype.macros.iter().find_map(|(_, p)| p.get(PARTITION_POINT)) else {
        return Ok(None);
    };
    let k = value.as_i64().and_then(|k| usize::try_from(k).ok());
    k.map(Some).ok_or_else(|| whole(format!("partition_point `{value}` is not a layer index")))
}

fn check_output(output: &Phenotype) -> Result<(), Invalid> {
    let is = |key: &str, want: &str| output.get(key).and_then(Value::as_text) == Some(want);
    if is("layer", "fc") && is("act", "softmax") {
        Ok(())
    } else {
        Err(whole(format!("the output layer `{output}` is not `layer:fc act:softmax`")))
    }
}

/// One layer phenotype → [`LayerSpec`]; `index` is its place in the evolved layer list.
pub fn layer_spec(index: usize, p: &Phenotype) -> Result<LayerSpec, Invalid> {
    let fail = |reason: String| Invalid { layer: index, reason };
    let text = |key: &str| p.get(key).and_then(Value::as_text).ok_or_else(|| fail(format!("`{p}`: no `{key}`")));
    let size = |key: &str| {
        p.get(key)
            .and_then(Value::as_i64)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| fail(format!("`{p}`: `{key}` is not a non-negative integer")))
    };
    let padding = || -> Result<Padding, Invalid> {
        match text("padding")? {
            "same" => Ok(Padding::Same),
            "valid" => Ok(Padding::Valid),
            other => Err(fail(format!("unknown padding `{other}`"))),
        }
    };
    let activation = || -> Result<Activation, Invalid> {
        match text("act")? {
            "linear" => Ok(Activation::Linear),
            "relu" => Ok(Activation::Relu),
            "sigmoid" => Ok(Activation::Sigmoid),
            other => Err(fail(format!("unknown activation `{other}` for an evolved layer"))),
        }
    };
    let bias = || -> Result<bool, Invalid> {
        match text("bias")? {
            "True" => Ok(true),
            "False" => Ok(false),
            other => Err(fail(format!("bias `{other}` is not True/False"))),
        }
    };
    let pool = |kind: PoolKind| -> Result<LayerSpec, Invalid> {
        Ok(LayerSpec::Pool { kind, kernel: size("kernel_size")?, stride: size("stride")?, padding: padding()? })
    };
    match text("layer")? {
        "conv" => Ok(LayerSpec::Conv {
            out_channels: size("out_channels")?,
            kernel: size("kernel_size")?,
            stride: size("stride")?,
            padding: padding()?,
            activation: activation()?,
            bias: bias()?,
        }),
        "pool_avg" => pool(PoolKind::Avg),
        "pool_max" => pool(PoolKind::Max),
        "batch_norm" => Ok(LayerSpec::BatchNorm),
        "dropout" => {
            let rate =
                p.get("rate").and_then(Value::as_f64).ok_or_else(|| fail(format!("`{p}`: no numeric `rate`")))?;
            Ok(LayerSpec::Dropout { rate })
        }
        "fc" => Ok(LayerSpec::Dense { out_features: size("out_features")?, activation: activation()?, bias: bias()? }),
        other => Err(fail(format!("unknown layer type `{other}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genome::GenomeConfig;
    use crate::grammar::Genotype;

    fn spec(text: &str) -> Result<LayerSpec, Invalid> {
        layer_spec(3, &text.parse().expect("phenotype parses"))
    }

    #[test]
    fn every_layer_kind_maps() {
        let conv = spec("layer:conv out_channels:32 kernel_size:3 stride:2 padding:valid act:relu bias:False");
        let want = LayerSpec::Conv {
            out_channels: 32,
            kernel: 3,
            stride: 2,
            padding: Padding::Valid,
            activation: Activation::Relu,
            bias: false,
        };
        assert_eq!(conv, Ok(want));
        let pool = spec("layer:pool_avg kernel_size:2 stride:1 padding:same");
        assert_eq!(pool, Ok(LayerSpec::Pool { kind: PoolKind::Avg, kernel: 2, stride: 1, padding: Padding::Same }));
        assert!(matches!(spec("layer:pool_max kernel_size:2 stride:1 padding:valid"), Ok(LayerSpec::Pool { .. })));
        assert_eq!(spec("layer:batch_norm"), Ok(LayerSpec::BatchNorm));
        assert_eq!(spec("layer:dropout rate:0.25"), Ok(LayerSpec::Dropout { rate: 0.25 }));
        let fc = spec("layer:fc act:sigmoid out_features:128 bias:True");
        assert_eq!(fc, Ok(LayerSpec::Dense { out_features: 128, activation: Activation::Sigmoid, bias: true }));
    }

    #[test]
    fn unmappable_layers_are_invalid_with_a_reason() {
        for (text, needle) in [
            ("layer:lstm units:3", "unknown layer type `lstm`"),
            ("layer:conv out_channels:-4 kernel_size:3 stride:1 padding:same act:relu bias:True", "out_channels"),
            ("layer:conv out_channels:4 kernel_size:3 stride:1 padding:full act:relu bias:True", "padding `full`"),
            ("layer:fc act:softmax out_features:10 bias:True", "activation `softmax`"),
            ("layer:fc act:relu out_features:10 bias:yes", "bias `yes`"),
            ("out_features:10", "no `layer`"),
        ] {
            let err = spec(text).expect_err(text);
            assert_eq!(err.layer, 3);
            assert!(err.reason.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn a_wrong_output_rule_or_gene_is_invalid() {
        let text = crate::grammar::Bundled::Small.text().replace("act:softmax", "act:relu");
        let grammar = crate::grammar::parse::parse(&text, "relu-output.grammar").expect("parses");
        let space = SearchSpace::with_grammar(GenomeConfig::small(), grammar).expect("space");
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(6);
        let mut ind = Individual::random(&space, &mut rng).expect("random");
        let err = ind.to_netspec(&space).expect_err("the output must be fc softmax");
        assert!(err.reason.contains("is not `layer:fc act:softmax`"), "{err}");
        ind.output = Genotype::default();
        let err = ind.to_netspec(&space).expect_err("an empty output gene does not decode");
        assert!(err.reason.contains("does not decode"), "{err}");
    }

    #[test]
    fn phenotype_text_layout_is_checked() {
        let text = "[features]\nlayer:batch_norm\n[classification]\n[output]\nlayer:fc act:softmax\n[learning]\nk:v\n";
        let phenotype: IndividualPhenotype = text.parse().expect("parses");
        assert_eq!(phenotype.modules.len(), 2);
        assert!(phenotype.modules[1].layers.is_empty());
        assert_eq!(phenotype.to_string(), text);
        let no_output = "[features]\nlayer:batch_norm\n".parse::<IndividualPhenotype>();
        assert!(matches!(no_output, Err(PhenotypeTextError::Layout { .. })));
        let two_lines = "[output]\nlayer:fc\n[learning]\na:1\nb:2\n".parse::<IndividualPhenotype>();
        assert!(matches!(two_lines, Err(PhenotypeTextError::Layout { .. })));
        let orphan = "layer:fc\n[output]\nlayer:fc\n".parse::<IndividualPhenotype>();
        assert!(matches!(orphan, Err(PhenotypeTextError::Layout { line: 1, .. })));
    }
}
