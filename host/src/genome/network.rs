//! A single network to train outside a search: from a phenotype text (the text `wattevo`
//! writes for an individual), a built-in preset, or a random draw of the small grammar.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::mapping::{IndividualPhenotype, PhenotypeTextError, layer_spec};
use super::{GenomeConfig, GenomeError, Individual, LearningSpec, SearchSpace};
use crate::netspec::{Invalid, LayerSpec, NetSpec, Shape, SpecRules};

/// The known-good small CNN (conv 32 → max pool → conv 64 → max pool → fc 128 → softmax, Adam
/// 1e-3, batch 64) as a phenotype.
pub const CNN_PRESET: &str = "\
[features]
layer:conv out_channels:32 kernel_size:3 stride:1 padding:same act:relu bias:True
layer:pool_max kernel_size:2 stride:2 padding:valid
layer:conv out_channels:64 kernel_size:3 stride:1 padding:same act:relu bias:True
layer:pool_max kernel_size:2 stride:2 padding:valid
[classification]
layer:fc act:relu out_features:128 bias:True
[output]
layer:fc act:softmax out_features:10 bias:True
[learning]
learning:adam lr:0.001 beta1:0.9 beta2:0.999 weight_decay:0 early_stop:10 batch_size:64 epochs:10000
";

/// Layers, learning settings and partition point of a phenotype text.
#[derive(Debug, Clone, PartialEq)]
pub struct PhenotypeNetwork {
    /// The evolved layers in order (output layer excluded).
    pub layers: Vec<LayerSpec>,
    /// The `[learning]` section.
    pub learning: LearningSpec,
    /// The `[model_partition]` section's partition point, if any.
    pub partition: Option<usize>,
}

/// Why a phenotype text does not describe a network.
#[derive(Debug, thiserror::Error)]
pub enum NetworkTextError {
    /// The text is not a phenotype.
    #[error(transparent)]
    Text(#[from] PhenotypeTextError),
    /// A layer or the learning section has values the network cannot use.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// There is no `[learning]` section.
    #[error("no [learning] section")]
    NoLearning,
}

impl PhenotypeNetwork {
    /// Parses a phenotype text.
    pub fn parse(text: &str) -> Result<Self, NetworkTextError> {
        let phenotype: IndividualPhenotype = text.parse()?;
        let layers = phenotype.layers().enumerate().map(|(i, p)| layer_spec(i, p)).collect::<Result<Vec<_>, _>>()?;
        let learning = phenotype.macro_phenotype("learning").ok_or(NetworkTextError::NoLearning)?;
        let learning = LearningSpec::from_phenotype(learning)?;
        let partition = phenotype
            .macro_phenotype("model_partition")
            .and_then(|p| p.get("partition_point"))
            .and_then(|v| v.as_i64())
            .and_then(|k| usize::try_from(k).ok());
        Ok(Self { layers, learning, partition })
    }

    /// The network for `input` and `classes`, with the extra head after layer `partition`
    /// (`None`: the text's own partition point, if any).
    pub fn build(&self, input: Shape, classes: usize, partition: Option<usize>) -> Result<NetSpec, Invalid> {
        NetSpec::build(input, classes, &self.layers, partition.or(self.partition), SpecRules::default())
    }
}

/// Why no random network could be drawn.
#[derive(Debug, thiserror::Error)]
pub enum RandomNetworkError {
    /// The small grammar or the genome settings are unusable.
    #[error(transparent)]
    Genome(#[from] GenomeError),
    /// The partition point does not fit the drawn network.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// No draw was valid.
    #[error("no valid network among {tries} random individuals from seed {seed}")]
    NoneValid {
        /// Draws tried.
        tries: usize,
        /// The seed.
        seed: u64,
    },
}

/// The first valid network drawn from the small grammar with `seed`, for `input` and `classes`,
/// with the extra head moved after layer `partition` when given.
pub fn random_network(
    seed: u64,
    input: Shape,
    classes: usize,
    partition: Option<usize>,
) -> Result<(NetSpec, LearningSpec), RandomNetworkError> {
    const TRIES: usize = 1000;
    let space = SearchSpace::new(GenomeConfig { input, classes, ..GenomeConfig::small() })?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for _ in 0..TRIES {
        let individual = Individual::random(&space, &mut rng)?;
        let (Ok(mut spec), Ok(learning)) = (individual.to_netspec(&space), individual.learning_spec(&space)) else {
            continue;
        };
        if let Some(k) = partition {
            let layers: Vec<_> = spec.layers.iter().map(|n| n.layer.clone()).collect();
            spec = NetSpec::build(spec.input, spec.num_classes, &layers, Some(k), SpecRules::default())?;
        }
        return Ok((spec, learning));
    }
    Err(RandomNetworkError::NoneValid { tries: TRIES, seed })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGITS: Shape = Shape::Image { channels: 1, height: 8, width: 8 };

    #[test]
    fn the_cnn_preset_parses_and_fits_the_digits() {
        let network = PhenotypeNetwork::parse(CNN_PRESET).expect("preset parses");
        assert_eq!(network.layers.len(), 5);
        assert_eq!(network.partition, None);
        let spec = network.build(DIGITS, 10, Some(1)).expect("fits 8×8");
        assert_eq!(spec.partition_point, Some(1));
    }

    #[test]
    fn a_text_without_learning_is_refused() {
        let text = CNN_PRESET.split("[learning]").next().unwrap_or_default();
        assert!(matches!(PhenotypeNetwork::parse(text), Err(NetworkTextError::NoLearning)));
    }

    #[test]
    fn random_networks_depend_on_the_seed_only() {
        let (a, _) = random_network(3, DIGITS, 10, None).expect("draw");
        let (b, _) = random_network(3, DIGITS, 10, None).expect("draw");
        assert_eq!(a, b);
    }
}
