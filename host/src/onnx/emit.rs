//! Lowering of evolved layers to ONNX nodes, with batch norm folded away where that is exact.
//!
//! - `conv` → `Conv` (explicit, possibly asymmetric `pads`) + `Relu`/`Sigmoid`.
//! - `batch_norm` is folded when the result is identical up to rounding:
//!   into the preceding `conv` when that conv has a linear activation (dropout in between is
//!   identity), or into the following `conv` without padding / the following `dense` (the
//!   per-channel affine map is pushed into their weights and bias). Otherwise it is emitted as
//!   `BatchNormalization` in inference form.
//! - `pool`: padding is zero padding (see [`crate::netspec`]). `AveragePool` takes it as `pads`
//!   with `count_include_pad = 1`; `MaxPool` takes it as `pads` only when its input is known to
//!   be non-negative (after relu/sigmoid, where a zero never wins over a real value), otherwise
//!   an explicit `Pad` with zeros comes first. Zeros after the pool (`post_pads`, the
//!   reference's `same` pool) are a `Pad` after it.
//! - `dense` → `Flatten` (image input) + `Gemm` (`transB = 0`) + activation.
//! - `dropout` → nothing (identity at inference).

use super::graph::{Attr, GraphBuilder};
use crate::netspec::{Activation, LayerNode, LayerSpec, Pads, PoolKind, Shape};
use crate::netspec::{BatchNormWeights, DenseWeights, LayerWeights};

/// A per-channel affine map `x ↦ scale·x + shift` waiting to be pushed into the next layer.
#[derive(Debug, Clone)]
struct Affine {
    scale: Vec<f32>,
    shift: Vec<f32>,
}

/// What the lowering needs to know between layers.
#[derive(Debug, Default)]
pub(crate) struct Lowering {
    /// Affine map of a batch norm to fold into the next conv/dense.
    pending: Option<Affine>,
    /// Whether the current value is known to be ≥ 0.
    nonneg: bool,
}

impl Lowering {
    /// A lowering of a branch whose input is known (or not) to be ≥ 0, nothing pending.
    pub(crate) fn starting(nonneg: bool) -> Self {
        Self { pending: None, nonneg }
    }

    /// Whether the current value is known to be ≥ 0.
    pub(crate) fn nonneg(&self) -> bool {
        self.nonneg
    }
}

/// Index of the next layer after `index` that is not a dropout.
fn next_real(layers: &[LayerNode], index: usize) -> Option<&LayerNode> {
    layers[index + 1..].iter().find(|n| !matches!(n.layer, LayerSpec::Dropout { .. }))
}

/// Whether a batch norm at `index` can be pushed into the layer after it (`head_follows`:
/// the output head comes after the last layer).
fn foldable_forward(layers: &[LayerNode], index: usize, head_follows: bool) -> bool {
    match next_real(layers, index) {
        Some(node) => match node.layer {
            LayerSpec::Conv { .. } => node.pads.is_zero(),
            LayerSpec::Dense { .. } => true,
            _ => false,
        },
        None => head_follows,
    }
}

/// Indices of batch norms right after conv `index` (dropouts skipped) that fold into it.
fn foldable_backward(layers: &[LayerNode], index: usize) -> Option<usize> {
    match layers[index].layer {
        LayerSpec::Conv { activation: Activation::Linear, .. } => {}
        _ => return None,
    }
    let next = layers[index + 1..].iter().position(|n| !matches!(n.layer, LayerSpec::Dropout { .. }))?;
    matches!(layers[index + 1 + next].layer, LayerSpec::BatchNorm).then_some(index + 1 + next)
}

fn activation(g: &mut GraphBuilder, act: Activation, low: &mut Lowering) {
    let op = match act {
        Activation::Linear => {
            low.nonneg = false;
            return;
        }
        Activation::Relu => "Relu",
        Activation::Sigmoid => "Sigmoid",
        Activation::Softmax => "Softmax",
    };
    let name = g.fresh(&op.to_lowercase());
    let attrs = if act == Activation::Softmax { vec![("axis", Attr::Int(-1))] } else { Vec::new() };
    g.node(name, op, Vec::new(), attrs);
    low.nonneg = true;
}

/// Conv weights `[out, in, k, k]` with an affine map applied to their input channels.
fn fold_into_conv_input(weight: &mut [f32], bias: &mut [f32], in_ch: usize, k2: usize, affine: &Affine) {
    for (o, b) in bias.iter_mut().enumerate() {
        for i in 0..in_ch {
            let row = &mut weight[(o * in_ch + i) * k2..(o * in_ch + i + 1) * k2];
            let sum: f32 = row.iter().sum();
            *b += sum * affine.shift[i];
            row.iter_mut().for_each(|w| *w *= affine.scale[i]);
        }
    }
}

/// Conv weights `[out, in, k, k]` followed by a batch norm over their output channels.
fn fold_into_conv_output(weight: &mut [f32], bias: &mut [f32], per_out: usize, bn: &BatchNormWeights) {
    let (scale, shift) = bn.affine();
    for (o, b) in bias.iter_mut().enumerate() {
        weight[o * per_out..(o + 1) * per_out].iter_mut().for_each(|w| *w *= scale[o]);
        *b = *b * scale[o] + shift[o];
    }
}

/// Emits a conv and returns how many following layers it consumed (a folded batch norm).
pub(crate) fn conv(
    g: &mut GraphBuilder,
    low: &mut Lowering,
    layers: &[LayerNode],
    index: usize,
    weights: &[LayerWeights],
) -> usize {
    let node = &layers[index];
    let (LayerSpec::Conv { out_channels, kernel, stride, activation: act, .. }, LayerWeights::Conv { weight, bias }) =
        (&node.layer, &weights[index])
    else {
        return 0;
    };
    let in_ch = node.input.dims()[0];
    let mut weight = weight.clone();
    let folded = foldable_backward(layers, index);
    let needs_bias = bias.is_some() || low.pending.is_some() || folded.is_some();
    let mut bias_vals = bias.clone().unwrap_or_else(|| vec![0.0; *out_channels]);
    if let Some(affine) = low.pending.take() {
        fold_into_conv_input(&mut weight, &mut bias_vals, in_ch, kernel * kernel, &affine);
    }
    if let Some(LayerWeights::BatchNorm(bn)) = folded.map(|i| &weights[i]) {
        fold_into_conv_output(&mut weight, &mut bias_vals, in_ch * kernel * kernel, bn);
    }
    let name = g.fresh("conv");
    let mut inputs = vec![g.float(format!("{name}.weight"), &[*out_channels, in_ch, *kernel, *kernel], weight)];
    if needs_bias {
        inputs.push(g.float(format!("{name}.bias"), &[*out_channels], bias_vals));
    }
    let attrs = vec![
        ("kernel_shape", Attr::Ints(vec![*kernel as i64; 2])),
        ("strides", Attr::Ints(vec![*stride as i64; 2])),
        ("pads", Attr::Ints(node.pads.onnx().iter().map(|&p| p as i64).collect())),
    ];
    g.node(name, "Conv", inputs, attrs);
    activation(g, *act, low);
    folded.map_or(0, |i| i - index)
}

fn pads_attr(pads: Pads) -> Attr {
    Attr::Ints(pads.onnx().iter().map(|&p| p as i64).collect())
}

/// Emits a pooling layer with zero padding.
pub(crate) fn pool(g: &mut GraphBuilder, low: &mut Lowering, node: &LayerNode) {
    let LayerSpec::Pool { kind, kernel, stride, .. } = node.layer else { return };
    let mut pads = node.pads;
    if kind == PoolKind::Max && !pads.is_zero() && !low.nonneg {
        zero_pad(g, pads);
        pads = Pads::default();
    }
    let (op, prefix) = match kind {
        PoolKind::Max => ("MaxPool", "maxpool"),
        PoolKind::Avg => ("AveragePool", "avgpool"),
    };
    let mut attrs = vec![
        ("kernel_shape", Attr::Ints(vec![kernel as i64; 2])),
        ("strides", Attr::Ints(vec![stride as i64; 2])),
        ("pads", pads_attr(pads)),
    ];
    if kind == PoolKind::Avg {
        attrs.push(("count_include_pad", Attr::Int(1)));
    }
    let name = g.fresh(prefix);
    g.node(name, op, Vec::new(), attrs);
    if !node.post_pads.is_zero() {
        zero_pad(g, node.post_pads);
    }
}

/// Emits a `Pad` node adding zeros around the spatial axes.
fn zero_pad(g: &mut GraphBuilder, pads: Pads) {
    let name = g.fresh("pad");
    let p = pads.onnx();
    let amounts = vec![0, 0, p[0] as i64, p[1] as i64, 0, 0, p[2] as i64, p[3] as i64];
    let amounts = g.int64(format!("{name}.pads"), amounts);
    g.node(name, "Pad", vec![amounts], Vec::new());
}

/// Emits a batch norm, or keeps it pending to fold into the next layer.
pub(crate) fn batch_norm(
    g: &mut GraphBuilder,
    low: &mut Lowering,
    layers: &[LayerNode],
    index: usize,
    bn: &BatchNormWeights,
    head_follows: bool,
) {
    if low.pending.is_none() && foldable_forward(layers, index, head_follows) {
        let (scale, shift) = bn.affine();
        low.pending = Some(Affine { scale, shift });
        low.nonneg = false;
        return;
    }
    let channels = bn.gamma.len();
    let name = g.fresh("batchnorm");
    let inputs = vec![
        g.float(format!("{name}.scale"), &[channels], bn.gamma.clone()),
        g.float(format!("{name}.bias"), &[channels], bn.beta.clone()),
        g.float(format!("{name}.mean"), &[channels], bn.mean.clone()),
        g.float(format!("{name}.var"), &[channels], bn.var.clone()),
    ];
    g.node(name, "BatchNormalization", inputs, vec![("epsilon", Attr::Float(bn.epsilon as f32))]);
    low.nonneg = false;
}

/// Emits flatten (for an image input) + Gemm + activation, folding a pending batch norm.
pub(crate) fn dense(
    g: &mut GraphBuilder,
    low: &mut Lowering,
    input: Shape,
    out: usize,
    act: Activation,
    w: &DenseWeights,
) {
    let in_features = input.elements();
    if let Shape::Image { .. } = input {
        let name = g.fresh("flatten");
        g.node(name, "Flatten", Vec::new(), vec![("axis", Attr::Int(1))]);
    }
    let mut weight = w.weight.clone();
    let mut bias = w.bias.clone();
    if let Some(affine) = low.pending.take() {
        let per_channel = in_features / affine.scale.len().max(1);
        let b = bias.get_or_insert_with(|| vec![0.0; out]);
        for f in 0..in_features {
            let c = f / per_channel.max(1);
            let row = &mut weight[f * out..(f + 1) * out];
            for (bo, wv) in b.iter_mut().zip(row.iter_mut()) {
                *bo += *wv * affine.shift[c];
                *wv *= affine.scale[c];
            }
        }
    }
    let name = g.fresh("gemm");
    let mut inputs = vec![g.float(format!("{name}.weight"), &[in_features, out], weight)];
    if let Some(b) = bias {
        inputs.push(g.float(format!("{name}.bias"), &[out], b));
    }
    g.node(name, "Gemm", inputs, Vec::new());
    activation(g, act, low);
}
