//! Emulated chip tests: the datasheet example reproduced from analogue input, quantisation,
//! PGA clipping, OVF, CNVR and conversion timing on a hand-moved clock.

use std::time::{Duration, Instant};

use embedded_hal::i2c::I2c;

use super::*;
use crate::clock::ManualClock;
use crate::ina219::{AdcMode, BusRange, Calibration, Error, Ina219, Pga};
use crate::sim::{AnalogueSample, ConstantSupply};

const ADDRESS: u8 = 0x40;

/// Current rising linearly from 0 at `start`; records when it was sampled.
#[derive(Debug)]
struct Ramp {
    start: Instant,
    amps_per_s: f64,
    sampled_at: Vec<Duration>,
}

impl AnalogueSource for Ramp {
    fn sample(&mut self, at: Instant) -> AnalogueSample {
        let since = at.saturating_duration_since(self.start);
        self.sampled_at.push(since);
        AnalogueSample { bus_voltage_v: 5.0, current_a: self.amps_per_s * since.as_secs_f64() }
    }
}

fn read_raw<S: AnalogueSource>(chip: &mut EmulatedIna219<S, ManualClock>, register: u8) -> u16 {
    let mut bytes = [0u8; 2];
    chip.write(ADDRESS, &[register]).expect("pointer write");
    chip.read(ADDRESS, &mut bytes).expect("read");
    u16::from_be_bytes(bytes)
}

fn write_raw<S: AnalogueSource>(chip: &mut EmulatedIna219<S, ManualClock>, register: u8, value: u16) {
    let [msb, lsb] = value.to_be_bytes();
    chip.write(ADDRESS, &[register, msb, lsb]).expect("register write");
}

#[test]
fn reproduces_the_datasheet_example_from_analogue_input() {
    // SBOS448 Configure/Measure/Calculate example: 10 A through 2 mΩ, 11.98 V on the bus,
    // configuration 019Fh, calibration 5000h → shunt 07D0h, bus 5D98h (+ CNVR), current 2710h,
    // power 1766h.
    let clock = ManualClock::new();
    let mut chip = EmulatedIna219::with_clock(ConstantSupply::new(10.0, 11.98), clock.clone(), ADDRESS, 0.002);
    write_raw(&mut chip, 0x00, 0x019F);
    write_raw(&mut chip, 0x05, 0x5000);
    clock.advance(Duration::from_micros(1_064));
    assert_eq!(read_raw(&mut chip, 0x01), 0x07D0);
    assert_eq!(read_raw(&mut chip, 0x02), 0x5D98 | 0b10, "CNVR set after the cycle");
    assert_eq!(read_raw(&mut chip, 0x04), 0x2710);
    assert_eq!(read_raw(&mut chip, 0x03), 0x1766);
    assert_eq!(read_raw(&mut chip, 0x02), 0x5D98, "reading power cleared CNVR");
}

#[test]
fn quantises_one_point_two_three_amperes_through_ten_milliohms() {
    // 1.23456 A × 10 mΩ = 12.3456 mV → 1235 counts; 5.1 V → 1275 counts. Calibration for
    // 10 mΩ / 4 A is 33554: current = 1235 × 33554 / 4096 = 10116.99 → 10116; power =
    // 10116 × 1275 / 5000 = 2579.58 → 2579.
    let clock = ManualClock::new();
    let mut ina = Ina219::new(
        EmulatedIna219::with_clock(ConstantSupply::new(1.23456, 5.1), clock.clone(), ADDRESS, 0.01),
        ADDRESS,
    );
    let calibration = Calibration::from_settings(0.01, 4.0).expect("fits");
    ina.init(Config::continuous(BusRange::V32, Pga::Div1, AdcMode::Bits12), calibration).expect("init");
    clock.advance(Duration::from_micros(1_064));
    assert_eq!(ina.read_register(Register::ShuntVoltage).expect("shunt"), 1235);
    assert_eq!(ina.read_register(Register::BusVoltage).expect("bus"), (1275 << 3) | 0b10);
    assert_eq!(ina.read_register(Register::Current).expect("current"), 10_116);
    assert_eq!(ina.read_register(Register::Power).expect("power"), 2579);
}

#[test]
fn shunt_clips_at_the_pga_full_scale_and_overflow_reaches_the_driver() {
    // 5 A × 10 mΩ = 50 mV. PGA /1 clips at 40 mV = 4000 counts; 4000 × 33554 / 4096 = 32767.6
    // still fits. PGA /2 converts 5000 counts; 5000 × 33554 / 4096 = 40959 overflows.
    let clock = ManualClock::new();
    let mut ina =
        Ina219::new(EmulatedIna219::with_clock(ConstantSupply::new(5.0, 5.0), clock.clone(), ADDRESS, 0.01), ADDRESS);
    let calibration = Calibration::from_settings(0.01, 4.0).expect("fits");
    ina.init(Config::continuous(BusRange::V32, Pga::Div1, AdcMode::Bits12), calibration).expect("init");
    clock.advance(Duration::from_micros(1_064));
    assert_eq!(ina.shunt_voltage_uv().expect("shunt").0, 40_000);
    assert!(ina.poll_measurement().expect("no overflow").is_some());

    ina.set_config(Config::continuous(BusRange::V32, Pga::Div2, AdcMode::Bits12)).expect("config");
    clock.advance(Duration::from_micros(1_064));
    assert_eq!(ina.shunt_voltage_uv().expect("shunt").0, 50_000);
    let bus = ina.bus_voltage().expect("bus");
    assert!(bus.overflow() && bus.conversion_ready());
    assert!(matches!(ina.poll_measurement(), Err(Error::Overflow)));
}

#[test]
fn reads_between_conversions_return_the_previous_result() {
    // Current rises 100 A/s through 0.1 Ω; 12-bit shunt + bus: cycles end every 1064 µs and the
    // single shunt sample sits mid-conversion (266 µs into the cycle).
    let clock = ManualClock::new();
    let ramp = Ramp { start: clock.start(), amps_per_s: 100.0, sampled_at: Vec::new() };
    let mut chip = EmulatedIna219::with_clock(ramp, clock.clone(), ADDRESS, 0.1);
    clock.advance(Duration::from_micros(1_000));
    assert_eq!(read_raw(&mut chip, 0x02) & 0b10, 0, "no conversion completed yet");
    assert_eq!(read_raw(&mut chip, 0x01), 0, "power-on value");
    clock.advance(Duration::from_micros(100)); // 1100 µs
    // 100 A/s × 266 µs × 0.1 Ω = 2.66 mV → 266 counts.
    assert_eq!(read_raw(&mut chip, 0x01), 266);
    assert_eq!(read_raw(&mut chip, 0x02) & 0b10, 0b10);
    clock.advance(Duration::from_micros(900)); // 2000 µs: the source moved, the register not
    assert_eq!(read_raw(&mut chip, 0x01), 266);
    read_raw(&mut chip, 0x03);
    assert_eq!(read_raw(&mut chip, 0x02) & 0b10, 0, "power read cleared CNVR");
    clock.advance(Duration::from_micros(200)); // 2200 µs: second cycle ended at 2128 µs
    // Sampled at 1064 + 266 = 1330 µs → 1330 counts.
    assert_eq!(read_raw(&mut chip, 0x01), 1330);
    assert_eq!(read_raw(&mut chip, 0x02) & 0b10, 0b10);
    assert_eq!(chip.source_mut().sampled_at[0], Duration::from_micros(266));
}

#[test]
fn skipped_cycles_convert_only_the_last_one() {
    let clock = ManualClock::new();
    let ramp = Ramp { start: clock.start(), amps_per_s: 100.0, sampled_at: Vec::new() };
    let mut chip = EmulatedIna219::with_clock(ramp, clock.clone(), ADDRESS, 0.1);
    clock.advance(Duration::from_micros(10 * 1_064 + 10));
    // The tenth cycle started at 9576 µs; its shunt sample is at 9842 µs.
    assert_eq!(read_raw(&mut chip, 0x01), 9842);
    let sampled: Vec<_> = chip.source_mut().sampled_at.clone();
    assert_eq!(sampled, vec![Duration::from_micros(9_842), Duration::from_micros(9_576 + 532 + 266)]);
}

#[test]
fn averaging_converts_the_mean_over_the_conversion() {
    // Shunt 12-bit × 8 (4.26 ms), bus 9-bit: the shunt result is the ramp's mean over
    // [0, 4.26 ms] = 100 A/s × 2.13 ms = 0.213 A → 21.3 mV → 2130 counts (the end value would
    // be 4260). The source is sampled 8 times for the shunt, once for the bus.
    let clock = ManualClock::new();
    let ramp = Ramp { start: clock.start(), amps_per_s: 100.0, sampled_at: Vec::new() };
    let mut chip = EmulatedIna219::with_clock(ramp, clock.clone(), ADDRESS, 0.1);
    let averaged = AdcMode::from_bits_samples(12, 8).expect("valid");
    let config = Config { bus_adc: AdcMode::Bits9, ..Config::continuous(BusRange::V16, Pga::Div8, averaged) };
    write_raw(&mut chip, 0x00, config.register());
    clock.advance(Duration::from_micros(4_260 + 84 - 1));
    assert_eq!(read_raw(&mut chip, 0x02) & 0b10, 0, "cycle = 4260 + 84 µs");
    clock.advance(Duration::from_micros(1));
    assert_eq!(read_raw(&mut chip, 0x01), 2130);
    assert_eq!(read_raw(&mut chip, 0x02), (1250 << 3) | 0b10, "5 V bus");
    assert_eq!(chip.source_mut().sampled_at.len(), 9);
}

#[test]
fn configuration_write_clears_cnvr_and_restarts_the_cycle() {
    let clock = ManualClock::new();
    let mut chip = EmulatedIna219::with_clock(ConstantSupply::new(1.0, 5.0), clock.clone(), ADDRESS, 0.1);
    clock.advance(Duration::from_micros(1_064));
    assert_eq!(read_raw(&mut chip, 0x02) & 0b10, 0b10);
    clock.advance(Duration::from_micros(500));
    write_raw(&mut chip, 0x00, 0x399F);
    assert_eq!(read_raw(&mut chip, 0x02) & 0b10, 0);
    clock.advance(Duration::from_micros(1_063));
    assert_eq!(read_raw(&mut chip, 0x02) & 0b10, 0, "the cycle restarted at the write");
    clock.advance(Duration::from_micros(1));
    assert_eq!(read_raw(&mut chip, 0x02) & 0b10, 0b10);
}

#[test]
fn power_down_stops_conversions_and_triggered_mode_converts_once() {
    let clock = ManualClock::new();
    let mut chip = EmulatedIna219::with_clock(ConstantSupply::new(1.0, 5.0), clock.clone(), ADDRESS, 0.1);
    write_raw(&mut chip, 0x00, 0x3998); // power-down
    clock.advance(Duration::from_millis(10));
    assert_eq!(read_raw(&mut chip, 0x01), 0);
    write_raw(&mut chip, 0x00, 0x399B); // shunt and bus, triggered
    clock.advance(Duration::from_micros(1_064));
    assert_eq!(read_raw(&mut chip, 0x02), (1250 << 3) | 0b10);
    read_raw(&mut chip, 0x03);
    clock.advance(Duration::from_millis(10));
    assert_eq!(read_raw(&mut chip, 0x02), 1250 << 3, "no second conversion");
}

#[test]
fn reset_calibration_void_bit_and_bus_errors() {
    let clock = ManualClock::new();
    let mut chip = EmulatedIna219::with_clock(ConstantSupply::new(1.0, 5.0), clock, ADDRESS, 0.1);
    write_raw(&mut chip, 0x05, 0x5001);
    assert_eq!(read_raw(&mut chip, 0x05), 0x5000, "calibration bit 0 reads 0");
    write_raw(&mut chip, 0x00, 0x019F);
    write_raw(&mut chip, 0x00, 0x8000);
    assert_eq!(read_raw(&mut chip, 0x00), 0x399F, "reset restores the configuration");
    assert_eq!(read_raw(&mut chip, 0x05), 0, "and clears the calibration");
    assert_eq!(chip.write(0x41, &[0x00]), Err(EmulatedI2cError::NoDevice(0x41)));
    assert_eq!(chip.write(ADDRESS, &[0x06]), Err(EmulatedI2cError::BadPointer(0x06)));
    assert_eq!(chip.write(ADDRESS, &[0x00, 0x01]), Err(EmulatedI2cError::WriteLength(2)));
    let mut four = [0u8; 4];
    assert_eq!(chip.read(ADDRESS, &mut four), Err(EmulatedI2cError::ReadLength(4)));
    // A combined write-read works on the emulated chip (only Raspberry Pi's driver refuses it).
    let mut bytes = [0u8; 2];
    chip.write_read(ADDRESS, &[0x00], &mut bytes).expect("combined");
    assert_eq!(u16::from_be_bytes(bytes), 0x399F);
}
