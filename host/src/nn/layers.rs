//! The layer modules of a runtime-built network: one enum variant per `LayerSpec` kind.
//!
//! Each [`Layer`] is built from a checked [`LayerNode`] (shapes and pads already resolved), so
//! building cannot fail. Padding follows `NetSpec`: conv uses its explicit (possibly
//! asymmetric) zero pads; a padded pool first pads its input with zeros and then pools without
//! padding, so max pooling sees the zeros too and average pooling counts them, exactly as the
//! ONNX export does; a pool with `post_pads` (the reference's `same` pool) pads its output.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::{relu, sigmoid, softmax};
use burn::tensor::ops::PadMode;
use burn::tensor::{Device, Tensor};

use super::avg_pool::avg_pool2d;
use super::dropout::SeededDropout;
use super::max_pool::max_pool2d;
use crate::netspec::{Activation, LayerNode, LayerSpec, Pads, PoolKind};

/// Batch norm epsilon of every batch norm layer (ONNX's default as well).
pub const BATCH_NORM_EPSILON: f64 = 1e-5;

/// Activations flowing between layers: images (`[batch, C, H, W]`) or vectors (`[batch, F]`).
#[derive(Debug, Clone)]
pub enum Features {
    /// A batch of images.
    Image(Tensor<4>),
    /// A batch of feature vectors.
    Flat(Tensor<2>),
}

impl From<Tensor<4>> for Features {
    fn from(t: Tensor<4>) -> Self {
        Features::Image(t)
    }
}

impl From<Tensor<2>> for Features {
    fn from(t: Tensor<2>) -> Self {
        Features::Flat(t)
    }
}

impl Features {
    /// As a batch of vectors: images are flattened channel-major (C, H, W).
    pub fn flat(self) -> Tensor<2> {
        match self {
            Features::Image(t) => t.flatten(1, 3),
            Features::Flat(t) => t,
        }
    }

    /// As a batch of images; a vector becomes `[batch, F, 1, 1]` (never happens for a network
    /// built from a `NetSpec`, which rejects image layers after flat ones).
    pub fn image(self) -> Tensor<4> {
        match self {
            Features::Image(t) => t,
            Features::Flat(t) => {
                let [batch, features] = t.dims();
                t.reshape([batch, features, 1, 1])
            }
        }
    }
}

/// Applies an activation to any tensor (softmax over the last axis).
pub fn activate<const D: usize>(x: Tensor<D>, activation: Activation) -> Tensor<D> {
    match activation {
        Activation::Linear => x,
        Activation::Relu => relu(x),
        Activation::Sigmoid => sigmoid(x),
        Activation::Softmax => softmax(x, D - 1),
    }
}

/// Convolution followed by its activation.
#[derive(Module, Debug)]
pub struct ConvLayer {
    /// The convolution (weights `[out, in, k, k]`).
    pub conv: Conv2d,
    /// Activation after it.
    #[module(skip)]
    pub activation: Activation,
    /// The zero pads of the input (also in `conv`'s padding).
    #[module(skip)]
    pub pads: Pads,
}

impl ConvLayer {
    /// The convolution and its bias: `super::conv`'s kernel on the CPU, burn's `Conv2d` elsewhere.
    fn convolve(&self, x: Tensor<4>) -> Tensor<4> {
        if !super::device::flex_kernels_apply() {
            return self.conv.forward(x);
        }
        let y = super::conv::conv2d(x, self.conv.weight.val(), self.conv.stride[0], self.pads);
        match &self.conv.bias {
            Some(bias) => {
                let channels = bias.dims()[0];
                y + bias.val().reshape([1, channels, 1, 1])
            }
            None => y,
        }
    }
}

/// The pooling operator of a [`PoolLayer`].
#[derive(Module, Debug)]
pub enum PoolOp {
    /// Maximum.
    Max(MaxPool2d),
    /// Mean.
    Avg(AvgPool2d),
}

/// Zero padding (if any), an unpadded pool, then zero padding of the output (if any).
#[derive(Module, Debug)]
pub struct PoolLayer {
    /// The pool.
    pub op: PoolOp,
    /// Zeros added around the input first.
    #[module(skip)]
    pub pads: Pads,
    /// Zeros added around the output.
    #[module(skip)]
    pub post_pads: Pads,
}

fn zero_pad(x: Tensor<4>, pads: Pads) -> Tensor<4> {
    if pads.is_zero() {
        return x;
    }
    let Pads { top, left, bottom, right } = pads;
    x.pad([(top, bottom), (left, right)], PadMode::Constant(0.0))
}

/// Fully connected layer (flattening an image input) followed by its activation.
#[derive(Module, Debug)]
pub struct DenseLayer {
    /// Weights `[in, out]` and bias.
    pub linear: Linear,
    /// Activation after it.
    #[module(skip)]
    pub activation: Activation,
}

/// One evolved layer.
#[derive(Module, Debug)]
pub enum Layer {
    /// Convolution + activation.
    Conv(ConvLayer),
    /// Pooling.
    Pool(PoolLayer),
    /// Batch normalisation.
    BatchNorm(BatchNorm),
    /// Dropout (identity outside autodiff training), with its own mask stream.
    Dropout(SeededDropout),
    /// Fully connected + activation.
    Dense(DenseLayer),
}

/// A dense layer with `inputs` → `outputs` features.
pub fn linear(inputs: usize, outputs: usize, bias: bool, device: &Device) -> Linear {
    LinearConfig::new(inputs, outputs).with_bias(bias).init(device)
}

impl Layer {
    /// Builds the module for a checked layer.
    pub fn new(node: &LayerNode, device: &Device) -> Layer {
        let in_ch = node.input.dims()[0];
        match node.layer {
            LayerSpec::Conv { out_channels, kernel, stride, activation, bias, .. } => {
                let p = node.pads;
                let conv = Conv2dConfig::new([in_ch, out_channels], [kernel, kernel])
                    .with_stride([stride, stride])
                    .with_padding(PaddingConfig2d::Explicit(p.top, p.left, p.bottom, p.right))
                    .with_bias(bias)
                    .init(device);
                Layer::Conv(ConvLayer { conv, activation, pads: p })
            }
            LayerSpec::Pool { kind, kernel, stride, .. } => {
                let op = match kind {
                    PoolKind::Max => {
                        PoolOp::Max(MaxPool2dConfig::new([kernel, kernel]).with_strides([stride, stride]).init())
                    }
                    PoolKind::Avg => {
                        PoolOp::Avg(AvgPool2dConfig::new([kernel, kernel]).with_strides([stride, stride]).init())
                    }
                };
                Layer::Pool(PoolLayer { op, pads: node.pads, post_pads: node.post_pads })
            }
            LayerSpec::BatchNorm => {
                Layer::BatchNorm(BatchNormConfig::new(in_ch).with_epsilon(BATCH_NORM_EPSILON).init(device))
            }
            LayerSpec::Dropout { rate } => Layer::Dropout(SeededDropout::new(rate, 0)),
            LayerSpec::Dense { out_features, activation, bias } => {
                let linear = linear(node.input.elements(), out_features, bias, device);
                Layer::Dense(DenseLayer { linear, activation })
            }
        }
    }

    /// Runs the layer.
    pub fn forward(&self, x: Features) -> Features {
        match self {
            Layer::Conv(c) => Features::Image(activate(c.convolve(x.image()), c.activation)),
            Layer::Pool(p) => {
                let x = zero_pad(x.image(), p.pads);
                let pooled = match &p.op {
                    PoolOp::Max(pool) => max_pool2d(x, pool.kernel_size[0], pool.stride[0]),
                    PoolOp::Avg(pool) => avg_pool2d(x, pool.kernel_size[0], pool.stride[0]),
                };
                Features::Image(zero_pad(pooled, p.post_pads))
            }
            Layer::BatchNorm(bn) => match x {
                Features::Image(t) => Features::Image(bn.forward(t)),
                Features::Flat(t) => Features::Flat(bn.forward(t)),
            },
            Layer::Dropout(d) => match x {
                Features::Image(t) => Features::Image(d.forward(t)),
                Features::Flat(t) => Features::Flat(d.forward(t)),
            },
            Layer::Dense(d) => Features::Flat(activate(d.linear.forward(x.flat()), d.activation)),
        }
    }
}
