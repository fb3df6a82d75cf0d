//! 2-D convolution for CPU training: im2col and one batched GEMM per pass, for burn-flex through
//! burn's backend extension, with its own autodiff step.
//!
//! burn-flex 0.22.1 converts every input to channels-last in a serial loop on the calling
//! thread, flattens the weights, builds im2col tiles of 512 pixels and computes the input
//! gradient as a transposed convolution with its own layout copies. Here the columns are built
//! straight from the channels-first input, one (sample, channel) per task, and kept for the
//! weight gradient:
//!
//! - forward: `out[b] = W · cols[b]`, `W` as `[c_out, c_in·k·k]`, `cols[b]` as
//!   `[c_in·k·k, out_h·out_w]`: the output comes out channels-first, as the next layer wants it;
//! - weight gradient: `Σ_b grad[b] · cols[b]ᵀ`;
//! - input gradient: `Wᵀ · grad[b]`, folded back onto the input (col2im).
//!
//! The GEMMs are burn-flex's own matmul (gemm). Only square kernels, one group, no dilation,
//! explicit (possibly asymmetric) zero pads: what wattevo's layers ask for. The bias is added by
//! the caller with ordinary tensor operations. Other devices keep burn's `Conv2d`.

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::{Bytes, DType, Shape, Tensor};
use rayon::prelude::*;

use crate::netspec::Pads;

/// The geometry of one convolution: input planes, kernel, stride and pads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Geometry {
    batch: usize,
    channels: usize,
    height: usize,
    width: usize,
    kernel: usize,
    stride: usize,
    pads: [usize; 4],
}

impl Geometry {
    fn new(x: &Shape, kernel: usize, stride: usize, pads: [usize; 4]) -> Self {
        Geometry { batch: x[0], channels: x[1], height: x[2], width: x[3], kernel, stride, pads }
    }
    fn out_h(&self) -> usize {
        (self.height + self.pads[0] + self.pads[2] - self.kernel) / self.stride + 1
    }
    fn out_w(&self) -> usize {
        (self.width + self.pads[1] + self.pads[3] - self.kernel) / self.stride + 1
    }
    /// Rows of one sample's column matrix.
    fn col_rows(&self) -> usize {
        self.channels * self.kernel * self.kernel
    }
    /// For kernel column `kx`: the output columns that read inside the input, and the input
    /// column of the first of them (meaningless when there are none: a window column that only
    /// ever sees padding).
    fn valid_columns(&self, kx: usize) -> (std::ops::Range<usize>, usize) {
        let (left, s, out_w) = (self.pads[1], self.stride, self.out_w());
        // ox·s + kx − left ∈ [0, width)
        let first = left.saturating_sub(kx).div_ceil(s);
        let last = (self.width + left).saturating_sub(kx).div_ceil(s).min(out_w);
        let first = first.min(last);
        (first..last, (first * s + kx).saturating_sub(left))
    }
    /// For kernel row `ky` and output row `oy`: the input row, if inside the input.
    fn input_row(&self, ky: usize, oy: usize) -> Option<usize> {
        (oy * self.stride + ky).checked_sub(self.pads[0]).filter(|&iy| iy < self.height)
    }
}

/// The convolution as a backend extension: implemented by burn-flex and by autodiff over it.
#[backend_extension(Flex, Autodiff)]
pub trait ColumnConv: Backend {
    /// Convolution of `x` (`[batch, c_in, h, w]`) with `weight` (`[c_out, c_in, k, k]`), moved by
    /// `stride`, over `x` zero-padded by `pads` (top, left, bottom, right); no bias.
    fn column_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
        pads: [usize; 4],
    ) -> FloatTensor<Self>;
}

impl ColumnConv for Flex {
    fn column_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
        pads: [usize; 4],
    ) -> FloatTensor<Self> {
        forward(&x, &weight, stride, pads).0
    }
}

impl<C: CheckpointStrategy> ColumnConv for Autodiff<Flex, C> {
    fn column_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
        pads: [usize; 4],
    ) -> FloatTensor<Self> {
        match ColumnConvBackward.prepare::<C>([x.node(), weight.node()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let weight_state = prep.checkpoint(&weight);
                let (x, weight) = (Self::inner(x), Self::inner(weight));
                let geometry = Geometry::new(x.layout().shape(), weight.layout().shape()[2], stride, pads);
                let (output, cols) = forward(&x, &weight, stride, pads);
                prep.finish((weight_state, cols, geometry), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(forward(&Self::inner(x), &Self::inner(weight), stride, pads).0),
        }
    }
}

/// The backward step: both gradients from the kept columns and the weights.
#[derive(Debug)]
struct ColumnConvBackward;

impl Backward<Flex, 2> for ColumnConvBackward {
    type State = (NodeId, FlexTensor, Geometry);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [x_parent, weight_parent] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (weight_state, cols, g) = ops.state;
        let weight: FlexTensor = checkpointer.retrieve_node_output(weight_state);
        let c_out = weight.layout().shape()[0];
        let spatial = g.out_h() * g.out_w();
        let grad = Flex::float_reshape(grad, Shape::from(vec![g.batch, c_out, spatial]));
        let weight = Flex::float_reshape(weight, Shape::from(vec![1, c_out, g.col_rows()]));
        if let Some(parent) = weight_parent {
            let per_sample = Flex::float_matmul(grad.clone(), Flex::float_swap_dims(cols, 1, 2));
            let summed = Flex::float_sum_dim(per_sample, 0);
            let shape = Shape::from(vec![c_out, g.channels, g.kernel, g.kernel]);
            grads.register::<Flex>(parent.id, Flex::float_reshape(summed, shape));
        }
        if let Some(parent) = x_parent {
            let col_grad = Flex::float_matmul(Flex::float_swap_dims(weight, 1, 2), grad);
            grads.register::<Flex>(parent.id, col2im(&col_grad, &g));
        }
    }
}

/// The output (`[batch, c_out, out_h, out_w]`) and the columns (`[batch, c_in·k·k, out_h·out_w]`).
fn forward(x: &FlexTensor, weight: &FlexTensor, stride: usize, pads: [usize; 4]) -> (FlexTensor, FlexTensor) {
    assert_eq!(x.dtype(), DType::F32, "the convolution kernel is for f32 tensors");
    let w_shape = weight.layout().shape().clone();
    let g = Geometry::new(x.layout().shape(), w_shape[2], stride, pads);
    assert_eq!(w_shape[1], g.channels, "weights for {} input channels, input has {}", w_shape[1], g.channels);
    let cols = im2col(x, &g);
    let weight = Flex::float_reshape(weight.clone(), Shape::from(vec![1, w_shape[0], g.col_rows()]));
    let output = Flex::float_matmul(weight, cols.clone());
    let output = Flex::float_reshape(output, Shape::from(vec![g.batch, w_shape[0], g.out_h(), g.out_w()]));
    (output, cols)
}

/// Each sample's column matrix: row `(c·k + ky)·k + kx`, column `oy·out_w + ox` holds the input
/// at `(oy·s + ky − top, ox·s + kx − left)` of channel `c`, or zero in the padding.
fn im2col(x: &FlexTensor, g: &Geometry) -> FlexTensor {
    let x = x.to_contiguous();
    let input: &[f32] = x.storage();
    let (k, out_h, out_w) = (g.kernel, g.out_h(), g.out_w());
    let spatial = out_h * out_w;
    let plane = g.height * g.width;
    let mut cols = vec![0.0f32; g.batch * g.col_rows() * spatial];
    // one (sample, channel) per task: its k·k rows of the column matrix
    cols.par_chunks_mut(k * k * spatial).zip(input.par_chunks(plane)).for_each(|(rows, channel)| {
        for (kk, row) in rows.chunks_mut(spatial).enumerate() {
            let (ky, kx) = (kk / k, kk % k);
            let (columns, first_ix) = g.valid_columns(kx);
            if columns.is_empty() {
                continue;
            }
            for (oy, out_row) in row.chunks_mut(out_w).enumerate() {
                let Some(iy) = g.input_row(ky, oy) else { continue };
                let source = &channel[iy * g.width..(iy + 1) * g.width];
                let target = &mut out_row[columns.clone()];
                if g.stride == 1 {
                    target.copy_from_slice(&source[first_ix..first_ix + target.len()]);
                } else {
                    for (t, s) in target.iter_mut().zip(source[first_ix..].iter().step_by(g.stride)) {
                        *t = *s;
                    }
                }
            }
        }
    });
    let shape = Shape::from(vec![g.batch, g.col_rows(), spatial]);
    FlexTensor::new(Bytes::from_elems(cols), Layout::contiguous(shape), DType::F32)
}

/// The input gradient: each column-matrix gradient entry added back onto the input position it
/// was read from (the inverse of [`im2col`]); `[batch, c_in, h, w]`.
fn col2im(col_grad: &FlexTensor, g: &Geometry) -> FlexTensor {
    let col_grad = col_grad.to_contiguous();
    let cols: &[f32] = col_grad.storage();
    let (k, out_w) = (g.kernel, g.out_w());
    let spatial = g.out_h() * out_w;
    let plane = g.height * g.width;
    let mut input = vec![0.0f32; g.batch * g.channels * plane];
    input.par_chunks_mut(plane).zip(cols.par_chunks(k * k * spatial)).for_each(|(channel, rows)| {
        for (kk, row) in rows.chunks(spatial).enumerate() {
            let (ky, kx) = (kk / k, kk % k);
            let (columns, first_ix) = g.valid_columns(kx);
            if columns.is_empty() {
                continue;
            }
            for (oy, out_row) in row.chunks(out_w).enumerate() {
                let Some(iy) = g.input_row(ky, oy) else { continue };
                let target = &mut channel[iy * g.width..(iy + 1) * g.width];
                let source = &out_row[columns.clone()];
                for (t, s) in target[first_ix..].iter_mut().step_by(g.stride).zip(source) {
                    *t += *s;
                }
            }
        }
    });
    let shape = Shape::from(vec![g.batch, g.channels, g.height, g.width]);
    FlexTensor::new(Bytes::from_elems(input), Layout::contiguous(shape), DType::F32)
}

/// Convolution of `x` with `weight` (`[c_out, c_in, k, k]`), stride `stride`, zero pads `pads`,
/// no bias, on burn-flex (see [`crate::nn::device::flex_kernels_apply`]).
pub fn conv2d(x: Tensor<4>, weight: Tensor<4>, stride: usize, pads: Pads) -> Tensor<4> {
    let pads = [pads.top, pads.left, pads.bottom, pads.right];
    Tensor::from_dispatch(<Dispatch as ColumnConv>::column_conv2d(
        x.into_dispatch(),
        weight.into_dispatch(),
        stride,
        pads,
    ))
}

#[cfg(test)]
mod tests {
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::{Distribution, Tensor, Tolerance};

    use super::*;
    use crate::nn::training_device;

    /// Output, input gradient and weight gradient against burn's `Conv2d` (no bias), for strides
    /// 1, 2 and 3, kernels 1 to 5, symmetric and asymmetric pads, inputs smaller than the window,
    /// and a non-contiguous input.
    #[test]
    fn matches_burns_convolution_and_its_gradients() {
        let cases: [(usize, usize, usize, [usize; 4], usize, usize); 10] = [
            (3, 1, 3, [1, 1, 1, 1], 9, 9),
            (3, 2, 4, [0, 0, 0, 0], 11, 8),
            (5, 1, 2, [2, 2, 2, 2], 7, 6),
            (3, 2, 5, [0, 0, 1, 1], 8, 8),
            (1, 1, 3, [0, 0, 0, 0], 5, 4),
            (5, 2, 3, [1, 2, 2, 1], 10, 9),
            (3, 3, 2, [1, 1, 1, 1], 7, 7),
            // 1×1 and 2×2 inputs under wide pads: window columns that only see padding
            (3, 2, 2, [1, 1, 1, 1], 1, 1),
            (5, 1, 2, [2, 2, 2, 2], 2, 1),
            (4, 2, 2, [2, 1, 2, 2], 2, 2),
        ];
        for (kernel, stride, c_out, pads, h, w) in cases {
            let device = training_device();
            device.seed(11);
            let c_in = 3;
            let conv = Conv2dConfig::new([c_in, c_out], [kernel, kernel])
                .with_stride([stride, stride])
                .with_padding(PaddingConfig2d::Explicit(pads[0], pads[1], pads[2], pads[3]))
                .with_bias(false)
                .init(&device);
            let raw = Tensor::<4>::random([2, c_in, w, h], Distribution::Normal(0.0, 1.0), &device).swap_dims(2, 3);
            let (x_ours, x_burn) = (raw.clone().detach().require_grad(), raw.detach().require_grad());
            let weight = conv.weight.val().detach().require_grad();
            let pads = Pads { top: pads[0], left: pads[1], bottom: pads[2], right: pads[3] };
            let ours = conv2d(x_ours.clone(), weight.clone(), stride, pads);
            let burns = conv.forward(x_burn.clone());
            let case = format!("kernel {kernel} stride {stride} pads {pads:?} {h}x{w}");
            assert_eq!(ours.dims(), burns.dims(), "{case}");
            let tolerance = Tolerance::<f32>::absolute(1e-4);
            ours.to_data().assert_approx_eq::<f32>(&burns.to_data(), tolerance);
            let mix = Tensor::<4>::random(ours.dims(), Distribution::Normal(0.0, 1.0), &device);
            let g_ours = (ours * mix.clone()).sum().backward();
            let g_burn = (burns * mix).sum().backward();
            let x_grad = x_ours.grad(&g_ours).expect("input gradient");
            x_grad.to_data().assert_approx_eq::<f32>(&x_burn.grad(&g_burn).expect("grad").to_data(), tolerance);
            let w_ours = weight.grad(&g_ours).expect("weight gradient");
            let w_burn = conv.weight.val().grad(&g_burn).expect("burn's weight gradient");
            w_ours.to_data().assert_approx_eq::<f32>(&w_burn.to_data(), tolerance);
        }
    }

    #[test]
    fn columns_cover_exactly_the_input_inside_the_pads() {
        // 1 channel, 3×3 input, 3×3 kernel, pad 1: the centre row of the columns is the input
        let g = Geometry { batch: 1, channels: 1, height: 3, width: 3, kernel: 3, stride: 1, pads: [1, 1, 1, 1] };
        assert_eq!((g.out_h(), g.out_w()), (3, 3));
        assert_eq!(g.valid_columns(0), (1..3, 0));
        assert_eq!(g.valid_columns(1), (0..3, 0));
        assert_eq!(g.valid_columns(2), (0..2, 1));
        assert_eq!(g.input_row(0, 0), None);
        assert_eq!(g.input_row(2, 2), None);
        assert_eq!(g.input_row(1, 2), Some(2));
    }
}
