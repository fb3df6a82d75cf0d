//! Backend-independent weights of a network, the exporter's input.
//!
//! The burn model ([`crate::nn::Model::weights`]) copies its parameters into these plain `f32`
//! vectors, laid out as ONNX wants them, so the exporter never touches a burn tensor:
//! - conv weight `[out_channels, in_channels, kernel, kernel]` (burn's and ONNX's layout);
//! - dense weight `[in_features, out_features]` (burn's `Linear` layout; ONNX `Gemm` with
//!   `transB = 0`), features of an image input in channel-major (C, H, W) order;
//! - batch norm: `gamma`, `beta`, running mean and variance per channel, and epsilon.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{LayerNode, LayerSpec, NetSpec};

/// Weights of a dense layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DenseWeights {
    /// `[in_features, out_features]`, row-major.
    pub weight: Vec<f32>,
    /// `[out_features]`, if the layer has a bias.
    pub bias: Option<Vec<f32>>,
}

/// Parameters and running statistics of a batch normalisation layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchNormWeights {
    /// Scale per channel.
    pub gamma: Vec<f32>,
    /// Shift per channel.
    pub beta: Vec<f32>,
    /// Running mean per channel.
    pub mean: Vec<f32>,
    /// Running variance per channel.
    pub var: Vec<f32>,
    /// Added to the variance before the square root.
    pub epsilon: f64,
}

impl BatchNormWeights {
    /// The layer as a per-channel affine map `x ↦ scale·x + shift` (inference form).
    pub fn affine(&self) -> (Vec<f32>, Vec<f32>) {
        let scale: Vec<f32> = self
            .gamma
            .iter()
            .zip(&self.var)
            .map(|(&g, &v)| (f64::from(g) / (f64::from(v) + self.epsilon).sqrt()) as f32)
            .collect();
        let shift = self.beta.iter().zip(&self.mean).zip(&scale).map(|((&b, &m), &s)| b - m * s).collect();
        (scale, shift)
    }
}

/// Weights of one evolved layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LayerWeights {
    /// Convolution: weight `[out, in, k, k]` and optional bias `[out]`.
    Conv {
        /// Kernel, row-major `[out, in, k, k]`.
        weight: Vec<f32>,
        /// Bias per output channel.
        bias: Option<Vec<f32>>,
    },
    /// Fully connected layer.
    Dense(DenseWeights),
    /// Batch normalisation.
    BatchNorm(BatchNormWeights),
    /// A layer without parameters (pool, dropout).
    None,
}

/// Weights of a whole network, index-aligned with [`NetSpec::layers`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetWeights {
    /// One entry per evolved layer.
    pub layers: Vec<LayerWeights>,
    /// The main output head.
    pub output: DenseWeights,
    /// The extra head, when the network is partitioned.
    pub extra_head: Option<DenseWeights>,
}

/// Why weights do not fit a `NetSpec`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("weights do not match the network at {place}: {reason}")]
pub struct WeightsMismatch {
    /// Which layer or head (`layer 3`, `output head`, ...).
    pub place: String,
    /// What is wrong.
    pub reason: String,
}

fn mismatch(place: impl Into<String>, reason: impl Into<String>) -> WeightsMismatch {
    WeightsMismatch { place: place.into(), reason: reason.into() }
}

fn check_len(place: &str, what: &str, got: usize, want: usize) -> Result<(), WeightsMismatch> {
    if got == want { Ok(()) } else { Err(mismatch(place, format!("{what} has {got} values, expected {want}"))) }
}

fn check_dense(
    place: &str,
    w: &DenseWeights,
    inputs: usize,
    outputs: usize,
    bias: bool,
) -> Result<(), WeightsMismatch> {
    check_len(place, "weight", w.weight.len(), inputs * outputs)?;
    match (&w.bias, bias) {
        (Some(b), true) => check_len(place, "bias", b.len(), outputs),
        (None, false) => Ok(()),
        (Some(_), false) => Err(mismatch(place, "bias given for a layer without bias")),
        (None, true) => Err(mismatch(place, "bias missing")),
    }
}

impl NetWeights {
    /// Checks that every tensor has the size the layer needs.
    pub fn check(&self, spec: &NetSpec) -> Result<(), WeightsMismatch> {
        check_len("network", "layer list", self.layers.len(), spec.layers.len())?;
        for (index, (node, weights)) in spec.layers.iter().zip(&self.layers).enumerate() {
            let place = format!("layer {index}");
            let in_ch = node.input.dims()[0];
            match (&node.layer, weights) {
                (&LayerSpec::Conv { out_channels, kernel, bias, .. }, LayerWeights::Conv { weight, bias: b }) => {
                    check_len(&place, "weight", weight.len(), out_channels * in_ch * kernel * kernel)?;
                    match (b, bias) {
                        (Some(b), true) => check_len(&place, "bias", b.len(), out_channels)?,
                        (None, false) => {}
                        _ => return Err(mismatch(&place, "bias presence differs from the layer's")),
                    }
                }
                (&LayerSpec::Dense { out_features, bias, .. }, LayerWeights::Dense(w)) => {
                    check_dense(&place, w, node.input.elements(), out_features, bias)?;
                }
                (LayerSpec::BatchNorm, LayerWeights::BatchNorm(bn)) => {
                    for (what, v) in [("gamma", &bn.gamma), ("beta", &bn.beta), ("mean", &bn.mean), ("var", &bn.var)] {
                        check_len(&place, what, v.len(), in_ch)?;
                    }
                }
                (LayerSpec::Pool { .. } | LayerSpec::Dropout { .. }, LayerWeights::None) => {}
                (layer, _) => return Err(mismatch(&place, format!("weights of another kind for {layer:?}"))),
            }
        }
        check_dense("output head", &self.output, spec.output.input.elements(), spec.num_classes, true)?;
        match (&spec.extra_head, &self.extra_head) {
            (Some(node), Some(w)) => check_dense("extra head", w, node.input.elements(), spec.num_classes, true),
            (None, None) => Ok(()),
            _ => Err(mismatch("extra head", "present in only one of the network and the weights")),
        }
    }

    /// Untrained weights for `spec`, drawn from `seed` alone (no global RNG, so the same seed
    /// gives the same bytes in any thread): weights and biases uniform in ±1/√fan-in (PyTorch's
    /// default bound), batch norm near identity. For exporting a network that was not trained:
    /// profiling an architecture's power, tests.
    pub fn seeded(spec: &NetSpec, seed: u64) -> NetWeights {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut uniform = |n: usize, bound: f32| (0..n).map(|_| rng.random_range(-bound..bound)).collect::<Vec<_>>();
        let mut dense = |fan_in: usize, out: usize, bias: bool| {
            let bound = 1.0 / (fan_in as f32).sqrt();
            DenseWeights { weight: uniform(fan_in * out, bound), bias: bias.then(|| uniform(out, bound)) }
        };
        let mut layers = Vec::with_capacity(spec.layers.len());
        for node in &spec.layers {
            let in_channels = node.input.dims()[0];
            layers.push(match node.layer {
                LayerSpec::Conv { out_channels, kernel, bias, .. } => {
                    let fan_in = in_channels * kernel * kernel;
                    let DenseWeights { weight, bias } = dense(fan_in, out_channels, bias);
                    LayerWeights::Conv { weight, bias }
                }
                LayerSpec::Dense { out_features, bias, .. } => {
                    LayerWeights::Dense(dense(node.input.elements(), out_features, bias))
                }
                LayerSpec::BatchNorm => {
                    // One value per channel: centre ± spread.
                    let mut around = |centre: f32, spread: f32| -> Vec<f32> {
                        dense(1, in_channels, false).weight.into_iter().map(|v| centre + spread * v).collect()
                    };
                    let (gamma, beta) = (around(1.0, 0.5), around(0.0, 0.25));
                    let (mean, var) = (around(0.0, 0.25), around(1.0, 0.5));
                    LayerWeights::BatchNorm(BatchNormWeights { gamma, beta, mean, var, epsilon: 1e-5 })
                }
                LayerSpec::Pool { .. } | LayerSpec::Dropout { .. } => LayerWeights::None,
            });
        }
        let mut head = |node: &LayerNode| dense(node.input.elements(), spec.num_classes, true);
        let output = head(&spec.output);
        let extra_head = spec.extra_head.as_ref().map(head);
        NetWeights { layers, output, extra_head }
    }
}

impl NetWeights {
    /// Initial training weights for `spec`, drawn from `seed` alone: [`NetWeights::seeded`]
    /// (PyTorch's default ±1/√fan-in bound, which is also burn's) with batch norm at identity
    /// (γ = 1, β = 0, running mean 0, variance 1). Drawing them here rather than with burn's
    /// initialisers keeps them off the backend's global RNG, which concurrent trainings share.
    pub fn initial(spec: &NetSpec, seed: u64) -> NetWeights {
        let mut weights = NetWeights::seeded(spec, seed);
        for layer in &mut weights.layers {
            if let LayerWeights::BatchNorm(bn) = layer {
                let n = bn.gamma.len();
                (bn.gamma, bn.beta, bn.mean, bn.var) = (vec![1.0; n], vec![0.0; n], vec![0.0; n], vec![1.0; n]);
            }
        }
        weights
    }
}

#[cfg(test)]
mod seeded_tests {
    use super::*;
    use crate::netspec::{Activation, Padding, PoolKind, Shape, SpecRules};

    fn spec() -> NetSpec {
        let layers = [
            LayerSpec::test_conv(6),
            LayerSpec::BatchNorm,
            LayerSpec::Pool { kind: PoolKind::Max, kernel: 2, stride: 2, padding: Padding::Valid },
            LayerSpec::Dense { out_features: 12, activation: Activation::Relu, bias: false },
        ];
        let input = Shape::Image { channels: 2, height: 8, width: 8 };
        NetSpec::build(input, 5, &layers, Some(1), SpecRules::default()).expect("valid network")
    }

    #[test]
    fn seeded_weights_fit_the_network_and_depend_on_the_seed_only() {
        let spec = spec();
        let a = NetWeights::seeded(&spec, 7);
        a.check(&spec).expect("seeded weights fit");
        assert_eq!(a, NetWeights::seeded(&spec, 7));
        assert_ne!(a, NetWeights::seeded(&spec, 8));
    }

    #[test]
    fn seeded_weights_stay_within_the_fan_in_bound() {
        let weights = NetWeights::seeded(&spec(), 3);
        let LayerWeights::Conv { weight, .. } = &weights.layers[0] else { panic!("layer 0 is a conv") };
        let bound = 1.0 / ((2 * 3 * 3) as f32).sqrt();
        assert!(weight.iter().all(|w| w.abs() <= bound), "conv weights within ±1/sqrt(18)");
        assert!(weight.iter().any(|w| w.abs() > bound / 2.0), "and not all tiny");
        let LayerWeights::BatchNorm(bn) = &weights.layers[1] else { panic!("layer 1 is a batch norm") };
        assert!(bn.var.iter().all(|&v| v > 0.0), "variances positive");
    }
}
