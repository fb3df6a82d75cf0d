//! Max pooling for CPU training: a kernel for burn-flex through burn's backend extension, with
//! its own backward step for autodiff.
//!
//! burn-flex 0.22.1 pools 2-D inputs through its general 3-D kernel, which computes the valid
//! window range of every output element, calls a closure per element and writes 64-bit indices
//! that are then cast again; profiling wattevo's CNN training put 14–18 % of all samples in
//! that loop. The layers here never ask for padding, dilation or ceil mode (a padded pool
//! pads its input with zeros first, see `layers`), so this kernel handles only unpadded square
//! windows, one (sample, channel) plane per task, branch-free over each output row.
//!
//! The backward step hands the kernel's indices (flat positions within each input plane, as
//! burn-flex writes them) to burn-flex's own `max_pool2d_with_indices_backward`, so gradients
//! are burn's. NaN wins a window (the last NaN), as in burn-flex and PyTorch.
//!
//! Only burn-flex has the kernel: [`max_pool2d`] falls back to burn's own operator on any
//! other device (a GPU). Upstream, the same loop would replace burn-flex's 2-D path.

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::ModuleOps;
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Autodiff, AutodiffBackend, Backend, Dispatch, Flex, backend_extension};
use burn::nn::pool::MaxPool2dConfig;
use burn::tensor::Bytes;
use burn::tensor::{DType, Shape, Tensor};
use rayon::prelude::*;

/// The pooling operator as a backend extension: implemented by burn-flex and by autodiff over it.
#[backend_extension(Flex, Autodiff)]
pub trait WindowMaxPool: Backend {
    /// Max pooling of `[batch, channels, height, width]` over `kernel`×`kernel` windows moved by
    /// `stride`, without padding.
    fn window_max_pool2d(x: FloatTensor<Self>, kernel: usize, stride: usize) -> FloatTensor<Self>;
}

impl WindowMaxPool for Flex {
    fn window_max_pool2d(x: FloatTensor<Self>, kernel: usize, stride: usize) -> FloatTensor<Self> {
        pool_with_indices(&x, kernel, stride).0
    }
}

impl<C: CheckpointStrategy> WindowMaxPool for Autodiff<Flex, C> {
    fn window_max_pool2d(x: FloatTensor<Self>, kernel: usize, stride: usize) -> FloatTensor<Self> {
        match WindowMaxPoolBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let (output, indices) = pool_with_indices(&Self::inner(x), kernel, stride);
                prep.finish((x_state, indices, kernel, stride), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(pool_with_indices(&Self::inner(x), kernel, stride).0),
        }
    }
}

/// The backward step: the output gradient scattered to each window's maximum.
#[derive(Debug)]
struct WindowMaxPoolBackward;

impl Backward<Flex, 1> for WindowMaxPoolBackward {
    type State = (NodeId, IntTensor<Flex>, usize, usize);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [parent] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x_state, indices, kernel, stride) = ops.state;
        let x: FlexTensor = checkpointer.retrieve_node_output(x_state);
        if let Some(parent) = parent {
            let window = [kernel, kernel];
            let x_grad = Flex::max_pool2d_with_indices_backward(
                x,
                window,
                [stride, stride],
                [0, 0],
                [1, 1],
                false,
                grad,
                indices,
            )
            .x_grad;
            grads.register::<Flex>(parent.id, x_grad);
        }
    }
}

/// Max pooling of `x` (`[batch, channels, height, width]`, any layout) over unpadded
/// `kernel`×`kernel` windows moved by `stride`: the output and, for each output element, the
/// flat position of its maximum within its input plane (64-bit, as burn-flex's backward reads).
fn pool_with_indices(x: &FlexTensor, kernel: usize, stride: usize) -> (FlexTensor, FlexTensor) {
    assert_eq!(x.dtype(), DType::F32, "the max-pool kernel is for f32 tensors");
    let x = x.to_contiguous();
    let dims = x.layout().shape().clone();
    let [batch, channels, height, width] = [dims[0], dims[1], dims[2], dims[3]];
    assert!(kernel >= 1 && stride >= 1 && kernel <= height && kernel <= width, "window larger than the input");
    let (out_h, out_w) = ((height - kernel) / stride + 1, (width - kernel) / stride + 1);
    let (plane_in, plane_out) = (height * width, out_h * out_w);
    let input: &[f32] = x.storage();
    let mut output = vec![0.0f32; batch * channels * plane_out];
    let mut indices = vec![0i64; batch * channels * plane_out];
    // Window offsets outermost, output columns innermost: every column's update is independent
    // and branch-free, so the compiler pipelines (and, with stride 1, vectorises) it. Offsets
    // are visited in row-major order: the first maximum wins a tie, as in burn-flex.
    let pool_plane = |(plane, (out, idx)): (&[f32], (&mut [f32], &mut [i64]))| {
        for (oy, (best, best_at)) in out.chunks_mut(out_w).zip(idx.chunks_mut(out_w)).enumerate() {
            let first = oy * stride * width;
            for (ky, kx) in (0..kernel).flat_map(|ky| (0..kernel).map(move |kx| (ky, kx))) {
                let start = first + ky * width + kx;
                let window = &plane[start..start + (out_w - 1) * stride + 1];
                for (ox, (b, i)) in best.iter_mut().zip(best_at.iter_mut()).enumerate() {
                    let v = window[ox * stride];
                    let take = ky + kx == 0 || v > *b || v.is_nan();
                    *b = if take { v } else { *b };
                    *i = if take { (start + ox * stride) as i64 } else { *i };
                }
            }
        }
    };
    let planes = input.par_chunks(plane_in.max(1));
    let outs = output.par_chunks_mut(plane_out.max(1)).zip(indices.par_chunks_mut(plane_out.max(1)));
    planes.zip(outs).for_each(pool_plane);
    let shape = Shape::from(vec![batch, channels, out_h, out_w]);
    let layout = burn::backend::flex::Layout::contiguous(shape);
    (
        FlexTensor::new(Bytes::from_elems(output), layout.clone(), DType::F32),
        FlexTensor::new(Bytes::from_elems(indices), layout, DType::I64),
    )
}

/// Max pooling over unpadded `kernel`×`kernel` windows moved by `stride`: this module's kernel
/// when training on the CPU (burn-flex), burn's `MaxPool2d` otherwise.
pub fn max_pool2d(x: Tensor<4>, kernel: usize, stride: usize) -> Tensor<4> {
    if crate::nn::device::flex_kernels_apply() {
        Tensor::from_dispatch(<Dispatch as WindowMaxPool>::window_max_pool2d(x.into_dispatch(), kernel, stride))
    } else {
        MaxPool2dConfig::new([kernel, kernel]).with_strides([stride, stride]).init().forward(x)
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Distribution, Tensor, TensorData, Tolerance};

    use super::*;
    use crate::nn::{cpu_device, training_device};

    /// Forward and input gradient against burn's own operator, for square and overlapping
    /// windows, on odd sizes, with ties (rounded inputs) and a non-contiguous input.
    #[test]
    fn matches_burns_max_pool_forward_and_gradient() {
        for (kernel, stride, h, w) in
            [(2, 2, 28, 28), (2, 2, 7, 9), (3, 2, 13, 11), (3, 1, 6, 5), (1, 1, 4, 4), (2, 1, 5, 5)]
        {
            let device = training_device();
            device.seed(7);
            let raw = Tensor::<4>::random([3, 4, w, h], Distribution::Uniform(-2.0, 2.0), &device);
            // ties in every window: the first maximum wins on both sides
            let values = (raw * 2.0).round().swap_dims(2, 3);
            let x_ours = values.clone().detach().require_grad();
            let x_burn = values.detach().require_grad();
            let ours = max_pool2d(x_ours.clone(), kernel, stride);
            let pool = MaxPool2dConfig::new([kernel, kernel]).with_strides([stride, stride]).init();
            let burns = pool.forward(x_burn.clone());
            ours.to_data().assert_approx_eq::<f32>(&burns.to_data(), Tolerance::default());
            let weights = Tensor::<4>::random(ours.dims(), Distribution::Uniform(0.5, 1.5), &device);
            let g_ours = (ours * weights.clone()).sum().backward();
            let g_burn = (burns * weights).sum().backward();
            let (a, b) = (x_ours.grad(&g_ours).expect("grad"), x_burn.grad(&g_burn).expect("grad"));
            a.to_data().assert_approx_eq::<f32>(&b.to_data(), Tolerance::default());
        }
    }

    #[test]
    fn inference_device_pools_without_autodiff() {
        let device = cpu_device();
        let x = Tensor::<4>::from_data(
            TensorData::new((0..16).map(|v| v as f32).collect::<Vec<_>>(), [1, 1, 4, 4]),
            &device,
        );
        let y = max_pool2d(x, 2, 2);
        y.to_data().assert_eq(&TensorData::new(vec![5.0f32, 7.0, 13.0, 15.0], [1, 1, 2, 2]), false);
    }

    #[test]
    fn nan_wins_its_window() {
        let device = cpu_device();
        let values = vec![1.0, f32::NAN, 3.0, 2.0];
        let y = max_pool2d(Tensor::<4>::from_data(TensorData::new(values, [1, 1, 2, 2]), &device), 2, 2);
        let out: Vec<f32> = y.to_data().try_to_vec().expect("f32");
        assert!(out[0].is_nan());
    }
}
