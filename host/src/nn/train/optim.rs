//! The optimiser of the `learning` gene as a burn [`ModuleOptimizer`], and its learning rate.
//!
//! Settings are mapped to PyTorch's semantics, which the reference code uses, where burn's
//! defaults differ: SGD momentum without dampening (burn's default dampening is 0.1), Adam and
//! RMSprop with ε = 1e-8 (burn: 1e-5), RMSprop without momentum (burn: 0.9). Weight decay is
//! the coupled L2 form (`g + wd·w`) for all four, as in `torch.optim`. Adam is [`FusedAdam`]: burn's
//! arithmetic in one pass per parameter on burn-flex.

use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{ModuleOptimizer, RmsPropConfig, SgdConfig};

use super::Optimiser;
use super::adam::FusedAdam;
use super::lars::{LARS_ETA, Lars, LarsSchedule, LarsScheduleKind};

/// ε of Adam and RMSprop (PyTorch's default).
pub const ADAPTIVE_EPSILON: f32 = 1e-8;

fn decay(weight_decay: f64) -> Option<WeightDecayConfig> {
    (weight_decay > 0.0).then(|| WeightDecayConfig::new(weight_decay as f32))
}

/// Builds the burn optimiser for `optimiser` (its state starts empty).
pub fn build_optimizer(optimiser: &Optimiser) -> ModuleOptimizer {
    match *optimiser {
        Optimiser::Sgd { momentum, weight_decay, nesterov, .. } => SgdConfig::new()
            .with_momentum((momentum > 0.0).then_some(MomentumConfig { momentum, dampening: 0.0, nesterov }))
            .with_weight_decay(decay(weight_decay))
            .init(),
        Optimiser::Adam { beta1, beta2, weight_decay, .. } => ModuleOptimizer::from(FusedAdam {
            beta1: beta1 as f32,
            beta2: beta2 as f32,
            epsilon: ADAPTIVE_EPSILON,
            weight_decay: weight_decay as f32,
        }),
        Optimiser::RmsProp { alpha, weight_decay, .. } => RmsPropConfig::new()
            .with_alpha(alpha as f32)
            .with_momentum(0.0)
            .with_epsilon(ADAPTIVE_EPSILON)
            .with_weight_decay(decay(weight_decay))
            .init(),
        Optimiser::Lars { lr_weights, lr_biases, momentum, weight_decay } => {
            ModuleOptimizer::from(Lars { lr_weights, lr_biases, momentum, weight_decay, eta: LARS_ETA })
        }
    }
}

/// The learning rate handed to the optimiser at each step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LrSchedule {
    /// The gene's `lr`, every step (SGD, Adam, RMSprop).
    Constant(f64),
    /// LARS warm-up + cosine (the gene's `lr_weights`/`lr_biases` are multipliers of it).
    Lars(LarsSchedule),
}

impl LrSchedule {
    /// The schedule of `optimiser` for batches of `batch_size`, `epochs` epochs of
    /// `steps_per_epoch` steps; `lars` says how a LARS schedule counts its steps.
    pub fn new(
        optimiser: &Optimiser,
        batch_size: usize,
        epochs: usize,
        steps_per_epoch: usize,
        lars: LarsScheduleKind,
    ) -> Self {
        match *optimiser {
            Optimiser::Sgd { lr, .. } | Optimiser::Adam { lr, .. } | Optimiser::RmsProp { lr, .. } => {
                Self::Constant(lr)
            }
            Optimiser::Lars { .. } => Self::Lars(LarsSchedule::new(batch_size, epochs, steps_per_epoch, lars)),
        }
    }

    /// The rate at optimisation step `step` (0-based, over the whole training), which is batch
    /// `batch` of its epoch.
    pub fn lr_at(&self, step: u64, batch: usize) -> f64 {
        match self {
            Self::Constant(lr) => *lr,
            Self::Lars(schedule) => schedule.lr_at(step, batch),
        }
    }
}

#[cfg(test)]
mod tests {
    //! One or two steps of each optimiser on `L = ½‖w‖² + ½‖b‖²` (gradient = the parameters),
    //! compared with the update `torch.optim` computes for the same settings.

    use burn::module::{Module, Param};
    use burn::optim::GradientsParams;
    use burn::tensor::{Device, Tensor};

    use super::*;

    #[derive(Module, Debug)]
    struct Quadratic {
        weight: Param<Tensor<2>>,
        bias: Param<Tensor<1>>,
    }

    const W0: [f32; 2] = [1.0, -2.0];
    const B0: f32 = 0.5;

    fn quadratic(device: &Device) -> Quadratic {
        Quadratic {
            weight: Param::from_tensor(Tensor::from_floats([W0], device)),
            bias: Param::from_tensor(Tensor::from_floats([B0], device)),
        }
    }

    /// Runs `steps` steps at rate `lr`; returns the weights and the bias.
    fn run(optimiser: &Optimiser, lr: f64, steps: usize) -> (Vec<f32>, f32) {
        let device = Device::flex().autodiff();
        let mut model = quadratic(&device);
        let mut optim = build_optimizer(optimiser);
        for _ in 0..steps {
            let loss =
                model.weight.val().square().sum().mul_scalar(0.5) + model.bias.val().square().sum().mul_scalar(0.5);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
        }
        let weight = model.weight.val().into_data().try_to_vec::<f32>().expect("f32 weights");
        (weight, model.bias.val().into_scalar::<f32>())
    }

    fn assert_close(got: &[f32], expected: &[f64]) {
        for (g, e) in got.iter().zip(expected) {
            assert!((f64::from(*g) - e).abs() < 1e-5, "got {got:?}, expected {expected:?}");
        }
    }

    #[test]
    fn sgd_nesterov_momentum_and_decay_match_torch() {
        let sgd = Optimiser::Sgd { lr: 0.1, momentum: 0.9, weight_decay: 0.01, nesterov: true };
        let (w, b) = run(&sgd, 0.1, 2);
        // torch: d = g + wd·p; v = μv + d (v₁ = d); nesterov step = d + μv; p -= lr·step
        let torch = |p0: f64| {
            let d1 = 1.01 * p0;
            let v1 = d1;
            let p1 = p0 - 0.1 * (d1 + 0.9 * v1);
            let d2 = 1.01 * p1;
            let v2 = 0.9 * v1 + d2;
            p1 - 0.1 * (d2 + 0.9 * v2)
        };
        assert_close(&w, &[torch(1.0), torch(-2.0)]);
        assert_close(&[b], &[torch(0.5)]);
    }

    #[test]
    fn adam_betas_and_decay_match_torch() {
        let adam = Optimiser::Adam { lr: 0.01, beta1: 0.8, beta2: 0.95, weight_decay: 0.1 };
        let (w, b) = run(&adam, 0.01, 2);
        let torch = |p0: f64| {
            let (mut p, mut m, mut v) = (p0, 0.0, 0.0);
            for t in 1..=2 {
                let g = p * 1.1;
                m = 0.8 * m + 0.2 * g;
                v = 0.95 * v + 0.05 * g * g;
                let (mh, vh) = (m / (1.0 - 0.8f64.powi(t)), v / (1.0 - 0.95f64.powi(t)));
                p -= 0.01 * mh / (vh.sqrt() + 1e-8);
            }
            p
        };
        assert_close(&w, &[torch(1.0), torch(-2.0)]);
        assert_close(&[b], &[torch(0.5)]);
    }

    #[test]
    fn rmsprop_alpha_and_decay_match_torch() {
        let rms = Optimiser::RmsProp { lr: 0.01, alpha: 0.9, weight_decay: 0.05 };
        let (w, b) = run(&rms, 0.01, 2);
        let torch = |p0: f64| {
            let (mut p, mut v) = (p0, 0.0);
            for _ in 0..2 {
                let g = p * 1.05;
                v = 0.9 * v + 0.1 * g * g;
                p -= 0.01 * g / (v.sqrt() + 1e-8);
            }
            p
        };
        assert_close(&w, &[torch(1.0), torch(-2.0)]);
        assert_close(&[b], &[torch(0.5)]);
    }

    #[test]
    fn lars_uses_trust_ratio_and_group_multipliers() {
        let lars = Optimiser::Lars { lr_weights: 0.2, lr_biases: 0.005, momentum: 0.9, weight_decay: 1e-5 };
        let (w, b) = run(&lars, 2.0, 1);
        // weights: d = (1+wd)·w, trust = η‖w‖/‖d‖ = η/(1+wd), so the step is η·w·rate
        let rate_w = 2.0 * 0.2;
        assert_close(&w, &[1.0 - rate_w * LARS_ETA * 1.0, -2.0 - rate_w * LARS_ETA * -2.0]);
        // bias: no decay, no trust ratio
        assert_close(&[b], &[0.5 - 2.0 * 0.005 * 0.5]);
    }

    #[test]
    fn schedules_follow_the_optimiser() {
        let adam = Optimiser::Adam { lr: 0.003, beta1: 0.9, beta2: 0.999, weight_decay: 0.0 };
        assert_eq!(LrSchedule::new(&adam, 64, 100, 10, LarsScheduleKind::Global).lr_at(12345, 5), 0.003);
        let lars = Optimiser::Lars { lr_weights: 0.1, lr_biases: 0.01, momentum: 0.9, weight_decay: 0.0 };
        let schedule = LrSchedule::new(&lars, 128, 100, 10, LarsScheduleKind::Global);
        assert_eq!(schedule.lr_at(100, 0), 0.5, "base_lr = 128/256 at the end of warm-up");
        let reference = LrSchedule::new(&lars, 128, 100, 10, LarsScheduleKind::Reference);
        assert_eq!(reference.lr_at(100, 0), 0.0, "the reference restarts every epoch");
    }
}
