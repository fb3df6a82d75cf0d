//! Average pooling for CPU training: a kernel for burn-flex through burn's backend extension,
//! forward and backward.
//!
//! burn-flex 0.22.1 pools 2-D inputs through its general 3-D kernels, which work out the valid
//! window and the divisor of every output element and, backward, of every input element:
//! profiling an evolved Fashion-MNIST network with two average pools (`fashion-front-98` in
//! `host/benches/networks/`) put 71 % of its training samples there. The layers never ask for
//! padding or ceil mode (a padded pool pads its input with zeros first, see `layers`), so every
//! window holds `kernel²` inputs and the divisor is constant. One (sample, channel) plane per task:
//!
//! - forward: each kernel offset adds a (strided) input row onto the output row, then one scale;
//! - backward: each output gradient, scaled, is added back onto its window (windows may overlap;
//!   a plane is written by one task only).
//!
//! Only burn-flex has the kernel: [`avg_pool2d`] falls back to burn's own operator on any other
//! device (a GPU).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend, Backend, Dispatch, Flex, backend_extension};
use burn::nn::pool::AvgPool2dConfig;
use burn::tensor::{Bytes, DType, Shape, Tensor};
use rayon::prelude::*;

/// The pooling operator as a backend extension: implemented by burn-flex and by autodiff over it.
#[backend_extension(Flex, Autodiff)]
pub trait WindowAvgPool: Backend {
    /// Average pooling of `[batch, channels, height, width]` over `kernel`×`kernel` windows moved
    /// by `stride`, without padding.
    fn window_avg_pool2d(x: FloatTensor<Self>, kernel: usize, stride: usize) -> FloatTensor<Self>;
}

/// Input planes and window of one pooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    batch: usize,
    channels: usize,
    height: usize,
    width: usize,
    kernel: usize,
    stride: usize,
}

impl Window {
    fn new(x: &Shape, kernel: usize, stride: usize) -> Self {
        let window = Window { batch: x[0], channels: x[1], height: x[2], width: x[3], kernel, stride };
        assert!(
            kernel >= 1 && stride >= 1 && kernel <= window.height && kernel <= window.width,
            "average pool: window {kernel} larger than the {}×{} input",
            window.height,
            window.width
        );
        window
    }
    fn out_h(&self) -> usize {
        (self.height - self.kernel) / self.stride + 1
    }
    fn out_w(&self) -> usize {
        (self.width - self.kernel) / self.stride + 1
    }
    fn scale(&self) -> f32 {
        1.0 / (self.kernel * self.kernel) as f32
    }
    fn plane_in(&self) -> usize {
        self.height * self.width
    }
    fn plane_out(&self) -> usize {
        self.out_h() * self.out_w()
    }
    fn tensor(&self, data: Vec<f32>, height: usize, width: usize) -> FlexTensor {
        let shape = Shape::from(vec![self.batch, self.channels, height, width]);
        FlexTensor::new(Bytes::from_elems(data), Layout::contiguous(shape), DType::F32)
    }
}

impl WindowAvgPool for Flex {
    fn window_avg_pool2d(x: FloatTensor<Self>, kernel: usize, stride: usize) -> FloatTensor<Self> {
        forward(&x, kernel, stride)
    }
}

impl<C: CheckpointStrategy> WindowAvgPool for Autodiff<Flex, C> {
    fn window_avg_pool2d(x: FloatTensor<Self>, kernel: usize, stride: usize) -> FloatTensor<Self> {
        match WindowAvgPoolBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let x = Self::inner(x);
                let window = Window::new(x.layout().shape(), kernel, stride);
                prep.finish(window, forward(&x, kernel, stride))
            }
            OpsKind::UnTracked(prep) => prep.finish(forward(&Self::inner(x), kernel, stride)),
        }
    }
}

/// The backward step: each output gradient spread evenly over its window.
#[derive(Debug)]
struct WindowAvgPoolBackward;

impl Backward<Flex, 1> for WindowAvgPoolBackward {
    type State = Window;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [parent] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        if let Some(parent) = parent {
            grads.register::<Flex>(parent.id, backward(&grad, &ops.state));
        }
    }
}

/// The pooled `x` (`[batch, channels, height, width]`, any layout).
fn forward(x: &FlexTensor, kernel: usize, stride: usize) -> FlexTensor {
    assert_eq!(x.dtype(), DType::F32, "the average-pool kernel is for f32 tensors");
    let x = x.to_contiguous();
    let win = Window::new(x.layout().shape(), kernel, stride);
    let (out_w, width, scale) = (win.out_w(), win.width, win.scale());
    let input: &[f32] = x.storage();
    let mut output = vec![0.0f32; win.batch * win.channels * win.plane_out()];
    let pool_plane = |(plane, out): (&[f32], &mut [f32])| {
        for (oy, sums) in out.chunks_mut(out_w).enumerate() {
            for ky in 0..kernel {
                let row = &plane[(oy * stride + ky) * width..][..width];
                for kx in 0..kernel {
                    let row = &row[kx..];
                    if stride == 1 {
                        sums.iter_mut().zip(row).for_each(|(s, v)| *s += v);
                    } else {
                        sums.iter_mut().zip(row.iter().step_by(stride)).for_each(|(s, v)| *s += v);
                    }
                }
            }
            sums.iter_mut().for_each(|s| *s *= scale);
        }
    };
    let planes = input.par_chunks(win.plane_in().max(1));
    planes.zip(output.par_chunks_mut(win.plane_out().max(1))).for_each(pool_plane);
    win.tensor(output, win.out_h(), out_w)
}

/// The input gradient (`[batch, channels, height, width]`) of output gradient `grad`.
fn backward(grad: &FlexTensor, win: &Window) -> FlexTensor {
    let grad = grad.to_contiguous();
    let (out_w, width, kernel, stride, scale) = (win.out_w(), win.width, win.kernel, win.stride, win.scale());
    let upstream: &[f32] = grad.storage();
    let mut input_grad = vec![0.0f32; win.batch * win.channels * win.plane_in()];
    let spread_plane = |(g, plane): (&[f32], &mut [f32])| {
        for (oy, g_row) in g.chunks(out_w).enumerate() {
            for ky in 0..kernel {
                let row = &mut plane[(oy * stride + ky) * width..][..width];
                for kx in 0..kernel {
                    let row = &mut row[kx..];
                    if stride == 1 {
                        row.iter_mut().zip(g_row).for_each(|(r, v)| *r += v * scale);
                    } else {
                        row.iter_mut().step_by(stride).zip(g_row).for_each(|(r, v)| *r += v * scale);
                    }
                }
            }
        }
    };
    let planes = upstream.par_chunks(win.plane_out().max(1));
    planes.zip(input_grad.par_chunks_mut(win.plane_in().max(1))).for_each(spread_plane);
    win.tensor(input_grad, win.height, width)
}

/// Average pooling over unpadded `kernel`×`kernel` windows moved by `stride`: this module's
/// kernel when training on the CPU (burn-flex), burn's `AvgPool2d` otherwise.
pub fn avg_pool2d(x: Tensor<4>, kernel: usize, stride: usize) -> Tensor<4> {
    if crate::nn::device::flex_kernels_apply() {
        Tensor::from_dispatch(<Dispatch as WindowAvgPool>::window_avg_pool2d(x.into_dispatch(), kernel, stride))
    } else {
        AvgPool2dConfig::new([kernel, kernel]).with_strides([stride, stride]).init().forward(x)
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Distribution, Tensor, TensorData, Tolerance};

    use super::*;
    use crate::nn::{cpu_device, training_device};

    /// Forward and input gradient against burn's own operator: strides 1 to 3, overlapping and
    /// disjoint windows, odd sizes, a window as large as the input, a non-contiguous input.
    #[test]
    fn matches_burns_average_pool_forward_and_gradient() {
        for (kernel, stride, h, w) in
            [(2, 2, 28, 28), (3, 2, 13, 13), (3, 1, 7, 7), (3, 3, 10, 8), (1, 1, 4, 5), (4, 2, 5, 9), (5, 1, 5, 5)]
        {
            let device = training_device();
            device.seed(13);
            let raw = Tensor::<4>::random([3, 4, w, h], Distribution::Uniform(-2.0, 2.0), &device);
            let values = raw.swap_dims(2, 3);
            let (x_ours, x_burn) = (values.clone().detach().require_grad(), values.detach().require_grad());
            let ours = avg_pool2d(x_ours.clone(), kernel, stride);
            let burns =
                AvgPool2dConfig::new([kernel, kernel]).with_strides([stride, stride]).init().forward(x_burn.clone());
            let case = format!("kernel {kernel} stride {stride} {h}x{w}");
            assert_eq!(ours.dims(), burns.dims(), "{case}");
            let tolerance = Tolerance::<f32>::absolute(1e-5);
            ours.to_data().assert_approx_eq::<f32>(&burns.to_data(), tolerance);
            let weights = Tensor::<4>::random(ours.dims(), Distribution::Uniform(0.5, 1.5), &device);
            let g_ours = (ours * weights.clone()).sum().backward();
            let g_burn = (burns * weights).sum().backward();
            let (a, b) = (x_ours.grad(&g_ours).expect("grad"), x_burn.grad(&g_burn).expect("grad"));
            a.to_data().assert_approx_eq::<f32>(&b.to_data(), tolerance);
        }
    }

    #[test]
    fn inference_device_pools_without_autodiff() {
        let x = Tensor::<4>::from_data(
            TensorData::new((0..16).map(|v| v as f32).collect::<Vec<_>>(), [1, 1, 4, 4]),
            &cpu_device(),
        );
        let y = avg_pool2d(x, 2, 2);
        y.to_data().assert_eq(&TensorData::new(vec![2.5f32, 4.5, 10.5, 12.5], [1, 1, 2, 2]), false);
    }
}
