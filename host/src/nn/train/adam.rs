//! Adam as a burn [`Optimizer`] that updates each parameter in one pass on burn-flex.
//!
//! burn's `Adam` composes a dozen tensor operations per parameter and step (two moment updates,
//! the square, the square root, the bias corrections, the division, the update), each one a
//! pass over the tensor and a new buffer. For a small network trained on two cores those passes
//! are a sizeable share of a batch: the mlp of `host/benches/train_throughput.rs` spends more time
//! in them than in its GEMMs. Here burn-flex gets one fused pass (a backend extension, parallel
//! over chunks); other devices (a GPU) run the same arithmetic as tensor operations.
//!
//! The arithmetic is burn's `Adam` (so PyTorch's, with ε as given): with step `t`,
//! `g ← g + wd·w` (coupled weight decay), `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
//! `w ← w − lr · (√(1−β₂ᵗ)/(1−β₁ᵗ)) · m / (√v + ε√(1−β₂ᵗ))`.

use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::optim::{LearningRate, Optimizer, RecordState, StateSink, StateSource};
use burn::tensor::{Bytes, DType, Device, Tensor};
use rayon::prelude::*;

/// Adam's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FusedAdam {
    /// β₁, decay of the first moment.
    pub beta1: f32,
    /// β₂, decay of the second moment.
    pub beta2: f32,
    /// ε, added to the square root of the second moment.
    pub epsilon: f32,
    /// Coupled L2 penalty (`g + wd·w`); 0 for none.
    pub weight_decay: f32,
}

/// The moments of one parameter and the number of steps taken.
#[derive(Debug, Clone)]
pub struct AdamMoments<const D: usize> {
    /// Steps taken so far (the `t` of the bias corrections).
    pub time: usize,
    /// First moment `m`.
    pub moment_1: Tensor<D>,
    /// Second moment `v`.
    pub moment_2: Tensor<D>,
}

/// Where the moments sit in an optimiser record: under `momentum`, as burn's `Adam` stores them,
/// so that a checkpoint written with burn's `Adam` resumes with its moments.
fn momentum_prefix(prefix: &str) -> String {
    if prefix.is_empty() { "momentum".to_string() } else { format!("{prefix}.momentum") }
}

impl<const D: usize> RecordState for AdamMoments<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        let prefix = &momentum_prefix(prefix);
        out.push_scalar(prefix, "time", self.time.into());
        out.push_tensor(prefix, "moment_1", self.moment_1.clone().into_data());
        out.push_tensor(prefix, "moment_2", self.moment_2.clone().into_data());
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let prefix = &momentum_prefix(prefix);
        let time = usize::try_from(src.take_scalar(prefix, "time")?).ok()?;
        let moment_1 = Tensor::from_data(src.take_tensor(prefix, "moment_1")?, device);
        let moment_2 = Tensor::from_data(src.take_tensor(prefix, "moment_2")?, device);
        Some(Self { time, moment_1, moment_2 })
    }
}

/// The scalars of one step, derived from the settings, the rate and `t`.
#[derive(Debug, Clone, Copy)]
struct StepCoefficients {
    beta1: f32,
    beta2: f32,
    weight_decay: f32,
    /// `lr · √(1−β₂ᵗ)/(1−β₁ᵗ)`
    step: f32,
    /// `ε · √(1−β₂ᵗ)`
    epsilon: f32,
}

impl FusedAdam {
    fn coefficients(&self, lr: LearningRate, time: usize) -> StepCoefficients {
        let t = i32::try_from(time).unwrap_or(i32::MAX);
        let correction2 = (1.0 - self.beta2.powi(t)).sqrt();
        let combined = correction2 / (1.0 - self.beta1.powi(t));
        StepCoefficients {
            beta1: self.beta1,
            beta2: self.beta2,
            weight_decay: self.weight_decay,
            step: (lr as f32) * combined,
            epsilon: self.epsilon * correction2,
        }
    }
}

/// One Adam step for a whole parameter in a single pass.
#[backend_extension(Flex)]
pub trait FusedAdamStep: Backend {
    /// Returns the updated parameter, first and second moments. `coefficients` is
    /// `[β₁, β₂, wd, lr·√(1−β₂ᵗ)/(1−β₁ᵗ), ε·√(1−β₂ᵗ)]`.
    fn fused_adam_step(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        coefficients: [f32; 5],
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// Elements per parallel task: below this a tensor is updated on the calling thread.
const CHUNK: usize = 16 * 1024;

impl FusedAdamStep for Flex {
    fn fused_adam_step(
        param: FlexTensor,
        grad: FlexTensor,
        moment_1: FlexTensor,
        moment_2: FlexTensor,
        coefficients: [f32; 5],
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let [beta1, beta2, weight_decay, step, epsilon] = coefficients;
        for t in [&param, &grad, &moment_1, &moment_2] {
            assert_eq!(t.dtype(), DType::F32, "the fused Adam step is for f32 tensors");
        }
        let shape = param.layout().shape().clone();
        let (param, grad) = (param.to_contiguous(), grad.to_contiguous());
        let (moment_1, moment_2) = (moment_1.to_contiguous(), moment_2.to_contiguous());
        let (w, g): (&[f32], &[f32]) = (param.storage(), grad.storage());
        let (m, v): (&[f32], &[f32]) = (moment_1.storage(), moment_2.storage());
        assert!(g.len() == w.len() && m.len() == w.len() && v.len() == w.len(), "Adam: tensors of different sizes");
        let (mut w_out, mut m_out, mut v_out) = (vec![0.0f32; w.len()], vec![0.0f32; w.len()], vec![0.0f32; w.len()]);
        let update = |i: usize, w_out: &mut [f32], m_out: &mut [f32], v_out: &mut [f32]| {
            let (at, n) = (i * CHUNK, w_out.len());
            // equal lengths up front, so that the loop runs without bounds checks
            let (w, g, m, v) = (&w[at..at + n], &g[at..at + n], &m[at..at + n], &v[at..at + n]);
            let (m_out, v_out) = (&mut m_out[..n], &mut v_out[..n]);
            for j in 0..n {
                let gj = g[j] + weight_decay * w[j];
                let mj = beta1 * m[j] + (1.0 - beta1) * gj;
                let vj = beta2 * v[j] + (1.0 - beta2) * gj * gj;
                m_out[j] = mj;
                v_out[j] = vj;
                w_out[j] = w[j] - step * mj / (vj.sqrt() + epsilon);
            }
        };
        if w.len() <= CHUNK {
            update(0, &mut w_out, &mut m_out, &mut v_out);
        } else {
            let chunks = w_out.par_chunks_mut(CHUNK).zip(m_out.par_chunks_mut(CHUNK)).zip(v_out.par_chunks_mut(CHUNK));
            chunks.enumerate().for_each(|(i, ((w_out, m_out), v_out))| update(i, w_out, m_out, v_out));
        }
        let tensor =
            |data: Vec<f32>| FlexTensor::new(Bytes::from_elems(data), Layout::contiguous(shape.clone()), DType::F32);
        (tensor(w_out), tensor(m_out), tensor(v_out))
    }
}

/// The new parameter and moments, `(w, m, v)`.
type Stepped<const D: usize> = (Tensor<D>, Tensor<D>, Tensor<D>);

/// One step through [`FusedAdamStep`] (burn-flex).
fn fused_step<const D: usize>(
    c: &StepCoefficients,
    tensor: Tensor<D>,
    grad: Tensor<D>,
    moment_1: Tensor<D>,
    moment_2: Tensor<D>,
) -> Stepped<D> {
    let (w, m, v) = <Dispatch as FusedAdamStep>::fused_adam_step(
        tensor.into_dispatch(),
        grad.into_dispatch(),
        moment_1.into_dispatch(),
        moment_2.into_dispatch(),
        [c.beta1, c.beta2, c.weight_decay, c.step, c.epsilon],
    );
    (Tensor::from_dispatch(w), Tensor::from_dispatch(m), Tensor::from_dispatch(v))
}

/// The same step as tensor operations, for any device.
fn tensor_step<const D: usize>(
    c: &StepCoefficients,
    tensor: Tensor<D>,
    grad: Tensor<D>,
    moment_1: Tensor<D>,
    moment_2: Tensor<D>,
) -> Stepped<D> {
    let grad = if c.weight_decay > 0.0 { grad + tensor.clone().mul_scalar(c.weight_decay) } else { grad };
    let moment_1 = moment_1.mul_scalar(c.beta1) + grad.clone().mul_scalar(1.0 - c.beta1);
    let moment_2 = moment_2.mul_scalar(c.beta2) + grad.square().mul_scalar(1.0 - c.beta2);
    let update = moment_1.clone().div(moment_2.clone().sqrt().add_scalar(c.epsilon)).mul_scalar(c.step);
    (tensor - update, moment_1, moment_2)
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamMoments<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let (time, moment_1, moment_2) = match state {
            Some(state) => (state.time + 1, state.moment_1, state.moment_2),
            None => (1, tensor.zeros_like(), tensor.zeros_like()),
        };
        let c = self.coefficients(lr, time);
        let step = if crate::nn::device::flex_kernels_apply() { fused_step } else { tensor_step };
        let (tensor, moment_1, moment_2) = step(&c, tensor, grad, moment_1, moment_2);
        (tensor, Some(AdamMoments { time, moment_1, moment_2 }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        AdamMoments {
            time: state.time,
            moment_1: state.moment_1.to_device(device),
            moment_2: state.moment_2.to_device(device),
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::module::Param;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
    use burn::tensor::{Distribution, Tolerance};

    use super::*;
    use crate::nn::training_device;

    fn fused(weight_decay: f32) -> ModuleOptimizer {
        ModuleOptimizer::from(FusedAdam { beta1: 0.8, beta2: 0.95, epsilon: 1e-8, weight_decay })
    }

    fn burns(weight_decay: f32) -> ModuleOptimizer {
        let decay = (weight_decay > 0.0).then(|| burn::optim::decay::WeightDecayConfig::new(weight_decay));
        AdamConfig::new().with_beta_1(0.8).with_beta_2(0.95).with_epsilon(1e-8).with_weight_decay(decay).init()
    }

    /// Five steps on a linear layer large enough to be split into parallel chunks (and its
    /// 10-element bias, updated serially): the same weights as burn's `Adam`.
    #[test]
    fn matches_burns_adam_over_several_steps() {
        for weight_decay in [0.0, 0.05] {
            let device = training_device();
            device.seed(3);
            let layer: Linear = LinearConfig::new(300, 100).init(&device);
            let (mut ours, mut theirs) = (layer.clone(), layer);
            let (mut opt_ours, mut opt_theirs) = (fused(weight_decay), burns(weight_decay));
            for step in 0..5 {
                let x = Tensor::<2>::random([16, 300], Distribution::Normal(0.0, 1.0), &device);
                let loss = |l: &Linear| l.forward(x.clone()).powf_scalar(2.0).mean();
                let g_ours = GradientsParams::from_grads(loss(&ours).backward(), &ours);
                let g_theirs = GradientsParams::from_grads(loss(&theirs).backward(), &theirs);
                ours = opt_ours.step(0.01, ours, g_ours);
                theirs = opt_theirs.step(0.01, theirs, g_theirs);
                let tolerance = Tolerance::<f32>::absolute(1e-5);
                let case = format!("weight decay {weight_decay}, step {step}");
                ours.weight.val().to_data().assert_approx_eq::<f32>(&theirs.weight.val().to_data(), tolerance);
                let (b_ours, b_theirs) = (ours.bias.as_ref().map(Param::val), theirs.bias.as_ref().map(Param::val));
                b_ours.expect(&case).to_data().assert_approx_eq::<f32>(&b_theirs.expect(&case).to_data(), tolerance);
            }
        }
    }

    #[test]
    fn state_survives_a_record_round_trip() {
        let device = training_device();
        device.seed(5);
        let layer: Linear = LinearConfig::new(4, 3).init(&device);
        let mut optimiser = fused(0.0);
        let x = Tensor::<2>::random([2, 4], Distribution::Normal(0.0, 1.0), &device);
        let grads = GradientsParams::from_grads(layer.forward(x.clone()).sum().backward(), &layer);
        let layer = optimiser.step(0.01, layer, grads);
        let mut restored = fused(0.0).load_record(optimiser.to_record());
        let grads = || GradientsParams::from_grads(layer.forward(x.clone()).sum().backward(), &layer);
        let a = optimiser.step(0.01, layer.clone(), grads());
        let b = restored.step(0.01, layer.clone(), grads());
        a.weight.val().to_data().assert_approx_eq::<f32>(&b.weight.val().to_data(), Tolerance::<f32>::absolute(0.0));
    }

    /// The fused pass and the tensor operations (what a GPU runs) give the same step.
    #[test]
    fn fused_pass_and_tensor_operations_agree() {
        // the optimiser sees the tensors without autodiff
        let device = crate::nn::cpu_device();
        device.seed(9);
        let adam = FusedAdam { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weight_decay: 0.01 };
        let c = adam.coefficients(0.003, 4);
        let normal = || Tensor::<2>::random([70, 500], Distribution::Normal(0.0, 1.0), &device);
        let (w, g, m) = (normal(), normal(), normal());
        let v = normal().abs();
        let fused = fused_step(&c, w.clone(), g.clone(), m.clone(), v.clone());
        let tensors = tensor_step(&c, w, g, m, v);
        let tolerance = Tolerance::<f32>::absolute(1e-6);
        fused.0.to_data().assert_approx_eq::<f32>(&tensors.0.to_data(), tolerance);
        fused.1.to_data().assert_approx_eq::<f32>(&tensors.1.to_data(), tolerance);
        fused.2.to_data().assert_approx_eq::<f32>(&tensors.2.to_data(), tolerance);
    }

    /// A record written by burn's `Adam` (a checkpoint from before this optimiser) resumes with
    /// its moments and step count.
    #[test]
    fn resumes_from_burns_adam_record() {
        let device = training_device();
        device.seed(7);
        let layer: Linear = LinearConfig::new(6, 5).init(&device);
        let x = Tensor::<2>::random([3, 6], Distribution::Normal(0.0, 1.0), &device);
        let grads = |l: &Linear| GradientsParams::from_grads(l.forward(x.clone()).sum().backward(), l);
        let mut theirs = burns(0.0);
        let layer = theirs.step(0.01, layer.clone(), grads(&layer));
        let layer = theirs.step(0.01, layer.clone(), grads(&layer));
        let mut ours = fused(0.0).load_record(theirs.to_record());
        let a = ours.step(0.01, layer.clone(), grads(&layer));
        let b = theirs.step(0.01, layer.clone(), grads(&layer));
        a.weight.val().to_data().assert_approx_eq::<f32>(&b.weight.val().to_data(), Tolerance::<f32>::absolute(1e-6));
    }
}
