//! Achieved sample rate on the emulated INA219 (simulated chip, real driver and sampler).
//!
//! For a few ADC modes, reads the emulated chip through `Ina219Sensor` for 2 s in two ways and
//! compares with the theoretical rate (one fresh result per conversion cycle = shunt + bus
//! conversion time):
//! - `back-to-back`: `read()` in a loop on this thread (each waits for CNVR);
//! - `sampler`: the agent's sampler thread at its default rate (one slot per conversion cycle),
//!   with its missed-deadline count.
//!
//! Run: `cargo bench -p wattevo-agent --bench sampler_rate`. Figures depend on the machine's
//! load and timer resolution; the chip is emulated, so these are not hardware figures.

use std::time::{Duration, Instant};

use wattevo_agent::sampler::Sampler;
use wattevo_agent::sensor::{Ina219Sensor, PowerSensor};
use wattevo_agent::sim::{AnalogueSample, AnalogueSource};
use wattevo_proto::board::SensorSettings;
use wattevo_proto::{BoardProfile, parse_board_profile};

const RUN: Duration = Duration::from_secs(2);

/// A Raspberry Pi 4 at idle with a 1 kHz ripple (deterministic, no noise).
#[derive(Debug)]
struct RippleSupply {
    start: Instant,
}

impl AnalogueSource for RippleSupply {
    fn sample(&mut self, at: Instant) -> AnalogueSample {
        let t_s = at.saturating_duration_since(self.start).as_secs_f64();
        let current_a = 0.54 + 0.05 * (std::f64::consts::TAU * 1_000.0 * t_s).sin();
        AnalogueSample { bus_voltage_v: 5.1, current_a }
    }
}

/// The simulated board's sensor (`boards/sim.toml`) in another ADC mode, read as fast as it
/// converts.
fn settings(adc_bits: u8, adc_samples: u8) -> SensorSettings {
    let profile: BoardProfile = match parse_board_profile(include_str!("../../boards/sim.toml"), "boards/sim.toml") {
        Ok(profile) => profile,
        Err(error) => panic!("boards/sim.toml: {error}"),
    };
    SensorSettings { adc_bits, adc_samples, sample_rate_hz: 0, ..profile.sensor }
}

fn sensor(adc_bits: u8, adc_samples: u8) -> Box<dyn PowerSensor> {
    let source = RippleSupply { start: Instant::now() };
    match Ina219Sensor::emulated(&settings(adc_bits, adc_samples), source) {
        Ok(sensor) => Box::new(sensor),
        Err(error) => panic!("emulated INA219 ({adc_bits} bit × {adc_samples}): {error}"),
    }
}

/// `read()` back to back for [`RUN`]: (samples per second, conversions skipped, errors).
/// A conversion is skipped when consecutive timestamps are more than 1.5 cycles apart.
fn back_to_back(sensor: &mut dyn PowerSensor) -> (f64, u64, u64) {
    let cycle_s = sensor.conversion_time().as_secs_f64();
    let start = Instant::now();
    let (mut samples, mut skipped, mut errors) = (0u64, 0u64, 0u64);
    let mut last: Option<Instant> = None;
    while start.elapsed() < RUN {
        match sensor.read() {
            Ok(sample) => {
                samples += 1;
                if let Some(previous) = last {
                    let gap_cycles = sample.at.saturating_duration_since(previous).as_secs_f64() / cycle_s;
                    skipped += (gap_cycles.round() as u64).saturating_sub(1);
                }
                last = Some(sample.at);
            }
            Err(_) => errors += 1,
        }
    }
    (samples as f64 / start.elapsed().as_secs_f64(), skipped, errors)
}

/// The sampler thread for [`RUN`]: (samples per second, missed deadlines, errors).
fn through_sampler(sensor: Box<dyn PowerSensor>) -> (f64, u64, u64) {
    let mut sampler = Sampler::new(sensor, 0);
    let readings = match sampler.open_window() {
        Ok(window) => {
            std::thread::sleep(RUN);
            window.close()
        }
        Err(error) => panic!("sampler window: {error}"),
    };
    match readings {
        Ok(readings) => (readings.sample_rate_hz(), readings.missed_deadlines, readings.read_errors),
        Err(error) => panic!("sampler close: {error}"),
    }
}

fn main() {
    println!("sampler_rate — emulated INA219 (simulated chip), real driver; {} s per run", RUN.as_secs());
    println!(
        "{:<10} {:>9} {:>11} | {:>16} {:>8} | {:>15} {:>8} | {:>6}",
        "ADC mode", "cycle µs", "theory S/s", "back-to-back S/s", "skipped", "sampler S/s", "missed", "errors"
    );
    for (bits, samples) in [(9, 1), (10, 1), (11, 1), (12, 1), (12, 8)] {
        let mut direct = sensor(bits, samples);
        let cycle = direct.conversion_time();
        let theory_hz = 1.0 / cycle.as_secs_f64();
        let (direct_hz, skipped, direct_errors) = back_to_back(direct.as_mut());
        let (sampler_hz, missed, sampler_errors) = through_sampler(sensor(bits, samples));
        println!(
            "{:<10} {:>9} {theory_hz:>11.1} | {direct_hz:>9.1} ({:>3.0}%) {skipped:>8} | {sampler_hz:>8.1} ({:>3.0}%) {missed:>8} | {:>6}",
            direct.info().adc_mode,
            cycle.as_micros(),
            100.0 * direct_hz / theory_hz,
            100.0 * sampler_hz / theory_hz,
            direct_errors + sampler_errors,
        );
    }
}
