//! One layer's output shape and explicit pads from its input shape ([`resolve`]): the window
//! arithmetic of convolutions and pools, with `same` pools built as [`PoolPadding`] says.

use super::{Invalid, LayerNode, LayerSpec, Padding, Pads, PoolPadding, Shape, SpecRules};

/// Output side and pads of a window operator along one axis.
fn window(size: usize, kernel: usize, stride: usize, padding: Padding, conv: bool) -> Option<(usize, usize, usize)> {
    match padding {
        Padding::Valid => (kernel <= size).then(|| ((size - kernel) / stride + 1, 0, 0)),
        Padding::Same if conv => {
            let total = kernel - 1;
            Some((size, total / 2, total - total / 2))
        }
        Padding::Same => {
            let out = size.div_ceil(stride);
            let total = ((out - 1) * stride + kernel).saturating_sub(size);
            Some((out, total / 2, total - total / 2))
        }
    }
}

/// The reference's zero padding after an unpadded pool along one axis: `(before, after)` with
/// `p = (size − (size−k+1)/stride)/2`, before = ⌈p⌉, after = ⌊p⌋ (`compute_adjusting_padding`).
fn reference_pool_pads(size: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let p = (size as f64 - (size as f64 - kernel as f64 + 1.0) / stride as f64) / 2.0;
    (p.ceil() as usize, p.floor() as usize)
}

/// A `same` pool under [`PoolPadding::Reference`]: output height and width, and the pads after
/// the pool; `None` when the kernel is larger than the input.
fn reference_same_pool(height: usize, width: usize, kernel: usize, stride: usize) -> Option<(usize, usize, Pads)> {
    let (h, _, _) = window(height, kernel, stride, Padding::Valid, false)?;
    let (w, _, _) = window(width, kernel, stride, Padding::Valid, false)?;
    let (top, bottom) = reference_pool_pads(height, kernel, stride);
    let (left, right) = reference_pool_pads(width, kernel, stride);
    Some((h + top + bottom, w + left + right, Pads { top, left, bottom, right }))
}

pub(super) fn resolve(index: usize, layer: &LayerSpec, input: Shape, rules: SpecRules) -> Result<LayerNode, Invalid> {
    let node = |layer: LayerSpec, output: Shape, pads: Pads| LayerNode {
        layer,
        input,
        output,
        pads,
        post_pads: Pads::default(),
    };
    match (layer, input) {
        (LayerSpec::Conv { kernel: 0, .. } | LayerSpec::Pool { kernel: 0, .. }, _) => {
            Err(Invalid::at(index, "kernel size 0"))
        }
        (LayerSpec::Conv { stride: 0, .. } | LayerSpec::Pool { stride: 0, .. }, _) => {
            Err(Invalid::at(index, "stride 0"))
        }
        (LayerSpec::Conv { out_channels: 0, .. }, _) | (LayerSpec::Dense { out_features: 0, .. }, _) => {
            Err(Invalid::at(index, "a layer with no outputs"))
        }
        (LayerSpec::Conv { .. }, Shape::Flat { .. }) => {
            Err(Invalid::at(index, "conv after a flat (fully connected) input"))
        }
        (LayerSpec::Pool { .. }, Shape::Flat { .. }) => {
            Err(Invalid::at(index, "pooling after a flat (fully connected) input"))
        }
        (LayerSpec::BatchNorm, Shape::Flat { .. }) => {
            Err(Invalid::at(index, "batch_norm after a flat (fully connected) input"))
        }
        (
            &LayerSpec::Conv { out_channels, kernel, stride, padding, activation, bias },
            Shape::Image { height, width, .. },
        ) => {
            let stride = if padding == Padding::Same { 1 } else { stride };
            let too_big = || Invalid::at(index, format!("conv kernel {kernel} larger than its {height}×{width} input"));
            let (h, top, bottom) = window(height, kernel, stride, padding, true).ok_or_else(too_big)?;
            let (w, left, right) = window(width, kernel, stride, padding, true).ok_or_else(too_big)?;
            let layer = LayerSpec::Conv { out_channels, kernel, stride, padding, activation, bias };
            Ok(node(
                layer,
                Shape::Image { channels: out_channels, height: h, width: w },
                Pads { top, left, bottom, right },
            ))
        }
        (&LayerSpec::Pool { kind, kernel, stride, padding }, Shape::Image { channels, height, width }) => {
            let too_big = || Invalid::at(index, format!("pool kernel {kernel} larger than its {height}×{width} input"));
            let layer = LayerSpec::Pool { kind, kernel, stride, padding };
            if padding == Padding::Same && rules.pool_padding == PoolPadding::Reference {
                let (h, w, post_pads) = reference_same_pool(height, width, kernel, stride).ok_or_else(too_big)?;
                let output = Shape::Image { channels, height: h, width: w };
                return Ok(LayerNode { post_pads, ..node(layer, output, Pads::default()) });
            }
            let (h, top, bottom) = window(height, kernel, stride, padding, false).ok_or_else(too_big)?;
            let (w, left, right) = window(width, kernel, stride, padding, false).ok_or_else(too_big)?;
            Ok(node(layer, Shape::Image { channels, height: h, width: w }, Pads { top, left, bottom, right }))
        }
        (LayerSpec::BatchNorm, Shape::Image { .. }) => Ok(node(LayerSpec::BatchNorm, input, Pads::default())),
        (&LayerSpec::Dropout { rate }, _) => {
            if !(0.0..1.0).contains(&rate) {
                return Err(Invalid::at(index, format!("dropout rate {rate} outside [0, 1)")));
            }
            Ok(node(LayerSpec::Dropout { rate }, input, Pads::default()))
        }
        (&LayerSpec::Dense { out_features, .. }, _) => {
            Ok(node(layer.clone(), Shape::Flat { features: out_features }, Pads::default()))
        }
    }
}
