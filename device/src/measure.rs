//! The measurement protocol (`MEASUREMENT.md`, issues 2 and 4).
//!
//! 1. thermal gate: wait (bounded) until the SoC is below the profile's threshold; record the
//!    start temperature and the throttle flags (absent sources stay absent: NaN, `u32::MAX`);
//! 2. idle window: the sensor sampled with nothing running;
//! 3. warm-up runs (untimed);
//! 4. timed windows, each of at least `min_runs` inferences and `min_duration_ms`, added until the
//!    95 % CI of energy per inference is within `target_ci_pct` of its mean (after at least
//!    `min_repetitions`) or `max_repetitions` is reached;
//! 5. idle window after; the idle power is the mean of both, and the measurement is flagged when
//!    they differ by more than `idle_mismatch_pct`.
//!
//! An inference is one sample of the batch (the first input dimension): a run of batch `b` counts
//! `b` inferences; latencies are per run.
//!
//! Energy is the trapezoid of power over each window's exact bounds; dynamic figures subtract
//! the idle power × window duration. Nothing is logged inside a window.
//!
//! Every instant comes from the sampler's [`BoardClock`]: the host's clock on a real board, the
//! twin's virtual clock on the simulated one, where each real tract run is followed by the
//! board time the twin says it takes ([`LoadSignal::ran`]) and idle windows pass in board time.
//! A 2 s window then costs the host only the runs themselves.

use std::time::Duration;

use tract_onnx::prelude::TValue;
use wattevo_proto::{MeasureRequest, Measurement, SensorKind, SensorReadingResponse, StopReason, ThermalSettings};

use crate::clock::BoardClock;
use crate::energy::{quantile, rep_stats, window_energy_j, window_mean_power_w};
use crate::runner::{LoadedModel, RunnerError, random_input};
use crate::sampler::{Sampler, SamplerError, WindowReadings};
use crate::sim::LoadSignal;
use crate::system::{THROTTLE_ABSENT, temperature_c, throttled_flags};

/// Longest window or wait a request may ask for, milliseconds.
pub const MAX_WINDOW_MS: u32 = 600_000;
/// Most repetitions a request may ask for.
pub const MAX_REPETITIONS: u16 = 1000;

/// Why a measurement failed.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    /// A request field is out of range.
    #[error("bad measure request: {0}")]
    BadRequest(String),
    /// The model failed to run.
    #[error(transparent)]
    Run(#[from] RunnerError),
    /// The sensor failed during a window.
    #[error("power sensor failed: {0}")]
    Sensor(String),
    /// The sampler could not run.
    #[error(transparent)]
    Sampler(#[from] SamplerError),
    /// The model runs too slowly for the request's time limit.
    #[error(
        "the model takes {run_us} µs per run: measuring it as asked would take {projected_ms} ms, more than the request's {limit_ms} ms"
    )]
    TooSlow {
        /// Board time of one run, microseconds.
        run_us: u64,
        /// Projected length of the measurement, milliseconds.
        projected_ms: u64,
        /// The request's limit, milliseconds.
        limit_ms: u64,
    },
}

/// What a measurement needs besides the model and the request.
#[derive(Debug)]
pub struct MeasureContext<'a> {
    /// Reads the power sensor.
    pub sampler: &'a mut Sampler,
    /// Tells the board model (simulated boards) what runs, and how long each run takes there.
    pub load: &'a LoadSignal,
    /// Where the power figures come from.
    pub sensor: SensorKind,
    /// Thermal gate threshold.
    pub thermal: &'a ThermalSettings,
}

fn validate(req: &MeasureRequest) -> Result<(), MeasureError> {
    let bad = |what: &str| Err(MeasureError::BadRequest(what.to_string()));
    if req.protocol.min_repetitions == 0 || req.protocol.max_repetitions < req.protocol.min_repetitions {
        return bad("need 1 <= min_repetitions <= max_repetitions");
    }
    if req.protocol.max_repetitions > MAX_REPETITIONS {
        return bad("max_repetitions above 1000");
    }
    if req.protocol.min_runs == 0 {
        return bad("min_runs must be at least 1");
    }
    let windows = [req.protocol.min_duration_ms, req.protocol.idle_window_ms, req.thermal_wait_ms];
    if windows.iter().any(|&ms| ms > MAX_WINDOW_MS) {
        return bad("a window or wait above 600000 ms");
    }
    if !(req.protocol.target_ci_pct.is_finite() && req.protocol.idle_mismatch_pct.is_finite()) {
        return bad("target_ci_pct and idle_mismatch_pct must be finite");
    }
    Ok(())
}

/// Waits until `read_c()` is below `max_c` (or absent), polling every `poll`, at most `wait`.
/// Returns the last temperature read.
pub fn thermal_gate(read_c: impl Fn() -> f32, max_c: f32, wait: Duration, poll: Duration) -> f32 {
    thermal_gate_on(&BoardClock::Real, read_c, max_c, wait, poll)
}

/// [`thermal_gate`] on `clock`.
pub fn thermal_gate_on(
    clock: &BoardClock,
    read_c: impl Fn() -> f32,
    max_c: f32,
    wait: Duration,
    poll: Duration,
) -> f32 {
    let started = clock.now();
    loop {
        let t = read_c();
        let waited = clock.now().saturating_duration_since(started);
        if t.is_nan() || t < max_c || waited >= wait {
            return t;
        }
        clock.sleep(poll.min(wait.saturating_sub(waited)));
    }
}

/// Readings of a window whose sensor worked, or the sensor's error.
fn checked(readings: WindowReadings) -> Result<WindowReadings, MeasureError> {
    if let Some(e) = readings.first_error {
        return Err(MeasureError::Sensor(e));
    }
    if readings.samples.is_empty() {
        return Err(MeasureError::Sensor("no sample in the window".into()));
    }
    Ok(readings)
}

/// Mean power with nothing running for `duration`, and the window's readings.
fn idle_window(sampler: &mut Sampler, duration: Duration) -> Result<(f64, WindowReadings), MeasureError> {
    let clock = sampler.clock().clone();
    let window = sampler.open_window()?;
    let start = clock.now();
    clock.sleep(duration);
    let end = clock.now();
    let readings = checked(window.close()?)?;
    Ok((window_mean_power_w(&readings.samples, start, end), readings))
}

/// One timed window.
#[derive(Debug, Clone, Copy)]
struct Window {
    energy_j: f64,
    duration_s: f64,
    inferences: u64,
    samples: u64,
    missed: u64,
    cpu_s: f64,
}

/// The timed part of a measurement: one model on one input under the request's window rules,
/// and the latency of every run.
struct TimedRuns<'a> {
    model: &'a LoadedModel,
    input: TValue,
    req: &'a MeasureRequest,
    latencies_us: Vec<f64>,
}

impl TimedRuns<'_> {
    /// One timed window.
    fn window(&mut self, ctx: &mut MeasureContext<'_>) -> Result<Window, MeasureError> {
        let min_duration = Duration::from_millis(u64::from(self.req.protocol.min_duration_ms));
        let clock = ctx.sampler.clock().clone();
        let window = ctx.sampler.open_window()?;
        let cpu_start = ctx.load.cpu_time();
        let start = clock.now();
        let batch = u64::from(self.req.batch_size().unwrap_or(1).max(1));
        let (mut runs, mut inferences) = (0u64, 0u64);
        let mut failure = None;
        // One clock read per run: each latency is the board time from the end of the previous
        // run, so the latencies add up to the window exactly (a preemption counts against its run).
        let mut last = start;
        loop {
            let count = match run_once(self.model, &self.input, ctx.load, &clock) {
                Ok(count) => u64::from(count),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            };
            let now = clock.now();
            let each_us = now.duration_since(last).as_secs_f64() * 1e6 / count as f64;
            self.latencies_us.extend(std::iter::repeat_n(each_us, count as usize));
            last = now;
            runs += count;
            inferences += count * batch;
            if runs >= u64::from(self.req.protocol.min_runs) && now.duration_since(start) >= min_duration {
                break;
            }
        }
        let end = last;
        let cpu_s = ctx.load.cpu_time().saturating_sub(cpu_start).as_secs_f64();
        let readings = window.close()?;
        if let Some(e) = failure {
            return Err(e.into());
        }
        let readings = checked(readings)?;
        Ok(Window {
            energy_j: window_energy_j(&readings.samples, start, end),
            duration_s: end.duration_since(start).as_secs_f64(),
            inferences,
            samples: readings.samples.len() as u64,
            missed: readings.missed_deadlines,
            cpu_s,
        })
    }

    /// Timed windows until the CI target or the repetition cap.
    fn repetitions(&mut self, ctx: &mut MeasureContext<'_>) -> Result<(Vec<Window>, StopReason), MeasureError> {
        let mut windows = Vec::new();
        while windows.len() < usize::from(self.req.protocol.max_repetitions) {
            windows.push(self.window(ctx)?);
            let enough = windows.len() >= usize::from(self.req.protocol.min_repetitions);
            if enough && ci_pct(&windows) <= f64::from(self.req.protocol.target_ci_pct) {
                return Ok((windows, StopReason::CiReached));
            }
        }
        Ok((windows, StopReason::MaxRepetitions))
    }
}

/// Runs the model once for real, then lets the board clock pass the time the board takes
/// (nothing on a real board, where the run took its own time). Returns how many runs that was
/// on the board: 1 on a real board; on a twin, one real run stands for the identical runs of
/// up to a millisecond of board time ([`LoadSignal::ran`]).
fn run_once(model: &LoadedModel, input: &TValue, load: &LoadSignal, clock: &BoardClock) -> Result<u32, RunnerError> {
    model.run(input)?;
    let ran = load.ran(clock.now());
    clock.sleep(ran.each * ran.count);
    Ok(ran.count)
}

/// Refuses a model whose runs (`each`, measured on the first warm-up run) would make the
/// measurement outlast the request's time limit, `elapsed` into it: the rest of the warm-up,
/// every repetition at the longer of its minimum duration and its minimum runs, the last
/// settling and idle windows.
fn check_fits(req: &MeasureRequest, elapsed: Duration, each: Duration, idle: Duration) -> Result<(), MeasureError> {
    let p = &req.protocol;
    let window = Duration::from_millis(u64::from(p.min_duration_ms)).max(each * p.min_runs);
    let rest = each * p.warmup_runs.saturating_sub(1) + window * u32::from(p.max_repetitions.max(1)) + SETTLE + idle;
    let projected_ms = u64::try_from((elapsed + rest).as_millis()).unwrap_or(u64::MAX);
    let limit_ms = req.time_limit_ms();
    if projected_ms > limit_ms {
        let run_us = u64::try_from(each.as_micros()).unwrap_or(u64::MAX);
        return Err(MeasureError::TooSlow { run_us, projected_ms, limit_ms });
    }
    Ok(())
}

/// Relative 95 % CI half-width of energy per inference, percent.
fn ci_pct(windows: &[Window]) -> f64 {
    let per_inference: Vec<f64> = windows.iter().map(|w| w.energy_j / w.inferences as f64).collect();
    let stats = rep_stats(&per_inference);
    100.0 * stats.ci95 / stats.mean.abs()
}

/// A settling window, sampled and discarded, before each idle window: neither the work just
/// done (loading a model, the last timed run) nor the sensor's averaging of it may leak into
/// the idle figure.
pub const SETTLE: Duration = Duration::from_millis(50);

/// Measures `model` following `req` (see the module docs).
pub fn measure(
    model: &LoadedModel,
    req: &MeasureRequest,
    ctx: &mut MeasureContext<'_>,
) -> Result<Measurement, MeasureError> {
    validate(req)?;
    let input_shape: Vec<usize> = req.input_shape.iter().map(|&d| d as usize).collect();
    let input = random_input(&input_shape, req.input_seed)?;
    let clock = ctx.sampler.clock().clone();
    let started = clock.now();
    let wait = Duration::from_millis(u64::from(req.thermal_wait_ms));
    let poll = Duration::from_millis(500);
    let temperature_start_c = thermal_gate_on(&clock, temperature_c, ctx.thermal.max_start_c, wait, poll);
    let throttle_start = throttled_flags();
    ctx.load.set_model(&model.facts);
    let idle = Duration::from_millis(u64::from(req.protocol.idle_window_ms));
    idle_window(ctx.sampler, SETTLE)?; // sampled and discarded
    let (idle_before_w, _) = idle_window(ctx.sampler, idle)?;
    for warmup in 0..req.protocol.warmup_runs {
        let before = clock.now();
        let count = run_once(model, &input, ctx.load, &clock)?;
        if warmup == 0 {
            let each = clock.now().duration_since(before) / count.max(1);
            check_fits(req, clock.now().duration_since(started), each, idle)?;
        }
    }
    let mut runs = TimedRuns { model, input, req, latencies_us: Vec::new() };
    let (windows, stop_reason) = runs.repetitions(ctx)?;
    let mut latencies_us = runs.latencies_us;
    idle_window(ctx.sampler, SETTLE)?; // sampled and discarded
    let (idle_after_w, _) = idle_window(ctx.sampler, idle)?;
    latencies_us.sort_by(f64::total_cmp);
    let idle = IdleFigures::new(idle_before_w, idle_after_w, req.protocol.idle_mismatch_pct);
    let throttled_flags = match (throttle_start, throttled_flags()) {
        (THROTTLE_ABSENT, _) | (_, THROTTLE_ABSENT) => THROTTLE_ABSENT,
        (a, b) => a | b,
    };
    Ok(assemble(
        req,
        ctx.sensor,
        &windows,
        &latencies_us,
        idle,
        stop_reason,
        Thermal { start_c: temperature_start_c, end_c: temperature_c(), throttled_flags },
    ))
}

/// The two idle windows and what follows from them.
#[derive(Debug, Clone, Copy)]
struct IdleFigures {
    before_w: f64,
    after_w: f64,
    mean_w: f64,
    mismatch: bool,
}

impl IdleFigures {
    fn new(before_w: f64, after_w: f64, mismatch_pct: f32) -> Self {
        let mean_w = 0.5 * (before_w + after_w);
        let mismatch = 100.0 * (before_w - after_w).abs() / mean_w.abs() > f64::from(mismatch_pct);
        Self { before_w, after_w, mean_w, mismatch }
    }
}

#[derive(Debug, Clone, Copy)]
struct Thermal {
    start_c: f32,
    end_c: f32,
    throttled_flags: u32,
}

fn assemble(
    req: &MeasureRequest,
    sensor: SensorKind,
    windows: &[Window],
    sorted_latencies_us: &[f64],
    idle: IdleFigures,
    stop_reason: StopReason,
    thermal: Thermal,
) -> Measurement {
    let per = |f: &dyn Fn(&Window) -> f64| rep_stats(&windows.iter().map(f).collect::<Vec<_>>());
    let dynamic_j = |w: &Window| w.energy_j - idle.mean_w * w.duration_s;
    let duration_s: f64 = windows.iter().map(|w| w.duration_s).sum();
    let inferences: u64 = windows.iter().map(|w| w.inferences).sum();
    let samples: u64 = windows.iter().map(|w| w.samples).sum();
    let latency_mean_us = sorted_latencies_us.iter().sum::<f64>() / sorted_latencies_us.len().max(1) as f64;
    Measurement {
        hash: req.hash,
        sensor,
        idle_before_w: idle.before_w,
        idle_after_w: idle.after_w,
        idle_power_w: idle.mean_w,
        idle_mismatch: idle.mismatch,
        total_power_w: per(&|w| w.energy_j / w.duration_s),
        dynamic_power_w: per(&|w| dynamic_j(w) / w.duration_s),
        energy_per_inference_j: per(&|w| w.energy_j / w.inferences as f64),
        dynamic_energy_per_inference_j: per(&|w| dynamic_j(w) / w.inferences as f64),
        latency_mean_us,
        latency_p50_us: quantile(sorted_latencies_us, 0.5),
        latency_p99_us: quantile(sorted_latencies_us, 0.99),
        inferences,
        repetitions: u16::try_from(windows.len()).unwrap_or(u16::MAX),
        stop_reason,
        samples,
        sample_rate_hz: samples as f64 / duration_s,
        missed_deadlines: windows.iter().map(|w| w.missed).sum(),
        cpu_utilisation_cores: (windows.iter().map(|w| w.cpu_s).sum::<f64>() / duration_s) as f32,
        temperature_start_c: thermal.start_c,
        temperature_end_c: thermal.end_c,
        throttled_flags: thermal.throttled_flags,
    }
}

/// Samples the sensor for `duration` with nothing running (wiring check, idle power).
pub fn read_sensor(
    sampler: &mut Sampler,
    sensor: SensorKind,
    duration: Duration,
) -> Result<SensorReadingResponse, MeasureError> {
    let (power_w, readings) = idle_window(sampler, duration)?;
    let n = readings.samples.len() as f64;
    Ok(SensorReadingResponse {
        sensor,
        bus_voltage_v: readings.samples.iter().map(|s| s.bus_voltage_v).sum::<f64>() / n,
        current_a: readings.samples.iter().map(|s| s.current_a).sum::<f64>() / n,
        power_w,
        samples: readings.samples.len() as u64,
        sample_rate_hz: readings.sample_rate_hz(),
    })
}

#[cfg(test)]
pub(crate) mod tests;
