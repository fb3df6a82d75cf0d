//! The board power model: what the simulated board's supply draws, as a function of load.
//!
//! `P = idle_w + core_w × busy_cores + dram_nj_per_byte × bytes_moved_per_s × 1e-9 + noise`,
//! delivered as an [`AnalogueSample`] (`current = P / supply_v` at `supply_v`). `busy_cores` is
//! the agent process's own measured CPU utilisation over a short sliding window (process CPU
//! time from `CLOCK_PROCESS_CPUTIME_ID`); `bytes_moved_per_s` comes from the [`LoadSignal`] the
//! runner updates after every inference. The noise is Gaussian, seeded (ChaCha8), so a test
//! sees the same noise sequence every time. Every figure this model produces is simulated.
//!
//! The simulated board reads it through the emulated INA219 (the real driver and sampler);
//! tests may read it directly with [`ModelSensor`](super::ModelSensor) (no chip).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wattevo_proto::PowerModelSettings;

use super::{AnalogueSample, AnalogueSource};

/// Shortest interval over which utilisation and memory traffic are re-estimated.
const WINDOW: Duration = Duration::from_millis(10);

/// Load figures the runner publishes for the power model (lock-free).
#[derive(Debug, Default)]
pub struct LoadSignal {
    inferences: AtomicU64,
    bytes_per_inference: AtomicU64,
}

impl LoadSignal {
    /// A signal with no inference recorded.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Declares the DRAM bytes one inference of the current model moves.
    pub fn set_bytes_per_inference(&self, bytes: u64) {
        self.bytes_per_inference.store(bytes, Ordering::Relaxed);
    }

    /// Counts one completed inference.
    pub fn record_inference(&self) {
        self.inferences.fetch_add(1, Ordering::Relaxed);
    }

    /// Total bytes moved so far (inferences × bytes per inference of the current model).
    fn bytes_moved(&self) -> u64 {
        let runs = self.inferences.load(Ordering::Relaxed);
        runs.saturating_mul(self.bytes_per_inference.load(Ordering::Relaxed))
    }
}

/// Most memory traffic the model charges, bytes per second: about what a Raspberry Pi 4's
/// LPDDR4 sustains. The byte estimate counts every weight and activation as DRAM traffic, and
/// a fast host runs small models many times faster than a Pi, so without a cap the DRAM term
/// alone could exceed a real board's whole power budget.
pub const DRAM_BYTES_PER_S_MAX: f64 = 4e9;

/// Where the CPU utilisation comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CpuLoad {
    /// The agent process's measured CPU time, minus that of the thread reading the sensor: the
    /// sampler is the measuring apparatus, not load on the board, so a board doing nothing
    /// reads its profile's idle power.
    Process,
    /// A fixed number of busy cores (tests).
    Fixed(f64),
}

/// Process CPU time consumed so far; zero if the clock is unavailable.
pub fn process_cpu_time() -> Duration {
    use nix::time::{ClockId, clock_gettime};
    clock_gettime(ClockId::CLOCK_PROCESS_CPUTIME_ID).map(Duration::from).unwrap_or_default()
}

/// CPU time of the calling thread (the sampler's, when the sensor reads the model).
pub fn thread_cpu_time() -> Duration {
    use nix::time::{ClockId, clock_gettime};
    clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).map(Duration::from).unwrap_or_default()
}

/// A checkpoint of the counters the rates are computed from.
#[derive(Debug, Clone, Copy)]
struct Checkpoint {
    at: Instant,
    /// The thread that read the counters (the CPU subtracted is that thread's).
    thread: std::thread::ThreadId,
    cpu: Duration,
    bytes: u64,
}

/// The board power model, an [`AnalogueSource`].
#[derive(Debug)]
pub struct PowerModel {
    settings: PowerModelSettings,
    load: Arc<LoadSignal>,
    cpu_load: CpuLoad,
    rng: ChaCha8Rng,
    last: Option<Checkpoint>,
    busy_cores: f64,
    bytes_per_s: f64,
}

impl PowerModel {
    /// A model driven by the process's CPU time and `load`.
    pub fn new(settings: PowerModelSettings, load: Arc<LoadSignal>) -> Self {
        Self::with_cpu_load(settings, load, CpuLoad::Process)
    }

    /// A model with an explicit CPU utilisation source.
    pub fn with_cpu_load(settings: PowerModelSettings, load: Arc<LoadSignal>, cpu_load: CpuLoad) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(settings.seed);
        let busy_cores = match cpu_load {
            CpuLoad::Process => 0.0,
            CpuLoad::Fixed(cores) => cores,
        };
        Self { settings, load, cpu_load, rng, last: None, busy_cores, bytes_per_s: 0.0 }
    }

    /// The settings the model was built from.
    pub fn settings(&self) -> &PowerModelSettings {
        &self.settings
    }

    /// Noise-free power at the current load estimate, watts.
    pub fn mean_power_w(&self) -> f64 {
        let s = &self.settings;
        s.idle_w + s.core_w * self.busy_cores + s.dram_nj_per_byte * self.bytes_per_s * 1e-9
    }

    /// Re-estimates busy cores and bytes per second once a window has passed.
    fn update_rates(&mut self, at: Instant) {
        let cpu = match self.cpu_load {
            CpuLoad::Process => process_cpu_time().saturating_sub(thread_cpu_time()),
            CpuLoad::Fixed(_) => Duration::ZERO,
        };
        let now = Checkpoint { at, thread: std::thread::current().id(), cpu, bytes: self.load.bytes_moved() };
        let Some(last) = self.last.filter(|last| last.thread == now.thread) else {
            // First reading, or a new sampler thread (one per window): its CPU time cannot be
            // subtracted from the last checkpoint's, so the rates restart from here.
            self.last = Some(now);
            return;
        };
        let dt_s = at.saturating_duration_since(last.at).as_secs_f64();
        if dt_s < WINDOW.as_secs_f64() {
            return;
        }
        self.busy_cores = match self.cpu_load {
            CpuLoad::Process => now.cpu.saturating_sub(last.cpu).as_secs_f64() / dt_s,
            CpuLoad::Fixed(cores) => cores,
        };
        self.bytes_per_s = (now.bytes.saturating_sub(last.bytes) as f64 / dt_s).min(DRAM_BYTES_PER_S_MAX);
        self.last = Some(now);
    }

    /// One standard normal deviate (Box–Muller).
    fn gaussian(&mut self) -> f64 {
        let u1: f64 = 1.0 - self.rng.random::<f64>();
        let u2: f64 = self.rng.random::<f64>();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

impl AnalogueSource for PowerModel {
    fn sample(&mut self, at: Instant) -> AnalogueSample {
        self.update_rates(at);
        let noise_w = self.settings.noise_w * self.gaussian();
        let power_w = (self.mean_power_w() + noise_w).max(0.0);
        let supply_v = self.settings.supply_v;
        let current_a = if supply_v > 0.0 { power_w / supply_v } else { 0.0 };
        AnalogueSample { bus_voltage_v: supply_v, current_a }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(noise_w: f64) -> PowerModelSettings {
        PowerModelSettings { supply_v: 5.0, idle_w: 2.7, core_w: 0.9, dram_nj_per_byte: 0.5, noise_w, seed: 7 }
    }

    fn mean_power(model: &mut PowerModel, start: Instant, n: u32) -> f64 {
        let mut sum_w = 0.0;
        for k in 0..n {
            let at = start + Duration::from_millis(u64::from(k) * 11);
            let s = model.sample(at);
            sum_w += s.bus_voltage_v * s.current_a;
        }
        sum_w / f64::from(n)
    }

    #[test]
    fn idle_power_without_load_is_the_profile_idle() {
        let mut model = PowerModel::with_cpu_load(settings(0.0), LoadSignal::new(), CpuLoad::Fixed(0.0));
        let p = mean_power(&mut model, Instant::now(), 50);
        assert!((p - 2.7).abs() < 1e-12, "idle {p}");
    }

    #[test]
    fn busy_cores_and_memory_traffic_add_power() {
        let load = LoadSignal::new();
        load.set_bytes_per_inference(1_000_000);
        let mut model = PowerModel::with_cpu_load(settings(0.0), Arc::clone(&load), CpuLoad::Fixed(2.0));
        let start = Instant::now();
        model.sample(start);
        for _ in 0..60 {
            load.record_inference();
        }
        // 60 inferences × 1 MB in 20 ms = 3 GB/s → 0.5 nJ/B × 3e9 B/s = 1.5 W.
        let s = model.sample(start + Duration::from_millis(20));
        let p = s.bus_voltage_v * s.current_a;
        let expected = 2.7 + 0.9 * 2.0 + 1.5;
        assert!((p - expected).abs() < 1e-9, "power {p}, expected {expected}");
        // 100 more in the next 20 ms would be 5 GB/s: capped at what a Pi's DRAM sustains.
        for _ in 0..100 {
            load.record_inference();
        }
        let s = model.sample(start + Duration::from_millis(40));
        let capped = 2.7 + 0.9 * 2.0 + 0.5 * DRAM_BYTES_PER_S_MAX * 1e-9;
        assert!(
            (s.bus_voltage_v * s.current_a - capped).abs() < 1e-9,
            "capped power {}",
            s.bus_voltage_v * s.current_a
        );
    }

    #[test]
    fn noise_is_seeded_and_has_the_configured_spread() {
        let run = || {
            let mut m = PowerModel::with_cpu_load(settings(0.1), LoadSignal::new(), CpuLoad::Fixed(0.0));
            let start = Instant::now();
            (0..4000).map(|k| m.sample(start + Duration::from_micros(k * 500)).current_a * 5.0).collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run(), "same seed, same noise");
        let mean = a.iter().sum::<f64>() / a.len() as f64;
        let var = a.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / (a.len() - 1) as f64;
        assert!((mean - 2.7).abs() < 0.01, "mean {mean}");
        assert!((var.sqrt() - 0.1).abs() < 0.01, "std {}", var.sqrt());
    }

    #[test]
    fn process_load_is_seen_by_the_model() {
        let mut model = PowerModel::new(settings(0.0), LoadSignal::new());
        let start = Instant::now();
        model.sample(start);
        // The load runs on another thread: the sampling thread's own CPU is not board load.
        let worker = std::thread::spawn(move || {
            let mut x = 0u64;
            while start.elapsed() < Duration::from_millis(60) {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        });
        let _ = worker.join();
        let s = model.sample(Instant::now());
        let busy = (s.current_a * 5.0 - 2.7) / 0.9;
        // Other processes may share the 2 cores: demand only a clearly non-zero share.
        assert!(busy > 0.1 && busy < 2.5, "busy cores {busy}");
    }
}
