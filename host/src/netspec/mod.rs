//! `NetSpec`: a network as a checked list of layers with inferred shapes.
//!
//! The genome decodes to a list of [`LayerSpec`]s; [`NetSpec::build`] walks it from the input
//! shape, resolves every padding to explicit amounts, checks that each layer fits its input, and
//! returns either a `NetSpec` that the burn builder and the ONNX exporter can use without any
//! further checks, or an [`Invalid`] outcome with the reason (never a panic).
//!
//! Semantics (PyTorch-style, NCHW; where they differ from the reference code, [`PoolPadding`]
//! names the choice):
//! - `conv` (as the reference): `same` padding forces stride 1 and keeps H×W (for an even kernel
//!   the extra row and column of zeros go at the bottom/right, as PyTorch does); `valid`:
//!   `⌊(H−k)/s⌋+1`.
//! - `pool`: `valid`: `⌊(H−k)/s⌋+1`. `same` depends on [`SpecRules::pool_padding`]:
//!   [`PoolPadding::Tensorflow`] (wattevo's default) zero-pads the input to `⌈H/s⌉` outputs
//!   (TensorFlow's SAME split: the extra zero at the bottom/right), the zeros counted by average
//!   pooling; [`PoolPadding::Reference`] pools without padding and then zero-pads the *output* by
//!   `p = (H − (H−k+1)/s)/2` (⌈p⌉ above and left, ⌊p⌋ below and right), as the reference's
//!   `ZeroPad2d` after the pool does: kernel 2, stride 2 takes 32 to 16 + 17 = 33.
//! - `dense` on an image input flattens it first (C·H·W features, channel-major).
//! - `batch_norm` and `pool` need an image input; `conv` after a flat input is invalid.
//! - The output layer is `dense` + softmax over the classes; the extra head of a partitioned net
//!   is the same layer attached after layer `partition_point`.
//!
//! Beside the spec: [`weights`] ([`NetWeights`], backend-independent parameters laid out as ONNX
//! wants them) and [`TrainedNet`], a spec and its weights travelling together, with the one
//! [`TrainedNet::partition`] that cuts partition 0 or 1 out of a trained network, and
//! [`lineage`] ([`Lineage`]: which layers of a mutated network keep their parent's weights).

use serde::{Deserialize, Serialize};

pub mod lineage;
mod resolve;
mod trained;
pub mod weights;

pub use lineage::Lineage;
pub use trained::TrainedNet;
pub use weights::{BatchNormWeights, DenseWeights, LayerWeights, NetWeights, WeightsMismatch};

/// Activation applied after a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// Identity.
    Linear,
    /// max(0, x).
    Relu,
    /// 1 / (1 + e^-x).
    Sigmoid,
    /// Softmax over the feature axis (output heads only).
    Softmax,
}

/// Padding mode as written in the grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Padding {
    /// Keep the spatial size (conv) or `⌈H/s⌉` (pool).
    Same,
    /// No padding.
    Valid,
}

/// Pooling operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolKind {
    /// Maximum over the window.
    Max,
    /// Mean over the window (zero padding counted).
    Avg,
}

/// One layer as the grammar describes it, before shapes are known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "layer", rename_all = "snake_case")]
pub enum LayerSpec {
    /// 2-D convolution.
    Conv {
        /// Output channels.
        out_channels: usize,
        /// Square kernel side.
        kernel: usize,
        /// Stride (forced to 1 with `same` padding).
        stride: usize,
        /// Padding mode.
        padding: Padding,
        /// Activation after the convolution.
        activation: Activation,
        /// Whether the convolution has a bias.
        bias: bool,
    },
    /// 2-D pooling.
    Pool {
        /// Max or average.
        kind: PoolKind,
        /// Square window side.
        kernel: usize,
        /// Stride.
        stride: usize,
        /// Padding mode.
        padding: Padding,
    },
    /// Batch normalisation over channels (inference form: scale and shift).
    BatchNorm,
    /// Dropout during training, identity at inference.
    Dropout {
        /// Probability of zeroing an element, in [0, 1).
        rate: f64,
    },
    /// Fully connected layer (flattens an image input first).
    Dense {
        /// Output features.
        out_features: usize,
        /// Activation after the layer.
        activation: Activation,
        /// Whether the layer has a bias.
        bias: bool,
    },
}

#[cfg(test)]
impl LayerSpec {
    /// A 3×3, stride-1, same-padded ReLU convolution with bias: the tests' usual layer.
    pub(crate) fn test_conv(out_channels: usize) -> Self {
        Self::Conv {
            out_channels,
            kernel: 3,
            stride: 1,
            padding: Padding::Same,
            activation: Activation::Relu,
            bias: true,
        }
    }
}

/// The shape of one sample (no batch axis).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// Channels × height × width.
    Image {
        /// Channels.
        channels: usize,
        /// Height.
        height: usize,
        /// Width.
        width: usize,
    },
    /// A feature vector.
    Flat {
        /// Features.
        features: usize,
    },
}

impl Shape {
    /// Number of scalars in one sample.
    pub fn elements(&self) -> usize {
        match *self {
            Shape::Image { channels, height, width } => channels * height * width,
            Shape::Flat { features } => features,
        }
    }

    /// The dimensions as a list, batch excluded (`[C, H, W]` or `[F]`).
    pub fn dims(&self) -> Vec<usize> {
        match *self {
            Shape::Image { channels, height, width } => vec![channels, height, width],
            Shape::Flat { features } => vec![features],
        }
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shape::Image { channels, height, width } => write!(f, "{channels}×{height}×{width}"),
            Shape::Flat { features } => write!(f, "{features}"),
        }
    }
}

/// Explicit zero padding of a 2-D window operator, in rows/columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Pads {
    /// Rows of zeros above.
    pub top: usize,
    /// Columns of zeros on the left.
    pub left: usize,
    /// Rows of zeros below.
    pub bottom: usize,
    /// Columns of zeros on the right.
    pub right: usize,
}

impl Pads {
    /// True when no padding is applied.
    pub fn is_zero(&self) -> bool {
        *self == Pads::default()
    }

    /// True when top = bottom and left = right (expressible as a symmetric padding).
    pub fn is_symmetric(&self) -> bool {
        self.top == self.bottom && self.left == self.right
    }

    /// ONNX order: `[top, left, bottom, right]`.
    pub fn onnx(&self) -> [usize; 4] {
        [self.top, self.left, self.bottom, self.right]
    }
}

/// How a `same`-padded pool is built (the reference code and wattevo differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolPadding {
    /// Zero-pad the input so the pool gives `⌈H/s⌉` outputs (TensorFlow's SAME): the pool
    /// shrinks its input by its stride, as a person reading `same` expects.
    #[default]
    Tensorflow,
    /// Pool without padding, then zero-pad the output back to about the input's size or more
    /// (the reference code's `ZeroPad2d` after the pool: 32 → 33 for kernel 2, stride 2).
    Reference,
}

impl crate::named::Named for PoolPadding {
    const KIND: &'static str = "pool padding";
    const VALUES: &'static [(Self, &'static str, &'static str)] = &[
        (Self::Tensorflow, "tensorflow", "pad the input to ⌈H/s⌉ outputs (TensorFlow SAME)"),
        (Self::Reference, "reference", "pool unpadded, then zero-pad the output (the reference code)"),
    ];
}
crate::named::named_enum_text!(PoolPadding);

/// A layer with everything resolved: its input and output shapes, effective stride and pads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerNode {
    /// The layer as decoded from the genome, with the effective stride (`same` conv → 1).
    pub layer: LayerSpec,
    /// Shape of one input sample.
    pub input: Shape,
    /// Shape of one output sample.
    pub output: Shape,
    /// Explicit padding of the input (conv and pool; zero otherwise).
    pub pads: Pads,
    /// Zero padding of the output (a `same` pool under [`PoolPadding::Reference`]; zero
    /// otherwise).
    #[serde(default)]
    pub post_pads: Pads,
}

impl LayerNode {
    /// Trainable parameters of this layer.
    pub fn params(&self) -> usize {
        let in_ch = match self.input {
            Shape::Image { channels, .. } => channels,
            Shape::Flat { features } => features,
        };
        match self.layer {
            LayerSpec::Conv { out_channels, kernel, bias, .. } => {
                kernel * kernel * in_ch * out_channels + if bias { out_channels } else { 0 }
            }
            LayerSpec::Dense { out_features, bias, .. } => {
                self.input.elements() * out_features + if bias { out_features } else { 0 }
            }
            LayerSpec::BatchNorm => 2 * in_ch,
            LayerSpec::Pool { .. } | LayerSpec::Dropout { .. } => 0,
        }
    }

    /// Multiply-accumulates of one inference on one sample.
    pub fn macs(&self) -> usize {
        match self.layer {
            LayerSpec::Conv { kernel, .. } => {
                let in_ch = self.input.dims()[0];
                self.output.elements() * kernel * kernel * in_ch
            }
            LayerSpec::Dense { out_features, .. } => self.input.elements() * out_features,
            LayerSpec::Pool { kernel, .. } => self.output.elements() * kernel * kernel,
            LayerSpec::BatchNorm => self.input.elements(),
            LayerSpec::Dropout { .. } => 0,
        }
    }
}

/// Why a list of layers is not a buildable network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}{reason}", if *layer == usize::MAX { String::new() } else { format!("layer {layer}: ") })]
pub struct Invalid {
    /// Index of the offending layer in the evolved layer list (`usize::MAX`: the whole network).
    pub layer: usize,
    /// What is wrong, for a person.
    pub reason: String,
}

impl Invalid {
    fn at(layer: usize, reason: impl Into<String>) -> Self {
        Self { layer, reason: reason.into() }
    }

    fn whole(reason: impl Into<String>) -> Self {
        Self { layer: usize::MAX, reason: reason.into() }
    }
}

/// How layers are built, and the limits on what counts as a buildable network on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecRules {
    /// Most trainable parameters (all heads included).
    pub max_params: usize,
    /// How a `same`-padded pool is built.
    #[serde(default)]
    pub pool_padding: PoolPadding,
}

impl Default for SpecRules {
    fn default() -> Self {
        Self { max_params: 20_000_000, pool_padding: PoolPadding::default() }
    }
}

/// A checked network: evolved layers, output head and optional extra head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetSpec {
    /// Shape of one input sample.
    pub input: Shape,
    /// Number of classes of both heads.
    pub num_classes: usize,
    /// The evolved layers in order.
    pub layers: Vec<LayerNode>,
    /// The main output head (dense + softmax) after the last layer.
    pub output: LayerNode,
    /// Layer after which the extra head is attached, if the net is partitioned.
    pub partition_point: Option<usize>,
    /// The extra head (dense + softmax) after layer `partition_point`.
    pub extra_head: Option<LayerNode>,
}

/// Which model to cut out of a (possibly partitioned) network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Partition {
    /// The full network without the extra head.
    Full,
    /// Layers `0..=partition_point` and the extra head.
    Early,
}

impl Partition {
    /// The paper's index: 0 for the full network, 1 for the early-exit one.
    pub fn index(self) -> usize {
        match self {
            Partition::Full => 0,
            Partition::Early => 1,
        }
    }
}

fn head(num_classes: usize, input: Shape) -> LayerNode {
    LayerNode {
        layer: LayerSpec::Dense { out_features: num_classes, activation: Activation::Softmax, bias: true },
        input,
        output: Shape::Flat { features: num_classes },
        pads: Pads::default(),
        post_pads: Pads::default(),
    }
}

impl NetSpec {
    /// Checks `layers` from `input` and attaches the output head (and the extra head when
    /// `partition_point` is set).
    pub fn build(
        input: Shape,
        num_classes: usize,
        layers: &[LayerSpec],
        partition_point: Option<usize>,
        rules: SpecRules,
    ) -> Result<NetSpec, Invalid> {
        if num_classes < 2 {
            return Err(Invalid::whole(format!("{num_classes} classes: need at least 2")));
        }
        let mut nodes = Vec::with_capacity(layers.len());
        let mut shape = input;
        for (index, layer) in layers.iter().enumerate() {
            let node = resolve::resolve(index, layer, shape, rules)?;
            if node.output.elements() == 0 {
                return Err(Invalid::at(index, "output has no elements"));
            }
            shape = node.output;
            nodes.push(node);
        }
        if !nodes.iter().any(|n| n.params() > 0) {
            return Err(Invalid::whole("no trainable layer before the output head"));
        }
        let extra_head = match partition_point {
            Some(k) if k >= nodes.len() => {
                return Err(Invalid::whole(format!("partition_point {k} beyond the last layer {}", nodes.len() - 1)));
            }
            Some(k) => Some(head(num_classes, nodes[k].output)),
            None => None,
        };
        let spec = NetSpec {
            input,
            num_classes,
            layers: nodes,
            output: head(num_classes, shape),
            partition_point,
            extra_head,
        };
        if spec.params() > rules.max_params {
            return Err(Invalid::whole(format!(
                "{} parameters, more than the limit of {}",
                spec.params(),
                rules.max_params
            )));
        }
        Ok(spec)
    }

    /// Trainable parameters, both heads included.
    pub fn params(&self) -> usize {
        let body: usize = self.layers.iter().map(LayerNode::params).sum();
        body + self.output.params() + self.extra_head.as_ref().map_or(0, LayerNode::params)
    }

    /// The single-head network for one partition. `Early` needs a partition point.
    pub fn partition(&self, which: Partition) -> Option<NetSpec> {
        let (layers, output) = match which {
            Partition::Full => (self.layers.clone(), self.output.clone()),
            Partition::Early => {
                let k = self.partition_point?;
                (self.layers[..=k].to_vec(), self.extra_head.clone()?)
            }
        };
        Some(NetSpec {
            input: self.input,
            num_classes: self.num_classes,
            layers,
            output,
            partition_point: None,
            extra_head: None,
        })
    }

    /// Multiply-accumulates of one inference of the main head on one sample.
    pub fn macs(&self) -> usize {
        self.layers.iter().map(LayerNode::macs).sum::<usize>() + self.output.macs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(out: usize, k: usize, s: usize, padding: Padding) -> LayerSpec {
        LayerSpec::Conv { out_channels: out, kernel: k, stride: s, padding, activation: Activation::Relu, bias: true }
    }

    const MNIST: Shape = Shape::Image { channels: 1, height: 28, width: 28 };

    #[test]
    fn conv_shapes_follow_pytorch() {
        let spec = NetSpec::build(
            MNIST,
            10,
            &[conv(8, 3, 2, Padding::Valid), conv(4, 4, 3, Padding::Same)],
            None,
            SpecRules::default(),
        )
        .expect("valid net");
        assert_eq!(spec.layers[0].output, Shape::Image { channels: 8, height: 13, width: 13 });
        // same forces stride 1; even kernel pads 1 before and 2 after
        assert_eq!(spec.layers[1].output, Shape::Image { channels: 4, height: 13, width: 13 });
        assert_eq!(spec.layers[1].pads, Pads { top: 1, left: 1, bottom: 2, right: 2 });
        assert_eq!(spec.output.input.elements(), 4 * 13 * 13);
    }

    #[test]
    fn same_pool_rounds_up() {
        let pool = LayerSpec::Pool { kind: PoolKind::Max, kernel: 3, stride: 2, padding: Padding::Same };
        let spec = NetSpec::build(MNIST, 10, &[conv(2, 3, 1, Padding::Valid), pool], None, SpecRules::default())
            .expect("valid");
        // 26 -> ceil(26/2) = 13; total pad = 12*2+3-26 = 1
        assert_eq!(spec.layers[1].output, Shape::Image { channels: 2, height: 13, width: 13 });
        assert_eq!(spec.layers[1].pads, Pads { top: 0, left: 0, bottom: 1, right: 1 });
    }

    #[test]
    fn reference_same_pool_pads_after_pooling() {
        let rules = SpecRules { pool_padding: PoolPadding::Reference, ..SpecRules::default() };
        let input = Shape::Image { channels: 3, height: 32, width: 32 };
        let pool = |kernel, stride| LayerSpec::Pool { kind: PoolKind::Max, kernel, stride, padding: Padding::Same };
        let build = |layers: &[LayerSpec]| NetSpec::build(input, 10, layers, None, rules).expect("valid");
        // kernel 2, stride 2 on 32: pooled ⌈31/2⌉ = 16; p = (32 − 31/2)/2 = 8.25 → 9 above, 8 below
        let spec = build(&[pool(2, 2), conv(4, 3, 1, Padding::Same)]);
        assert_eq!(spec.layers[0].output, Shape::Image { channels: 3, height: 33, width: 33 });
        assert_eq!(spec.layers[0].post_pads, Pads { top: 9, left: 9, bottom: 8, right: 8 });
        assert!(spec.layers[0].pads.is_zero(), "nothing is padded before the pool");
        // kernel 3, stride 1 on 32: pooled 30; p = (32 − 30)/2 = 1 → back to 32
        let spec = build(&[pool(3, 1), conv(4, 3, 1, Padding::Same)]);
        assert_eq!(spec.layers[0].output, Shape::Image { channels: 3, height: 32, width: 32 });
        assert_eq!(spec.layers[0].post_pads, Pads { top: 1, left: 1, bottom: 1, right: 1 });
        // kernel 2, stride 1 on 32: pooled 31; p = 0.5 → one row above and left only
        let spec = build(&[pool(2, 1), conv(4, 3, 1, Padding::Same)]);
        assert_eq!(spec.layers[0].post_pads, Pads { top: 1, left: 1, bottom: 0, right: 0 });
        // kernel 5, stride 3 on 32: pooled ⌈28/3⌉ = 10; p = (32 − 28/3)/2 = 11.33 → 12 + 11
        let spec = build(&[pool(5, 3), conv(4, 3, 1, Padding::Same)]);
        assert_eq!(spec.layers[0].output, Shape::Image { channels: 3, height: 33, width: 33 });
        // the same layers under wattevo's default: 32 → 16
        let spec = NetSpec::build(input, 10, &[pool(2, 2), conv(4, 3, 1, Padding::Same)], None, SpecRules::default())
            .expect("valid");
        assert_eq!(spec.layers[0].output, Shape::Image { channels: 3, height: 16, width: 16 });
        assert!(spec.layers[0].post_pads.is_zero());
        // valid pools are the same under both
        let valid = LayerSpec::Pool { kind: PoolKind::Avg, kernel: 2, stride: 2, padding: Padding::Valid };
        assert_eq!(build(&[valid.clone(), conv(4, 3, 1, Padding::Same)]).layers[0].output.dims(), vec![3, 16, 16]);
    }

    #[test]
    fn invalid_networks_say_why() {
        let err = NetSpec::build(
            MNIST,
            10,
            &std::iter::repeat_n(conv(8, 5, 1, Padding::Valid), 7).collect::<Vec<_>>(),
            None,
            SpecRules::default(),
        )
        .expect_err("too deep");
        assert_eq!(err.layer, 6);
        assert!(err.reason.contains("larger than its 4×4 input"), "{err}");
        let dense = LayerSpec::Dense { out_features: 16, activation: Activation::Relu, bias: true };
        let err = NetSpec::build(MNIST, 10, &[dense, conv(8, 3, 1, Padding::Same)], None, SpecRules::default())
            .expect_err("conv after fc");
        assert_eq!(err.layer, 1);
        let err = NetSpec::build(MNIST, 10, &[LayerSpec::Dropout { rate: 0.1 }], None, SpecRules::default())
            .expect_err("no params");
        assert!(err.reason.contains("no trainable layer"));
        let err = NetSpec::build(MNIST, 10, &[conv(8, 3, 1, Padding::Same)], Some(1), SpecRules::default())
            .expect_err("k too big");
        assert!(err.reason.contains("partition_point 1"));
        let err = NetSpec::build(
            MNIST,
            10,
            &[conv(256, 3, 1, Padding::Same)],
            None,
            SpecRules { max_params: 1000, ..SpecRules::default() },
        )
        .expect_err("too big");
        assert!(err.reason.contains("parameters"));
    }

    #[test]
    fn partitions_cut_the_right_layers() {
        let layers = [conv(8, 3, 1, Padding::Same), conv(16, 3, 2, Padding::Valid), LayerSpec::BatchNorm];
        let spec = NetSpec::build(MNIST, 10, &layers, Some(0), SpecRules::default()).expect("valid");
        let early = spec.partition(Partition::Early).expect("partitioned");
        let full = spec.partition(Partition::Full).expect("full");
        assert_eq!(early.layers.len(), 1);
        assert_eq!(early.output.input, Shape::Image { channels: 8, height: 28, width: 28 });
        assert_eq!(full.layers.len(), 3);
        assert_eq!(spec.params(), full.params() + early.output.params());
        assert!(spec.partition(Partition::Full).and_then(|f| f.partition(Partition::Early)).is_none());
    }
}
