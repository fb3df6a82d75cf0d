//! [`TrainedNet`]: a network and its weights, checked to fit each other, travelling together.
//!
//! Training produces one ([`crate::nn::Model::trained`]), the exporter reads one
//! ([`crate::onnx::export_network`]), and [`TrainedNet::partition`] is the one place where a
//! partitioned network is cut into its two deployable models.

use serde::{Deserialize, Serialize};

use super::{NetSpec, NetWeights, Partition, WeightsMismatch};

/// A checked network with weights that fit it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainedNet {
    spec: NetSpec,
    weights: NetWeights,
}

impl TrainedNet {
    /// Pairs a network with its weights, checking that every tensor has the size its layer needs.
    pub fn new(spec: NetSpec, weights: NetWeights) -> Result<Self, WeightsMismatch> {
        weights.check(&spec)?;
        Ok(Self { spec, weights })
    }

    /// The network with untrained weights drawn from `seed` alone ([`NetWeights::seeded`]).
    pub fn seeded(spec: NetSpec, seed: u64) -> Self {
        let weights = NetWeights::seeded(&spec, seed);
        Self { spec, weights }
    }

    /// The network.
    pub fn spec(&self) -> &NetSpec {
        &self.spec
    }

    /// Its weights, index-aligned with the spec's layers.
    pub fn weights(&self) -> &NetWeights {
        &self.weights
    }

    /// The partitions this network deploys as, in index order: partition 0 (`Full`), then
    /// partition 1 (`Early`) when the network has a partition point.
    pub fn partitions(&self) -> Vec<Partition> {
        match self.spec.partition_point {
            Some(_) => vec![Partition::Full, Partition::Early],
            None => vec![Partition::Full],
        }
    }

    /// The single-head network of one partition with its weights: partition 0 is the network
    /// without its extra head; partition 1 is layers `0..=partition_point` with the extra head as
    /// its output. `None` when `Early` is asked of a network without a partition point.
    pub fn partition(&self, which: Partition) -> Option<TrainedNet> {
        let spec = self.spec.partition(which)?;
        let (layers, output) = match which {
            Partition::Full => (self.weights.layers.clone(), self.weights.output.clone()),
            Partition::Early => {
                let k = self.spec.partition_point?;
                (self.weights.layers.get(..=k)?.to_vec(), self.weights.extra_head.clone()?)
            }
        };
        Some(TrainedNet { spec, weights: NetWeights { layers, output, extra_head: None } })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netspec::{Activation, LayerSpec, Shape, SpecRules};

    fn spec(partition: Option<usize>) -> NetSpec {
        let conv = |out| LayerSpec::test_conv(out);
        let layers = [conv(4), conv(6), LayerSpec::Dense { out_features: 8, activation: Activation::Relu, bias: true }];
        let input = Shape::Image { channels: 1, height: 6, width: 6 };
        NetSpec::build(input, 3, &layers, partition, SpecRules::default()).expect("valid network")
    }

    #[test]
    fn mismatched_weights_are_refused() {
        let weights = NetWeights::seeded(&spec(None), 1);
        let err = TrainedNet::new(spec(Some(0)), weights).expect_err("no extra head weights");
        assert!(err.to_string().contains("extra head"), "{err}");
    }

    #[test]
    fn partitions_carry_the_weights_of_their_layers() {
        let net = TrainedNet::seeded(spec(Some(0)), 4);
        assert_eq!(net.partitions(), vec![Partition::Full, Partition::Early]);
        let full = net.partition(Partition::Full).expect("partition 0");
        assert_eq!(full.weights().layers, net.weights().layers);
        assert_eq!(&full.weights().output, &net.weights().output);
        let early = net.partition(Partition::Early).expect("partition 1");
        assert_eq!(early.spec().layers.len(), 1);
        assert_eq!(early.weights().layers[..], net.weights().layers[..1]);
        assert_eq!(Some(&early.weights().output), net.weights().extra_head.as_ref());
        early.weights().check(early.spec()).expect("partition 1 weights fit partition 1");
        full.weights().check(full.spec()).expect("partition 0 weights fit partition 0");
    }

    #[test]
    fn an_unpartitioned_network_has_only_partition_zero() {
        let net = TrainedNet::seeded(spec(None), 5);
        assert_eq!(net.partitions(), vec![Partition::Full]);
        assert!(net.partition(Partition::Early).is_none());
    }
}
