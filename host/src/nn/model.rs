//! The two-head network built at run time from a [`NetSpec`], its partitions, and its weights.
//!
//! [`Model::forward_logits`] runs the evolved layers once and returns the main head's logits
//! and, when the network is partitioned, the extra head's logits taken after layer
//! `partition_point` (one training step uses both). [`Model::forward`] applies softmax to both.
//! [`Model::trained`] copies the parameters out as a [`TrainedNet`] (plain vectors, laid out for
//! the ONNX exporter); partitions are cut from that ([`TrainedNet::partition`]).

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};

use super::layers::{BATCH_NORM_EPSILON, Features, Layer, linear};
use crate::netspec::{BatchNormWeights, DenseWeights, LayerWeights, NetSpec, NetWeights, TrainedNet};

/// Outputs of both heads for one batch, `[batch, classes]` each.
#[derive(Debug, Clone)]
pub struct HeadOutputs {
    /// The main head (after the last layer).
    pub main: Tensor<2>,
    /// The extra head (after layer `partition_point`), if the network is partitioned.
    pub extra: Option<Tensor<2>>,
}

/// Why weights could not be read out of the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read the weights of {place}: {message}")]
pub struct ReadWeightsError {
    /// Which layer or head.
    pub place: String,
    /// What the backend said.
    pub message: String,
}

/// A network built from a `NetSpec`: evolved layers, main head, optional extra head.
#[derive(Module, Debug)]
pub struct Model {
    /// The evolved layers, index-aligned with `spec.layers`.
    pub layers: Vec<Layer>,
    /// Main output head (dense; softmax applied in [`Model::forward`]).
    pub output: Linear,
    /// Extra head after layer `partition_point`.
    pub extra_head: Option<Linear>,
    /// The network this model was built from.
    #[module(skip)]
    pub spec: NetSpec,
}

impl Model {
    /// Builds the model with freshly initialised weights on `device` (seed the device first,
    /// `device.seed(n)`, for reproducible weights).
    pub fn new(spec: &NetSpec, device: &Device) -> Model {
        let layers = spec.layers.iter().map(|node| Layer::new(node, device)).collect();
        let output = linear(spec.output.input.elements(), spec.num_classes, true, device);
        let extra_head = spec.extra_head.as_ref().map(|h| linear(h.input.elements(), spec.num_classes, true, device));
        Model { layers, output, extra_head, spec: spec.clone() }
    }

    /// Logits of both heads.
    pub fn forward_logits(&self, input: Features) -> HeadOutputs {
        let mut x = input;
        let mut extra = None;
        for (index, layer) in self.layers.iter().enumerate() {
            x = layer.forward(x);
            if Some(index) == self.spec.partition_point
                && let Some(head) = &self.extra_head
            {
                extra = Some(head.forward(x.clone().flat()));
            }
        }
        HeadOutputs { main: self.output.forward(x.flat()), extra }
    }

    /// Restarts every dropout layer's mask stream from `seed` (layer `i` from a stream of its own
    /// derived from `seed` and `i`).
    pub fn reseed(&self, seed: u64) {
        for (index, layer) in self.layers.iter().enumerate() {
            if let Layer::Dropout(dropout) = layer {
                dropout.reseed(seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            }
        }
    }

    /// Softmax probabilities of both heads (the exported models output these).
    pub fn forward(&self, input: Features) -> HeadOutputs {
        let logits = self.forward_logits(input);
        HeadOutputs { main: softmax(logits.main, 1), extra: logits.extra.map(|e| softmax(e, 1)) }
    }

    /// Copies every parameter out, in the layouts the ONNX exporter expects.
    pub fn weights(&self) -> Result<NetWeights, ReadWeightsError> {
        let layers = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, layer)| layer_weights(layer).map_err(|m| err(format!("layer {i}"), m)))
            .collect::<Result<_, _>>()?;
        let output = dense_weights(&self.output).map_err(|m| err("the output head", m))?;
        let extra_head = match &self.extra_head {
            Some(head) => Some(dense_weights(head).map_err(|m| err("the extra head", m))?),
            None => None,
        };
        Ok(NetWeights { layers, output, extra_head })
    }

    /// The network and a copy of its parameters: what the exporter and the candidate pipeline
    /// work with once training is done.
    pub fn trained(&self) -> Result<TrainedNet, ReadWeightsError> {
        TrainedNet::new(self.spec.clone(), self.weights()?)
            .map_err(|mismatch| err(mismatch.place.clone(), mismatch.to_string()))
    }
}

fn err(place: impl Into<String>, message: String) -> ReadWeightsError {
    ReadWeightsError { place: place.into(), message }
}

/// The values of a tensor, row-major.
pub fn values<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, String> {
    t.into_data().try_to_vec_as::<f32>().map_err(|e| format!("{e:?}"))
}

fn dense_weights(linear: &Linear) -> Result<DenseWeights, String> {
    let weight = values(linear.weight.val())?;
    let bias = linear.bias.as_ref().map(|b| values(b.val())).transpose()?;
    Ok(DenseWeights { weight, bias })
}

fn layer_weights(layer: &Layer) -> Result<LayerWeights, String> {
    Ok(match layer {
        Layer::Conv(c) => LayerWeights::Conv {
            weight: values(c.conv.weight.val())?,
            bias: c.conv.bias.as_ref().map(|b| values(b.val())).transpose()?,
        },
        Layer::Dense(d) => LayerWeights::Dense(dense_weights(&d.linear)?),
        Layer::BatchNorm(bn) => LayerWeights::BatchNorm(BatchNormWeights {
            gamma: values(bn.gamma.val())?,
            beta: values(bn.beta.val())?,
            mean: values(bn.running_mean.value())?,
            var: values(bn.running_var.value())?,
            epsilon: if bn.epsilon > 0.0 { bn.epsilon } else { BATCH_NORM_EPSILON },
        }),
        Layer::Pool(_) | Layer::Dropout(_) => LayerWeights::None,
    })
}
