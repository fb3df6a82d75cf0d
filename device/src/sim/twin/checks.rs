//! The simulated Pi 4 B measured end to end — twin, power model, emulated INA219, the real
//! driver, the real sampler and the measurement protocol with `boards/sim.toml`'s defaults — on
//! the twin's virtual clock. The figures are deterministic (board time, seeded noise), so these
//! are checks of the twin's plausibility, not timing tests (the host time a measurement takes
//! is reported by `cargo bench -p wattevo-agent --bench twin_figures`).

use wattevo_proto::{BoardProfile, Measurement};

use crate::runner::load_model;
use crate::sim::SimBoard;
use crate::sim::onnx::{OnnxCnn, build_cnn, build_mlp};

/// `boards/sim.toml`, with `threads` tract threads.
pub(crate) fn sim_profile(threads: u16) -> BoardProfile {
    let mut profile: BoardProfile = match toml::from_str(include_str!("../../../../boards/sim.toml")) {
        Ok(profile) => profile,
        Err(error) => panic!("boards/sim.toml: {error}"),
    };
    profile.runtime.tract_threads = threads;
    profile
}

/// How long the measurement runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// The profile's defaults (2 s idle windows, 2 s timed windows, 5 to 20 of them).
    Default,
    /// 0.5 s windows, 3 repetitions: the same figures, less host time.
    Short,
}

/// Measures `onnx` on a fresh simulated board (`sim.toml`, `threads` threads).
pub(crate) fn measure_on_sim(onnx: &[u8], threads: u16, protocol: Protocol) -> Measurement {
    let mut board = SimBoard::new(&sim_profile(threads)).expect("simulated board");
    let model = load_model(onnx, None).expect("load");
    let mut req = board.request(&model.input_shape);
    if protocol == Protocol::Short {
        (
            req.protocol.min_duration_ms,
            req.protocol.idle_window_ms,
            req.protocol.min_repetitions,
            req.protocol.max_repetitions,
        ) = (500, 500, 3, 3);
    }
    board.measure(&model, &req).expect("measure")
}

fn cnn(channels: usize, classes: usize) -> Vec<u8> {
    build_cnn(&OnnxCnn { channels, side: 28, classes }, 7)
}

/// 1 × 1024 → `hidden` → 10.
fn mlp(hidden: usize) -> Vec<u8> {
    build_mlp(1024, hidden, 10, 5)
}

fn macs(onnx: &[u8]) -> f64 {
    load_model(onnx, None).expect("load").facts.macs() as f64
}

#[test]
fn one_thread_cnns_draw_one_busy_core_and_take_milliseconds() {
    for channels in [8, 32] {
        let m = measure_on_sim(&cnn(channels, 10), 1, Protocol::Default);
        let power = m.total_power_w.mean;
        assert!((3.2..=4.0).contains(&power), "{channels} channels: {power} W");
        // A Pi 4 core runs these ~10× slower than a current x86 core (tens of µs there).
        let latency_ms = m.latency_mean_us / 1000.0;
        assert!((0.1..50.0).contains(&latency_ms), "{channels} channels: {latency_ms} ms");
        assert!((m.idle_power_w - 2.7).abs() < 0.02, "idle {}", m.idle_power_w);
        assert!((m.cpu_utilisation_cores - 1.0).abs() < 0.05, "cpu {}", m.cpu_utilisation_cores);
        // The modelled clock makes every run take the same time.
        assert!(m.latency_p99_us - m.latency_p50_us < 1.0, "{} vs {}", m.latency_p99_us, m.latency_p50_us);
    }
}

#[test]
fn dynamic_energy_grows_roughly_with_macs() {
    let models: Vec<Vec<u8>> = [8, 16, 32].iter().map(|&c| cnn(c, 10)).collect();
    let per_mac: Vec<f64> = models
        .iter()
        .map(|onnx| measure_on_sim(onnx, 1, Protocol::Short).dynamic_energy_per_inference_j.mean / macs(onnx))
        .collect();
    let energies: Vec<f64> = models.iter().zip(&per_mac).map(|(onnx, e)| e * macs(onnx)).collect();
    assert!(energies.windows(2).all(|w| w[1] > w[0] * 1.4), "{energies:?}");
    // Roughly proportional: the energy per MAC stays within a factor of two.
    let (lo, hi) = per_mac.iter().fold((f64::MAX, 0.0f64), |(lo, hi), &e| (lo.min(e), hi.max(e)));
    assert!(hi / lo < 2.0, "energy per MAC {per_mac:?}");
}

#[test]
fn weights_beyond_the_l2_cost_more_per_mac() {
    // The same two-layer network, 128 or 2048 wide: 0.5 MB of weights (fits the 1 MiB L2)
    // or 8.4 MB (streams from DRAM every inference).
    let (fits, spills) = (mlp(128), mlp(2048));
    let per_mac = |onnx: &[u8]| {
        let m = measure_on_sim(onnx, 1, Protocol::Short);
        (m.dynamic_energy_per_inference_j.mean / macs(onnx), m.latency_mean_us / macs(onnx))
    };
    let ((fits_j, fits_us), (spills_j, spills_us)) = (per_mac(&fits), per_mac(&spills));
    // Each weight beyond the L2 brings 4 bytes from DRAM per MAC: 0.64 nJ of DRAM energy, plus
    // a stalled core drawing half its power for 0.7 ns, on top of ~1 nJ per MAC within the L2.
    assert!(spills_j > 1.2 * fits_j, "energy per MAC: {spills_j} J beyond L2 vs {fits_j} J within");
    assert!(spills_us > fits_us, "time per MAC: {spills_us} µs beyond L2 vs {fits_us} µs within");
}

#[test]
fn four_threads_draw_more_power_for_less_time() {
    let onnx = cnn(32, 10);
    let (one, four) = (measure_on_sim(&onnx, 1, Protocol::Short), measure_on_sim(&onnx, 4, Protocol::Short));
    assert!(four.latency_mean_us < one.latency_mean_us, "{} vs {}", four.latency_mean_us, one.latency_mean_us);
    assert!(four.total_power_w.mean > one.total_power_w.mean + 0.5);
    assert!(four.total_power_w.mean < 6.6, "at most the stress figure: {}", four.total_power_w.mean);
}

#[test]
fn sensor_and_board_are_labelled_simulated() {
    use wattevo_proto::SensorKind;

    use crate::sim::{LoadSignal, simulated_sensor};

    let load = LoadSignal::new();
    let sensor = simulated_sensor(&sim_profile(1), &load).expect("simulated board");
    assert_eq!(sensor.info().kind, SensorKind::EmulatedIna219);
    assert!(sensor.clock().is_virtual());
    let cpu = load.describe_cpu(crate::system::cpu_info(1));
    assert!(cpu.model.starts_with("SIMULATED twin pi4b v2: "), "{}", cpu.model);
    assert_eq!(cpu.cores, 4);
}

#[test]
fn a_model_too_slow_for_the_requests_time_limit_is_refused_after_one_run() {
    use crate::measure::MeasureError;
    let mut board = SimBoard::new(&sim_profile(1)).expect("simulated board");
    // 2.3 ms per run on the Pi 4 B twin; a million runs per window cannot fit the limit.
    let model = load_model(&mlp(2048), None).expect("load");
    let mut req = board.request(&model.input_shape);
    req.protocol.min_runs = 1_000_000;
    let start = board.clock().now();
    let Err(MeasureError::TooSlow { run_us, projected_ms, limit_ms }) = board.measure(&model, &req) else {
        panic!("refused as too slow")
    };
    assert!((2000..3000).contains(&run_us), "{run_us} µs per run");
    assert!(projected_ms > limit_ms && limit_ms == req.time_limit_ms(), "{projected_ms} vs {limit_ms}");
    let spent = board.clock().now().duration_since(start);
    assert!(spent < std::time::Duration::from_secs(5), "refused before the windows: {spent:?} of board time");
    // The same model with the profile's protocol fits.
    req.protocol.min_runs = board.request(&model.input_shape).protocol.min_runs;
    board.measure(&model, &req).expect("measured");
}
