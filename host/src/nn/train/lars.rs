//! LARS (layer-wise adaptive rate scaling) as a burn [`Optimizer`], as the reference code uses
//! it (the Barlow Twins formulation), and its learning-rate schedule, counted either over the
//! whole training (wattevo's default) or as the reference's trainer counts it
//! ([`LarsScheduleKind`]).
//!
//! Per parameter tensor `w` with gradient `g`, scheduled rate `lr` and momentum buffer `μ`:
//! - weights (rank ≥ 2): `d = g + wd·w`, then `d ← d · η‖w‖/‖d‖` (trust ratio; 1 when either
//!   norm is 0), rate `lr · lr_weights`;
//! - biases and other rank-1 tensors (batch-norm scale and shift): no weight decay, no trust
//!   ratio, rate `lr · lr_biases`;
//! - `μ ← momentum·μ + d` (μ starts at 0), `w ← w − rate·μ`.
//!
//! Schedule ([`LarsSchedule`]): linear warm-up from 0 to `base = batch_size / 256` over 10
//! epochs, then a cosine from `base` to `end = 0.001·base` over the remaining `epochs − 10`
//! epochs. [`LarsScheduleKind`] says what the step counter is:
//! - [`LarsScheduleKind::Global`] (wattevo's default): the optimisation step over the whole
//!   training, so the rate warms up to `base` and decays as the schedule says;
//! - [`LarsScheduleKind::Reference`]: the batch index within the epoch, which is what the
//!   reference's trainer passes (`adjust_learning_rate(n_batches, n_epochs, i)`). The step never
//!   leaves the warm-up, so the rate is a per-epoch sawtooth from 0 to just under `base/10`.

use burn::optim::{LearningRate, Optimizer, RecordState, StateSink, StateSource};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// LARS trust coefficient η of the reference code.
pub const LARS_ETA: f64 = 0.001;
/// Warm-up length of the LARS schedule, in epochs.
pub const LARS_WARMUP_EPOCHS: usize = 10;
/// `end_lr = LARS_END_FRACTION · base_lr`.
pub const LARS_END_FRACTION: f64 = 0.001;

/// LARS settings; the rate comes from [`LarsSchedule`] at every step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lars {
    /// Multiplier of the scheduled rate for weights (rank ≥ 2).
    pub lr_weights: f64,
    /// Multiplier of the scheduled rate for rank-1 tensors (biases, batch-norm parameters).
    pub lr_biases: f64,
    /// Momentum factor.
    pub momentum: f64,
    /// L2 penalty on weights.
    pub weight_decay: f64,
    /// Trust coefficient η.
    pub eta: f64,
}

/// The momentum buffer of one parameter.
#[derive(Debug, Clone)]
pub struct LarsState<const D: usize> {
    /// `μ`, same shape as the parameter.
    pub mu: Tensor<D>,
}

impl<const D: usize> RecordState for LarsState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        out.push_tensor(prefix, "mu", self.mu.clone().into_data());
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let data = src.take_tensor(prefix, "mu")?;
        Some(Self { mu: Tensor::from_data(data, device) })
    }
}

fn l2_norm<const D: usize>(tensor: &Tensor<D>) -> f64 {
    f64::from(tensor.clone().square().sum().sqrt().into_scalar::<f32>())
}

impl Optimizer for Lars {
    type State<const D: usize> = LarsState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let (update, rate) = if D >= 2 {
            let decayed = grad + tensor.clone().mul_scalar(self.weight_decay);
            let (param_norm, update_norm) = (l2_norm(&tensor), l2_norm(&decayed));
            let trust = if param_norm > 0.0 && update_norm > 0.0 { self.eta * param_norm / update_norm } else { 1.0 };
            (decayed.mul_scalar(trust), lr * self.lr_weights)
        } else {
            (grad, lr * self.lr_biases)
        };
        let mu = match state {
            Some(state) => state.mu.mul_scalar(self.momentum) + update,
            None => update,
        };
        (tensor - mu.clone().mul_scalar(rate), Some(LarsState { mu }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        LarsState { mu: state.mu.to_device(device) }
    }
}

/// What the LARS schedule counts its steps in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LarsScheduleKind {
    /// Optimisation steps over the whole training: warm-up to `base`, then the cosine.
    #[default]
    Global,
    /// The batch index within each epoch, as the reference's trainer passes it: a per-epoch
    /// sawtooth below `base/10`.
    Reference,
}

impl crate::named::Named for LarsScheduleKind {
    const KIND: &'static str = "LARS schedule";
    const VALUES: &'static [(Self, &'static str, &'static str)] = &[
        (Self::Global, "global", "warm-up then cosine over the whole training's steps"),
        (Self::Reference, "reference", "the reference's in-epoch batch index: a sawtooth below base/10"),
    ];
}
crate::named::named_enum_text!(LarsScheduleKind);

/// The LARS learning rate per step: warm-up, then cosine decay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LarsSchedule {
    /// Peak rate, `batch_size / 256`.
    pub base_lr: f64,
    /// Final rate, `0.001 · base_lr`.
    pub end_lr: f64,
    /// Steps of linear warm-up.
    pub warmup_steps: u64,
    /// Steps of the whole schedule (`epochs · steps_per_epoch`).
    pub total_steps: u64,
    /// What the step counter is.
    pub kind: LarsScheduleKind,
}

impl LarsSchedule {
    /// The schedule for `epochs` epochs of `steps_per_epoch` batches of `batch_size`.
    pub fn new(batch_size: usize, epochs: usize, steps_per_epoch: usize, kind: LarsScheduleKind) -> Self {
        let base_lr = batch_size as f64 / 256.0;
        let steps_per_epoch = steps_per_epoch as u64;
        Self {
            base_lr,
            end_lr: LARS_END_FRACTION * base_lr,
            warmup_steps: LARS_WARMUP_EPOCHS as u64 * steps_per_epoch,
            total_steps: (epochs as u64 * steps_per_epoch).max(1),
            kind,
        }
    }

    /// The rate at optimisation step `step` (0-based, counted over the whole training), which
    /// is batch `batch` (0-based) of its epoch.
    pub fn lr_at(&self, step: u64, batch: usize) -> f64 {
        let step = match self.kind {
            LarsScheduleKind::Global => step,
            LarsScheduleKind::Reference => batch as u64,
        };
        if step < self.warmup_steps {
            return self.base_lr * step as f64 / self.warmup_steps as f64;
        }
        let span = self.total_steps.saturating_sub(self.warmup_steps).max(1);
        let progress = (step - self.warmup_steps).min(span) as f64 / span as f64;
        let q = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
        self.base_lr * q + self.end_lr * (1.0 - q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_warms_up_then_decays_to_end() {
        let schedule = LarsSchedule::new(512, 20, 100, LarsScheduleKind::Global);
        let at = |step: u64| schedule.lr_at(step, (step % 100) as usize);
        assert_eq!(schedule.base_lr, 2.0);
        assert_eq!(at(0), 0.0);
        assert!((at(500) - 1.0).abs() < 1e-12, "half-way through warm-up");
        assert!((at(1000) - 2.0).abs() < 1e-12, "peak after 10 epochs");
        let mid = at(1500);
        assert!((mid - (2.0 + 0.002) / 2.0).abs() < 1e-9, "cosine midpoint {mid}");
        assert!((at(2000) - 0.002).abs() < 1e-12);
        assert!((at(5000) - 0.002).abs() < 1e-12, "stays at end_lr");
    }

    #[test]
    fn reference_schedule_is_a_per_epoch_sawtooth() {
        // batch 512 → base 2; 4 batches per epoch, so warm-up would last 40 steps; the reference
        // passes the in-epoch index, so every epoch climbs 0, 2·1/40, 2·2/40, 2·3/40 and restarts
        let schedule = LarsSchedule::new(512, 10_000, 4, LarsScheduleKind::Reference);
        let rates: Vec<f64> = (0..8u64).map(|step| schedule.lr_at(step, (step % 4) as usize)).collect();
        let expected = [0.0, 0.05, 0.1, 0.15, 0.0, 0.05, 0.1, 0.15];
        for (got, want) in rates.iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{rates:?} vs {expected:?}");
        }
        assert!(rates.iter().all(|&r| r < schedule.base_lr / 10.0), "never reaches base/10");
        // the global schedule over the same two epochs keeps climbing
        let global = LarsSchedule::new(512, 10_000, 4, LarsScheduleKind::Global);
        assert!((global.lr_at(7, 3) - 2.0 * 7.0 / 40.0).abs() < 1e-12);
    }

    #[test]
    fn trust_ratio_scales_weights_only() {
        let device = Device::flex();
        let lars = Lars { lr_weights: 0.2, lr_biases: 0.01, momentum: 0.9, weight_decay: 0.0, eta: LARS_ETA };
        // weights: ‖w‖ = 5, ‖g‖ = 10 → trust = 0.001·5/10 = 5e-4; rate = 1·0.2
        let w = Tensor::<2>::from_floats([[3.0, 4.0]], &device);
        let g = Tensor::<2>::from_floats([[6.0, 8.0]], &device);
        let (w1, _) = lars.step(1.0, w, g, None);
        let expected = [3.0 - 0.2 * 6.0 * 5e-4, 4.0 - 0.2 * 8.0 * 5e-4];
        let got = w1.into_data().try_to_vec::<f32>().expect("f32");
        for (g, e) in got.iter().zip(expected) {
            assert!((f64::from(*g) - e).abs() < 1e-6, "{got:?} vs {expected:?}");
        }
        // biases: plain momentum SGD at lr·lr_biases
        let b = Tensor::<1>::from_floats([1.0], &device);
        let (b1, state) = lars.step(1.0, b, Tensor::<1>::from_floats([2.0], &device), None);
        let (b2, _) = lars.step(1.0, b1, Tensor::<1>::from_floats([2.0], &device), state);
        // μ1 = 2, b1 = 1 − 0.02 = 0.98; μ2 = 0.9·2 + 2 = 3.8, b2 = 0.98 − 0.038 = 0.942
        let got = b2.into_scalar::<f32>();
        assert!((f64::from(got) - 0.942).abs() < 1e-6, "{got}");
    }
}
