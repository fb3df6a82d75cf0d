//! The board power model: what the simulated board's supply draws over time.
//!
//! `P(t) = idle_w + core_w × fixed_cores + dynamic(t) + noise`, delivered as an
//! [`AnalogueSample`] (`current = P / supply_v` at `supply_v`). `dynamic(t)` is the board
//! twin's power above idle for the inferences the agent ran, read from the [`LoadSignal`]
//! timeline on the board clock; `fixed_cores` is zero except in tests ([`CpuLoad::Fixed`]).
//! The emulated INA219 asks for the mean over each conversion ([`AnalogueSource::mean_over`]),
//! which the model integrates exactly, so a converter never aliases against the inference
//! rhythm. The noise is Gaussian, seeded (ChaCha8), one draw per conversion with the standard
//! deviation of `noise_w` over √samples. Every figure this model produces is simulated.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wattevo_proto::PowerModelSettings;

use super::{AnalogueSample, AnalogueSource, LoadSignal};

/// Busy cores besides what the twin models.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CpuLoad {
    /// None: only the twin's trace (the simulated board).
    Trace,
    /// A fixed number of busy cores on top of the trace (tests).
    Fixed(f64),
}

/// The board power model, an [`AnalogueSource`].
#[derive(Debug)]
pub struct PowerModel {
    settings: PowerModelSettings,
    load: Arc<LoadSignal>,
    cpu_load: CpuLoad,
    rng: ChaCha8Rng,
}

impl PowerModel {
    /// A model driven by the twin's trace in `load`.
    pub fn new(settings: PowerModelSettings, load: Arc<LoadSignal>) -> Self {
        Self::with_cpu_load(settings, load, CpuLoad::Trace)
    }

    /// A model with extra fixed load (tests).
    pub fn with_cpu_load(settings: PowerModelSettings, load: Arc<LoadSignal>, cpu_load: CpuLoad) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(settings.seed);
        Self { settings, load, cpu_load, rng }
    }

    /// The settings the model was built from.
    pub fn settings(&self) -> &PowerModelSettings {
        &self.settings
    }

    /// Noise-free power with nothing but the fixed load, watts.
    fn base_power_w(&self) -> f64 {
        let fixed = match self.cpu_load {
            CpuLoad::Trace => 0.0,
            CpuLoad::Fixed(cores) => cores,
        };
        self.settings.idle_w + self.settings.core_w * fixed
    }

    /// Noise-free mean power over `[from, from + span]` (the instant itself when `span` is 0).
    pub fn mean_power_w(&self, from: Instant, span: Duration) -> f64 {
        let dynamic_w = if span.is_zero() {
            self.load.dynamic_power_w(from)
        } else {
            self.load.dynamic_energy_j(from, from + span) / span.as_secs_f64()
        };
        self.base_power_w() + dynamic_w
    }

    /// One standard normal deviate (Box–Muller).
    fn gaussian(&mut self) -> f64 {
        let u1: f64 = 1.0 - self.rng.random::<f64>();
        let u2: f64 = self.rng.random::<f64>();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    fn supply(&mut self, mean_w: f64, samples: u32) -> AnalogueSample {
        let noise_w = self.settings.noise_w * self.gaussian() / f64::from(samples.max(1)).sqrt();
        let power_w = (mean_w + noise_w).max(0.0);
        let supply_v = self.settings.supply_v;
        let current_a = if supply_v > 0.0 { power_w / supply_v } else { 0.0 };
        AnalogueSample { bus_voltage_v: supply_v, current_a }
    }
}

impl AnalogueSource for PowerModel {
    fn sample(&mut self, at: Instant) -> AnalogueSample {
        let mean_w = self.mean_power_w(at, Duration::ZERO);
        self.supply(mean_w, 1)
    }

    fn mean_over(&mut self, from: Instant, span: Duration, samples: u32) -> AnalogueSample {
        let mean_w = self.mean_power_w(from, span);
        self.supply(mean_w, samples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::load::REPLAY;
    use crate::sim::twin::tests::{pi4_twin, small_cnn_facts};

    fn settings(noise_w: f64) -> PowerModelSettings {
        PowerModelSettings {
            supply_v: 5.0,
            idle_w: 2.7,
            core_w: 0.9,
            dram_nj_per_byte: 0.5,
            noise_w,
            seed: 7,
            twin: None,
        }
    }

    fn power(s: AnalogueSample) -> f64 {
        s.bus_voltage_v * s.current_a
    }

    #[test]
    fn idle_power_without_load_is_the_profile_idle() {
        let mut model = PowerModel::new(settings(0.0), LoadSignal::new());
        let start = Instant::now();
        for k in 0..50 {
            let p = power(model.sample(start + Duration::from_millis(k * 11)));
            assert!((p - 2.7).abs() < 1e-12, "idle {p}");
        }
    }

    #[test]
    fn fixed_cores_add_their_power() {
        let mut model = PowerModel::with_cpu_load(settings(0.0), LoadSignal::new(), CpuLoad::Fixed(2.0));
        let p = power(model.mean_over(Instant::now(), Duration::from_micros(532), 1));
        assert!((p - (2.7 + 2.0 * 0.9)).abs() < 1e-12, "power {p}");
    }

    #[test]
    fn an_inference_draws_the_twins_power_for_its_modelled_time() {
        let load = LoadSignal::with_twin(pi4_twin(1));
        let facts = small_cnn_facts();
        load.set_model(&facts);
        let mut model = PowerModel::new(settings(0.0), Arc::clone(&load));
        let start = Instant::now();
        let ran = load.ran(start);
        let expected = load.twin().expect("twin").totals(&facts);
        assert_eq!(ran.each, Duration::from_secs_f64(expected.latency_s));
        // A short model: one real run stands for a millisecond of identical runs.
        assert!(ran.each * ran.count <= REPLAY && ran.each * (ran.count + 1) > REPLAY, "{ran:?}");
        let busy = ran.each * ran.count;
        // The mean over exactly the inference is the twin's mean power (up to the nanosecond
        // the board clock rounds the inference to); after it, idle.
        let p = power(model.mean_over(start, busy, 1));
        assert!((p - expected.power_w()).abs() < 1e-4 * p, "{p} vs {}", expected.power_w());
        let after = power(model.mean_over(start + busy, busy, 1));
        assert!((after - 2.7).abs() < 1e-12, "after {after}");
        // Half a window over the inference's end: half its energy above idle.
        let half = model.mean_power_w(start + busy / 2, busy) - 2.7;
        assert!(half > 0.0 && half < expected.power_w() - 2.7, "{half}");
    }

    #[test]
    fn noise_is_seeded_and_has_the_configured_spread() {
        let run = || {
            let mut m = PowerModel::new(settings(0.1), LoadSignal::new());
            let start = Instant::now();
            (0..4000).map(|k| power(m.sample(start + Duration::from_micros(k * 500)))).collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run(), "same seed, same noise");
        let mean = a.iter().sum::<f64>() / a.len() as f64;
        let var = a.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / (a.len() - 1) as f64;
        assert!((mean - 2.7).abs() < 0.01, "mean {mean}");
        assert!((var.sqrt() - 0.1).abs() < 0.01, "std {}", var.sqrt());
    }
}
