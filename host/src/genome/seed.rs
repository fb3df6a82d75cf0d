//! Individuals from phenotype texts: a search that starts from networks an engineer already
//! has (`--init FILE`, "make this cheaper").
//!
//! Each section of the text is encoded back into a genotype of the space's grammar
//! ([`Genotype::encode`]): `[<module>]` sections become modules (their names must be module
//! symbols of the space), `[output]` the output layer, `[<macro>]` the macro genes. A macro the
//! text does not have (a network without `[model_partition]`) is drawn at random, and an
//! out-of-range `partition_point` is redrawn, both from the given RNG. A file may hold several
//! phenotypes, each starting with the first module's header after an earlier one's sections.

use rand::Rng;

use super::mapping::IndividualPhenotype;
use super::{GenomeError, Individual, MacroGene, Module, SearchSpace, genotype_error};
use crate::grammar::Genotype;

/// Splits a file into phenotype texts: a new one starts at a module header (`[features]`)
/// that follows an `[output]` or macro section.
pub fn split_phenotypes(text: &str, space: &SearchSpace) -> Vec<String> {
    let is_module = |name: &str| space.config.modules.iter().any(|m| m.name == name);
    let (mut texts, mut current, mut past_modules) = (Vec::new(), String::new(), false);
    for line in text.lines() {
        let header = line.trim().strip_prefix('[').and_then(|l| l.strip_suffix(']'));
        if let Some(name) = header {
            if is_module(name) && past_modules {
                texts.push(std::mem::take(&mut current));
                past_modules = false;
            }
            past_modules |= !is_module(name);
        }
        current.push_str(line);
        current.push('\n');
    }
    if !current.trim().is_empty() {
        texts.push(current);
    }
    texts
}

impl Individual {
    /// The individual whose phenotype is `text` (see the module docs).
    pub fn from_phenotype_text(space: &SearchSpace, text: &str, rng: &mut impl Rng) -> Result<Individual, GenomeError> {
        let phenotype: IndividualPhenotype = text.parse().map_err(|e| GenomeError::Config(format!("{e}")))?;
        let grammar = &space.grammar;
        let encode = |symbol: &str, p, place: String| {
            Genotype::encode(grammar, symbol, p)
                .ok_or_else(|| GenomeError::Config(format!("{place}: `{p}` is not a derivation of <{symbol}>")))
        };
        let mut modules = Vec::new();
        for (m, module) in phenotype.modules.iter().enumerate() {
            if space.config.module(&module.name).is_none() {
                return Err(GenomeError::Config(format!("[{}] is not a module of this search space", module.name)));
            }
            let layers = module
                .layers
                .iter()
                .enumerate()
                .map(|(l, p)| encode(&module.name, p, format!("module {m} ({}) layer {l}", module.name)))
                .collect::<Result<_, _>>()?;
            modules.push(Module { name: module.name.clone(), layers });
        }
        let output = encode(&space.config.output, &phenotype.output, "output".into())?;
        let mut individual = Individual { modules, output, macros: Vec::new() };
        for rule in &space.config.macros {
            let genotype = match phenotype.macro_phenotype(rule) {
                Some(p) => encode(rule, p, format!("macro {rule}"))?,
                None => Genotype::random(grammar, rule, &individual.dynamic_bounds(), rng)
                    .map_err(genotype_error(format!("macro {rule}")))?,
            };
            individual.macros.push(MacroGene { rule: rule.clone(), genotype });
        }
        if !individual.partition_point_fits(space)
            && let Some(index) = individual.macros.iter().position(|m| m.rule == "model_partition")
        {
            individual.macro_dsge(space, index, rng)?;
        }
        Ok(individual)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::genome::GenomeConfig;
    use crate::genome::network::CNN_PRESET;

    #[test]
    fn the_cnn_preset_becomes_an_individual_with_the_same_phenotype() {
        let space = SearchSpace::new(GenomeConfig::small()).expect("space");
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let two = format!("{CNN_PRESET}{CNN_PRESET}");
        let texts = split_phenotypes(&two, &space);
        assert_eq!(texts.len(), 2);
        let individual = Individual::from_phenotype_text(&space, &texts[1], &mut rng).expect("encodes");
        let phenotype = individual.phenotype(&space).expect("decodes");
        let written = phenotype.to_string();
        assert!(written.starts_with(CNN_PRESET.split("[learning]").next().unwrap_or_default()), "{written}");
        let preset = crate::genome::network::PhenotypeNetwork::parse(CNN_PRESET).expect("preset");
        assert_eq!(individual.learning_spec(&space).expect("learning"), preset.learning);
        assert!(individual.partition_point_fits(&space));
        assert!(Individual::from_phenotype_text(&space, "[features]\nlayer:nope\n[output]\n", &mut rng).is_err());
    }
}
