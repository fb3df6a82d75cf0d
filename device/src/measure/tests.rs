//! Tests of the measurement protocol with short windows on the power-model sensor, on a board
//! twin's virtual clock (deterministic board time).

use std::sync::Arc;
use std::time::Instant;

use wattevo_proto::{MeasureProtocol, ModelHash, PowerModelSettings};

use super::*;
use crate::clock::VirtualClock;
use crate::runner::load_model;
use crate::sim::twin::tests::pi4_twin;
use crate::sim::{CpuLoad, ModelSensor, PowerModel};
use crate::test_support::{OnnxCnn, build_cnn};

fn settings(noise_w: f64) -> PowerModelSettings {
    PowerModelSettings { supply_v: 5.0, idle_w: 2.7, core_w: 0.9, dram_nj_per_byte: 0.5, noise_w, seed: 42, twin: None }
}

fn sampler(load: &Arc<LoadSignal>, cpu: CpuLoad, noise_w: f64) -> Sampler {
    let model = PowerModel::with_cpu_load(settings(noise_w), Arc::clone(load), cpu);
    let clock = BoardClock::Virtual(VirtualClock::new());
    Sampler::new(Box::new(ModelSensor::on(model, Duration::from_micros(532), clock)), 0)
}

/// A load signal driven by the Pi 4 B twin.
fn twin_load() -> Arc<LoadSignal> {
    LoadSignal::with_twin(pi4_twin(1))
}

fn request(target_ci_pct: f32) -> MeasureRequest {
    MeasureRequest {
        hash: ModelHash([0; 32]),
        input_shape: vec![1, 1, 8, 8],
        input_seed: 1,
        protocol: MeasureProtocol {
            warmup_runs: 5,
            min_runs: 10,
            min_duration_ms: 50,
            min_repetitions: 2,
            max_repetitions: 3,
            target_ci_pct,
            idle_window_ms: 50,
            idle_mismatch_pct: 5.0,
        },
        thermal_wait_ms: 0,
    }
}

fn run(sampler: &mut Sampler, load: &LoadSignal, req: &MeasureRequest) -> Measurement {
    let model = load_model(&build_cnn(&OnnxCnn::small(), 3), None).expect("load");
    let thermal = ThermalSettings { max_start_c: 200.0, max_wait_ms: 0 };
    let mut ctx = MeasureContext { sampler, load, sensor: SensorKind::PowerModel, thermal: &thermal };
    measure(&model, req, &mut ctx).expect("measure")
}

/// `expected` is within the 95 % CI of `stats` widened by 5 % of the mean.
pub(crate) fn assert_within_sampling_error(stats: wattevo_proto::RepStats, expected: f64) {
    let allowed = stats.ci95 + 0.05 * stats.mean.abs();
    assert!((stats.mean - expected).abs() <= allowed, "{stats:?} vs {expected} (allowed {allowed})");
}

#[test]
fn figures_are_consistent() {
    let load = twin_load();
    // A fixed extra half core under the twin's load: it shows in the idle windows too.
    let mut sampler = sampler(&load, CpuLoad::Fixed(0.5), 0.02);
    let m = run(&mut sampler, &load, &request(0.0));
    assert_eq!(m.stop_reason, StopReason::MaxRepetitions, "a 0 % target is never reached");
    assert_eq!(m.repetitions, 3);
    assert!(m.inferences >= 30);
    // Idle: 2.7 W + 0.5 core × 0.9 W; noise 0.02 W averaged over ≈ 90 samples. The twin's
    // inferences end with the timed windows: the idle window after sees idle again.
    assert!((m.idle_before_w - 3.15).abs() < 0.01, "idle before {}", m.idle_before_w);
    assert!(m.idle_after_w >= m.idle_before_w - 0.01 && m.idle_after_w < 3.3, "idle after {}", m.idle_after_w);
    assert!(m.total_power_w.mean > m.idle_power_w + 0.01, "the twin's inferences cost power");
    let dynamic = m.total_power_w.mean - m.idle_power_w;
    assert!((m.dynamic_power_w.mean - dynamic).abs() < 1e-9, "dynamic = total - idle");
    // Energy per inference ≈ mean power × mean latency, within the spread of the repetitions
    // (latencies tile each window exactly; the repetition mean weighs windows equally while the
    // latency mean weighs every run, which differ when the machine is shared).
    let e = m.energy_per_inference_j;
    assert_within_sampling_error(e, m.total_power_w.mean * m.latency_mean_us * 1e-6);
    assert_within_sampling_error(m.dynamic_energy_per_inference_j, dynamic * m.latency_mean_us * 1e-6);
    assert!(m.latency_p50_us <= m.latency_p99_us);
    // 1880 Hz nominal; on board time the sampler keeps its schedule exactly, and a 50 ms window
    // also counts the readings that bracket it (≈ 4 % more).
    assert!(m.sample_rate_hz > 300.0 && m.sample_rate_hz < 2100.0, "rate {}", m.sample_rate_hz);
    assert!(m.cpu_utilisation_cores > 0.5, "cpu {}", m.cpu_utilisation_cores);
}

#[test]
fn a_wide_target_stops_at_the_minimum_repetitions() {
    let load = twin_load();
    let mut sampler = sampler(&load, CpuLoad::Fixed(1.0), 0.0);
    let m = run(&mut sampler, &load, &request(1000.0));
    assert_eq!(m.stop_reason, StopReason::CiReached);
    assert_eq!(m.repetitions, 2);
    assert!(!m.idle_mismatch);
}

#[test]
fn bad_requests_are_refused() {
    let load = LoadSignal::new();
    let mut sampler = sampler(&load, CpuLoad::Fixed(0.0), 0.0);
    let model = load_model(&build_cnn(&OnnxCnn::small(), 3), None).expect("load");
    let thermal = ThermalSettings::default();
    let mut ctx =
        MeasureContext { sampler: &mut sampler, load: &load, sensor: SensorKind::PowerModel, thermal: &thermal };
    let mut req = request(2.0);
    req.protocol.min_repetitions = 0;
    assert!(matches!(measure(&model, &req, &mut ctx), Err(MeasureError::BadRequest(_))));
    let mut req = request(2.0);
    req.protocol.idle_window_ms = MAX_WINDOW_MS + 1;
    assert!(matches!(measure(&model, &req, &mut ctx), Err(MeasureError::BadRequest(_))));
}

#[test]
fn idle_mismatch_is_flagged_beyond_the_threshold() {
    assert!(!IdleFigures::new(2.70, 2.75, 5.0).mismatch);
    assert!(IdleFigures::new(2.50, 2.90, 5.0).mismatch);
}

#[test]
fn thermal_gate_waits_for_cooling_and_is_bounded() {
    let reads = std::cell::Cell::new(0);
    let cooling = || {
        reads.set(reads.get() + 1);
        80.0 - 10.0 * reads.get() as f32
    };
    let t = thermal_gate(cooling, 55.0, Duration::from_secs(5), Duration::from_millis(1));
    assert_eq!(t, 50.0);
    let started = Instant::now();
    let hot = thermal_gate(|| 90.0, 55.0, Duration::from_millis(20), Duration::from_millis(5));
    assert_eq!(hot, 90.0);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(thermal_gate(|| f32::NAN, 55.0, Duration::from_secs(5), Duration::from_millis(1)).is_nan());
}

#[test]
fn read_sensor_reports_idle_means() {
    let load = LoadSignal::new();
    let mut sampler = sampler(&load, CpuLoad::Fixed(0.0), 0.0);
    let r = read_sensor(&mut sampler, SensorKind::PowerModel, Duration::from_millis(30)).expect("read");
    assert!((r.power_w - 2.7).abs() < 1e-9);
    assert!((r.bus_voltage_v - 5.0).abs() < 1e-12);
    assert!(r.samples > 5);
}
