//! What one conversion cycle of the emulated chip produces: the analogue input averaged over
//! the conversion, quantised like the ADC, then the chip's integer current and power math.

use std::time::{Duration, Instant};

use crate::ina219::config::{AdcMode, BusRange, Config, Pga};
use crate::ina219::registers::{BUS_LSB_MV, SHUNT_LSB_UV};
use crate::sim::{AnalogueSample, AnalogueSource};

/// Most source samples taken per conversion (averaging modes take up to this many).
const MAX_SOURCE_SAMPLES: u32 = 8;

/// The result registers after a conversion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Results {
    /// Shunt voltage register (10 µV counts).
    pub shunt: i16,
    /// Bus voltage in 4 mV counts (register bits 15..3).
    pub bus_count: u16,
    /// Current register.
    pub current: i16,
    /// Power register.
    pub power: u16,
    /// OVF: the current or power math overflowed.
    pub overflow: bool,
}

/// Shunt voltage register for `current_a` through `shunt_ohms`: rounded to 10 µV and clipped
/// at the PGA full scale.
pub fn shunt_register(current_a: f64, shunt_ohms: f64, pga: Pga) -> i16 {
    let full_scale = pga.full_scale_uv() / SHUNT_LSB_UV;
    let counts = (current_a * shunt_ohms * 1e6 / f64::from(SHUNT_LSB_UV)).round();
    // `as` saturates; the clamp keeps the value inside the PGA range (at most ±32000).
    (counts as i32).clamp(-full_scale, full_scale) as i16
}

/// Bus voltage counts (4 mV) for `bus_v`: rounded, clipped to 0 ..= the range's full scale.
pub fn bus_count(bus_v: f64, range: BusRange) -> u16 {
    let full_scale = range.full_scale_mv() / BUS_LSB_MV;
    let counts = (bus_v * 1e3 / f64::from(BUS_LSB_MV)).round();
    (counts.max(0.0) as u32).min(full_scale) as u16
}

/// The chip's current math: `shunt × Cal / 4096`, truncated; `None` when out of 16 bits.
pub fn current_register(shunt: i16, calibration: u16) -> Option<i16> {
    let product = i64::from(shunt) * i64::from(calibration) / 4096;
    i16::try_from(product).ok()
}

/// The chip's power math: `|current| × bus / 5000`, truncated; `None` when out of 16 bits.
pub fn power_register(current: i16, bus_count: u16) -> Option<u16> {
    let product = i64::from(current).abs() * i64::from(bus_count) / 5000;
    u16::try_from(product).ok()
}

/// Runs the conversion cycle that ended at `end`: shunt first, then bus, each averaged over its
/// own part of the cycle. Registers the mode does not convert keep their `previous` value.
pub fn convert<S: AnalogueSource>(
    source: &mut S,
    config: Config,
    calibration: u16,
    shunt_ohms: f64,
    end: Instant,
    previous: Results,
) -> Results {
    let (converts_shunt, converts_bus) = config.mode.converts();
    let shunt_time = if converts_shunt { config.shunt_adc.conversion_time() } else { Duration::ZERO };
    let bus_time = if converts_bus { config.bus_adc.conversion_time() } else { Duration::ZERO };
    let start = end.checked_sub(shunt_time + bus_time).unwrap_or(end);
    let mut results = previous;
    if converts_shunt {
        let current_a = mean(source, start, shunt_time, config.shunt_adc, |s| s.current_a);
        results.shunt = shunt_register(current_a, shunt_ohms, config.pga);
    }
    if converts_bus {
        let bus_v = mean(source, start + shunt_time, bus_time, config.bus_adc, |s| s.bus_voltage_v);
        results.bus_count = bus_count(bus_v, config.bus_range);
    }
    apply_math(results, calibration)
}

/// Fills current, power and OVF from shunt, bus and calibration. Out-of-range results saturate
/// and set OVF. With calibration 0 both read 0, as on the chip.
pub fn apply_math(results: Results, calibration: u16) -> Results {
    let current = current_register(results.shunt, calibration);
    let saturated = current.unwrap_or(if results.shunt < 0 { i16::MIN } else { i16::MAX });
    let power = power_register(saturated, results.bus_count);
    Results {
        current: saturated,
        power: power.unwrap_or(u16::MAX),
        overflow: current.is_none() || power.is_none(),
        ..results
    }
}

/// The mean of one quantity over `[from, from + span]`: one sample at the middle, or for
/// averaging modes up to [`MAX_SOURCE_SAMPLES`] evenly spaced samples.
fn mean<S: AnalogueSource>(
    source: &mut S,
    from: Instant,
    span: Duration,
    adc: AdcMode,
    quantity: impl Fn(&AnalogueSample) -> f64,
) -> f64 {
    let samples = adc.samples().clamp(1, MAX_SOURCE_SAMPLES);
    let step = span / samples;
    let total: f64 = (0..samples).map(|i| quantity(&source.sample(from + step * i + step / 2))).sum();
    total / f64::from(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shunt_rounds_to_ten_microvolts_and_clips_at_the_pga() {
        // 1.23456 A × 10 mΩ = 12.3456 mV = 1234.56 counts → 1235.
        assert_eq!(shunt_register(1.23456, 0.01, Pga::Div8), 1235);
        assert_eq!(shunt_register(-1.23456, 0.01, Pga::Div8), -1235);
        // 5 A × 10 mΩ = 50 mV: beyond ±40 mV at PGA /1 → 4000 counts; fits at /2.
        assert_eq!(shunt_register(5.0, 0.01, Pga::Div1), 4000);
        assert_eq!(shunt_register(-5.0, 0.01, Pga::Div1), -4000);
        assert_eq!(shunt_register(5.0, 0.01, Pga::Div2), 5000);
        assert_eq!(shunt_register(f64::INFINITY, 0.01, Pga::Div8), 32_000);
    }

    #[test]
    fn bus_rounds_to_four_millivolts_and_clips_at_the_range() {
        // 5.1 V / 4 mV = 1275; 5.1015 V = 1275.4 → 1275; 5.1025 V = 1275.6 → 1276.
        assert_eq!(bus_count(5.1, BusRange::V32), 1275);
        assert_eq!(bus_count(5.1015, BusRange::V32), 1275);
        assert_eq!(bus_count(5.1025, BusRange::V32), 1276);
        assert_eq!(bus_count(20.0, BusRange::V16), 4000);
        assert_eq!(bus_count(-1.0, BusRange::V32), 0);
    }

    #[test]
    fn datasheet_table_math() {
        // SBOS448 Configure/Measure/Calculate example: 2000 × 20480 / 4096 = 10000;
        // 10000 × 2995 / 5000 = 5990.
        assert_eq!(current_register(2000, 20480), Some(10_000));
        assert_eq!(power_register(10_000, 2995), Some(5990));
        // Truncation toward zero, not rounding: 1235 × 33554 / 4096 = 10116.99 → 10116.
        assert_eq!(current_register(1235, 33_554), Some(10_116));
        assert_eq!(current_register(-1235, 33_554), Some(-10_116));
    }

    #[test]
    fn overflow_saturates_and_flags() {
        // 30000 × 33554 / 4096 = 245 756 > 32767.
        let results = apply_math(Results { shunt: 30_000, bus_count: 1250, ..Results::default() }, 33_554);
        assert!(results.overflow);
        assert_eq!(results.current, i16::MAX);
        // The largest in-range current: 32000 × 4096 / 4096 = 32000; power 32000 × 8000 / 5000
        // = 51 200 (power cannot leave 16 bits once the current fits: 32767 × 8191 / 5000 < 2^16).
        let fits = apply_math(Results { shunt: 32_000, bus_count: 8000, ..Results::default() }, 4096);
        assert_eq!((fits.current, fits.power, fits.overflow), (32_000, 51_200, false));
        // 32000 × 4200 / 4096 = 32 812: one step over.
        let over = apply_math(Results { shunt: 32_000, bus_count: 8000, ..Results::default() }, 4200);
        assert!(over.overflow);
        // Calibration 0: current and power read 0, no OVF.
        let uncalibrated = apply_math(Results { shunt: 2000, bus_count: 2995, ..Results::default() }, 0);
        assert_eq!((uncalibrated.current, uncalibrated.power, uncalibrated.overflow), (0, 0, false));
    }
}
