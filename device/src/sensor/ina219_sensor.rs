//! [`Ina219Sensor`]: the [`PowerSensor`] of every board, real or simulated — the INA219 driver
//! over `/dev/i2c-N` on a real board, over an emulated chip
//! ([`EmulatedIna219`](crate::sim::EmulatedIna219), built by [`crate::sim`]) on the simulated one.
//!
//! It programs configuration (continuous shunt and bus, the profile's ranges and ADC mode) and
//! calibration from [`SensorSettings`], then each [`read`](PowerSensor::read) waits for a fresh
//! conversion (polls CNVR, bounded) and reads bus voltage, current and power.
//!
//! `PowerSample::power_w` is bus voltage × current, both from the same conversion cycle, in
//! floating point: it has a finer step than the power register (20 current LSBs, truncated by
//! the chip, so biased low by up to one step). The power register's figure is in
//! [`Ina219Reading::power_register_w`].

use std::fmt::Debug;
use std::time::{Duration, Instant};

use embedded_hal::i2c::I2c;
use linux_embedded_hal::I2cdev;
use wattevo_proto::board::SensorSettings;
use wattevo_proto::{SensorInfo, SensorKind};

use super::{PowerSample, PowerSensor, SensorError};
use crate::ina219::{AdcMode, BusRange, Calibration, Config, Error, Ina219, Measurement, Pga};

/// Extra wait for a conversion beyond two cycles, for slow userspace I2C (≈ 0.6 ms per transfer
/// on a Raspberry Pi 4).
const WAIT_MARGIN: Duration = Duration::from_millis(5);

/// One reading with both power figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ina219Reading {
    /// The sample the sampler gets (`power_w` = bus × current).
    pub sample: PowerSample,
    /// Power from the chip's power register, watts.
    pub power_register_w: f64,
}

/// An INA219 read through the driver.
#[derive(Debug)]
pub struct Ina219Sensor<I2C> {
    driver: Ina219<I2C>,
    kind: SensorKind,
    settings: SensorSettings,
    config: Config,
    calibration: Calibration,
    adc: AdcMode,
    /// The last bus voltage read, volts (reported by [`PowerSensor::info`]).
    bus_voltage_v: f64,
}

impl Ina219Sensor<I2cdev> {
    /// Opens the real chip on `/dev/i2c-{settings.i2c_bus}` and programs it.
    pub fn open_linux(settings: &SensorSettings) -> Result<Self, SensorError> {
        let path = format!("/dev/i2c-{}", settings.i2c_bus);
        let i2c = I2cdev::new(&path).map_err(|error| {
            SensorError::Bus(format!(
                "cannot open {path}: {error}; enable I2C with `sudo raspi-config` (Interface Options → I2C) \
                 and check that the user is in the `i2c` group"
            ))
        })?;
        Self::new(i2c, settings, SensorKind::Ina219)
    }
}

impl<I2C: I2c> Ina219Sensor<I2C> {
    /// Programs the chip on `i2c` from `settings` and waits for its first conversion.
    /// `kind` says whether the figures are measured or simulated.
    pub fn new(i2c: I2C, settings: &SensorSettings, kind: SensorKind) -> Result<Self, SensorError> {
        let (config, adc) = config_from_settings(settings)?;
        let calibration = Calibration::from_settings(settings.shunt_ohms, settings.max_current_a)
            .map_err(|error| SensorError::Config(format!("INA219 calibration: {error}")))?;
        let mut driver = Ina219::new(i2c, settings.i2c_address);
        driver.init(config, calibration).map_err(|error| sensor_error(error, settings))?;
        let mut sensor =
            Self { driver, kind, settings: settings.clone(), config, calibration, adc, bus_voltage_v: 0.0 };
        sensor.read_detailed()?;
        Ok(sensor)
    }

    /// Waits for a fresh conversion and reads it, with both power figures.
    pub fn read_detailed(&mut self) -> Result<Ina219Reading, SensorError> {
        let (measurement, seen_at) = self.wait_measurement()?;
        let bus_voltage_v = f64::from(measurement.bus_voltage_mv().0) * 1e-3;
        let current_a = measurement.current.0 as f64 * 1e-6;
        self.bus_voltage_v = bus_voltage_v;
        // The figures average the cycle that just ended: stamp them at its middle.
        let at = seen_at.checked_sub(self.config.cycle_time() / 2).unwrap_or(seen_at);
        Ok(Ina219Reading {
            sample: PowerSample { at, bus_voltage_v, current_a, power_w: bus_voltage_v * current_a },
            power_register_w: measurement.power.0 as f64 * 1e-6,
        })
    }

    /// The configuration programmed into the chip.
    pub fn config(&self) -> Config {
        self.config
    }

    /// The calibration programmed into the chip.
    pub fn calibration(&self) -> Calibration {
        self.calibration
    }

    /// The driver, for register-level access (wiring checks, tests).
    pub fn driver_mut(&mut self) -> &mut Ina219<I2C> {
        &mut self.driver
    }

    /// Polls CNVR until a conversion completes, at most two cycles plus [`WAIT_MARGIN`].
    fn wait_measurement(&mut self) -> Result<(Measurement, Instant), SensorError> {
        let cycle = self.config.cycle_time();
        let started = Instant::now();
        let limit = cycle * 2 + WAIT_MARGIN;
        let pause = (cycle / 16).clamp(Duration::from_micros(10), Duration::from_millis(2));
        loop {
            let polled = self.driver.poll_measurement().map_err(|error| sensor_error(error, &self.settings))?;
            let now = Instant::now();
            if let Some(measurement) = polled {
                return Ok((measurement, now));
            }
            if now.duration_since(started) > limit {
                return Err(SensorError::Timeout(format!(
                    "INA219 on I2C bus {} address {:#04x} completed no conversion in {} µs (expected one every {} µs)",
                    self.settings.i2c_bus,
                    self.settings.i2c_address,
                    limit.as_micros(),
                    cycle.as_micros()
                )));
            }
            std::thread::sleep(pause);
        }
    }
}

impl<I2C: I2c + Send> PowerSensor for Ina219Sensor<I2C> {
    fn read(&mut self) -> Result<PowerSample, SensorError> {
        self.read_detailed().map(|reading| reading.sample)
    }

    /// One conversion cycle: the shunt then the bus conversion.
    fn conversion_time(&self) -> Duration {
        self.config.cycle_time()
    }

    fn info(&self) -> SensorInfo {
        SensorInfo {
            kind: self.kind,
            i2c_bus: self.settings.i2c_bus,
            i2c_address: self.settings.i2c_address,
            shunt_ohms: self.settings.shunt_ohms as f32,
            max_current_a: self.settings.max_current_a as f32,
            current_lsb_a: self.calibration.effective_current_lsb_a() as f32,
            calibration: self.calibration.register(),
            adc_mode: self.adc.label(),
            bus_voltage_v: self.bus_voltage_v as f32,
        }
    }
}

/// Continuous shunt and bus conversions with the profile's ranges and ADC mode.
fn config_from_settings(settings: &SensorSettings) -> Result<(Config, AdcMode), SensorError> {
    let invalid = |error| SensorError::Config(format!("INA219 settings in the board profile: {error}"));
    let bus_range = BusRange::from_volts(settings.bus_range_v).map_err(invalid)?;
    let pga = Pga::from_full_scale_mv(settings.shunt_range_mv).map_err(invalid)?;
    let adc = AdcMode::from_bits_samples(settings.adc_bits, settings.adc_samples).map_err(invalid)?;
    Ok((Config::continuous(bus_range, pga, adc), adc))
}

/// A driver error as a [`SensorError`] that says which chip.
fn sensor_error<E: Debug>(error: Error<E>, settings: &SensorSettings) -> SensorError {
    match error {
        Error::Overflow => SensorError::Overflow,
        Error::I2c(bus) => SensorError::Bus(format!(
            "INA219 on /dev/i2c-{} address {:#04x}: {bus:?} (check the wiring and `i2cdetect -y {}`)",
            settings.i2c_bus, settings.i2c_address, settings.i2c_bus
        )),
        Error::NotCalibrated => SensorError::Config(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use wattevo_proto::board::SensorSource;

    use super::*;
    use crate::ina219::OperatingMode;
    use crate::sim::{ConstantSupply, EmulatedIna219};

    /// A Raspberry Pi 4 style profile: 10 mΩ, 4 A, PGA /1, 12-bit.
    fn settings() -> SensorSettings {
        SensorSettings {
            source: SensorSource::EmulatedIna219,
            i2c_bus: 1,
            i2c_address: 0x40,
            shunt_ohms: 0.01,
            max_current_a: 4.0,
            bus_range_v: 16,
            shunt_range_mv: 40,
            adc_bits: 12,
            adc_samples: 1,
            sample_rate_hz: 0,
        }
    }

    fn supply(current_a: f64, bus_voltage_v: f64) -> ConstantSupply {
        ConstantSupply::new(current_a, bus_voltage_v)
    }

    #[test]
    fn reads_the_supply_within_the_chip_quantisation() {
        // Pi 4 idle, 0.54 A at 5.0 V (2.7 W). Current LSB ≈ 122 µA; bus LSB 4 mV.
        let mut sensor = Ina219Sensor::emulated(&settings(), supply(0.54, 5.0)).expect("emulated sensor");
        let lsb_a = sensor.calibration().effective_current_lsb_a();
        let first = sensor.read_detailed().expect("reading");
        let second = sensor.read().expect("reading");
        for sample in [first.sample, second] {
            assert!((sample.current_a - 0.54).abs() <= 2.0 * lsb_a, "current {}", sample.current_a);
            assert!((sample.bus_voltage_v - 5.0).abs() <= 0.004, "bus {}", sample.bus_voltage_v);
            assert!((sample.power_w - sample.bus_voltage_v * sample.current_a).abs() < 1e-12);
        }
        // The power register is truncated to 20 current LSBs: at most one step below the product.
        let step_w = 20.0 * lsb_a;
        assert!(first.power_register_w <= first.sample.power_w + 1e-9);
        assert!(first.sample.power_w - first.power_register_w < step_w + 0.004 * 0.54);
        assert!(second.at > first.sample.at, "fresh conversions have later timestamps");
    }

    #[test]
    fn info_and_conversion_time_describe_the_programmed_chip() {
        let settings = SensorSettings { adc_samples: 8, ..settings() };
        let sensor = Ina219Sensor::emulated(&settings, supply(0.54, 5.0)).expect("emulated sensor");
        // 12-bit × 8 on both shunt and bus: 2 × 4.26 ms per cycle.
        assert_eq!(sensor.conversion_time(), Duration::from_micros(8_520));
        let info = sensor.info();
        assert_eq!(info.kind, SensorKind::EmulatedIna219);
        assert!(!info.kind.is_measured());
        assert_eq!((info.i2c_bus, info.i2c_address, info.calibration), (1, 0x40, 33_554));
        assert_eq!(info.adc_mode, "12bit x8");
        assert!((f64::from(info.bus_voltage_v) - 5.0).abs() <= 0.004);
        assert!((f64::from(info.current_lsb_a) - 4.0 / 32768.0).abs() < 1e-8);
    }

    #[test]
    fn overflow_is_a_sensor_error() {
        // 5 A through 10 mΩ at PGA /2: 5000 counts × 33554 / 4096 overflows the current register.
        let settings = SensorSettings { shunt_range_mv: 80, ..settings() };
        let result = Ina219Sensor::emulated(&settings, supply(5.0, 5.0));
        assert!(matches!(result, Err(SensorError::Overflow)), "{result:?}");
    }

    #[test]
    fn profile_values_the_chip_cannot_take_are_config_errors() {
        for bad in [
            SensorSettings { adc_bits: 13, ..settings() },
            SensorSettings { shunt_range_mv: 100, ..settings() },
            SensorSettings { bus_range_v: 24, ..settings() },
            SensorSettings { shunt_ohms: 0.0, ..settings() },
        ] {
            let result = Ina219Sensor::emulated(&bad, supply(0.5, 5.0));
            assert!(matches!(result, Err(SensorError::Config(_))), "{bad:?} gave {result:?}");
        }
    }

    #[test]
    fn a_chip_that_stops_converting_times_out() {
        let mut sensor = Ina219Sensor::emulated(&settings(), supply(0.5, 5.0)).expect("emulated sensor");
        let power_down = Config { mode: OperatingMode::PowerDown, ..sensor.config() };
        sensor.driver_mut().set_config(power_down).expect("config write");
        assert!(matches!(sensor.read(), Err(SensorError::Timeout(_))));
    }

    #[test]
    fn a_missing_i2c_device_says_how_to_enable_i2c() {
        let settings = SensorSettings { source: SensorSource::Ina219, i2c_bus: 250, ..settings() };
        // `I2cdev` has no Debug, so no `expect_err`.
        let Err(error) = Ina219Sensor::open_linux(&settings) else { panic!("no /dev/i2c-250 here") };
        let message = error.to_string();
        assert!(message.contains("/dev/i2c-250") && message.contains("raspi-config"), "{message}");
    }

    #[test]
    #[ignore = "needs an INA219 at 0x40 on /dev/i2c-1 in a 5 V supply, 0.1 Ω shunt: \
                cargo test -p wattevo-agent --lib real_chip -- --ignored"]
    fn real_chip_reads_a_five_volt_supply() {
        let settings = SensorSettings {
            source: SensorSource::Ina219,
            shunt_ohms: 0.1,
            max_current_a: 3.2,
            shunt_range_mv: 320,
            ..settings()
        };
        let mut sensor = match Ina219Sensor::open_linux(&settings) {
            Ok(sensor) => sensor,
            Err(error) => panic!("INA219 on /dev/i2c-1: {error}"),
        };
        let sample = sensor.read().expect("reading");
        assert!((4.5..5.5).contains(&sample.bus_voltage_v), "bus {} V", sample.bus_voltage_v);
        assert_eq!(sensor.info().kind, SensorKind::Ina219);
    }

    #[test]
    fn a_missing_chip_is_a_bus_error_naming_the_device() {
        let chip = EmulatedIna219::new(supply(0.5, 5.0), 0x41, 0.01);
        let error = Ina219Sensor::new(chip, &settings(), SensorKind::EmulatedIna219).expect_err("nothing at 0x40");
        assert!(matches!(&error, SensorError::Bus(message) if message.contains("/dev/i2c-1 address 0x40")), "{error}");
    }
}
