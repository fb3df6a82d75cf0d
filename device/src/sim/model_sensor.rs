//! [`ModelSensor`]: a test double that reads a [`PowerModel`] directly, without a chip.
//!
//! Its figures are simulated and it says so ([`SensorKind::PowerModel`]). The simulated board
//! never uses it: it reads the same model through the emulated INA219 and the real driver.

use std::time::Duration;

use wattevo_proto::{SensorInfo, SensorKind};

use super::{AnalogueSource, PowerModel};
use crate::clock::BoardClock;
use crate::sensor::{PowerSample, PowerSensor, SensorError};

/// A [`PowerSensor`] reading a [`PowerModel`] directly (simulated figures).
#[derive(Debug)]
pub struct ModelSensor {
    model: PowerModel,
    conversion_time: Duration,
    clock: BoardClock,
}

impl ModelSensor {
    /// Reads `model` at most once per `conversion_time`, on the host's clock.
    pub fn new(model: PowerModel, conversion_time: Duration) -> Self {
        Self::on(model, conversion_time, BoardClock::Real)
    }

    /// Reads `model` on `clock`.
    pub fn on(model: PowerModel, conversion_time: Duration, clock: BoardClock) -> Self {
        Self { model, conversion_time, clock }
    }
}

impl PowerSensor for ModelSensor {
    /// The mean over the conversion time that ends now, as a converter would see it.
    fn read(&mut self) -> Result<PowerSample, SensorError> {
        let end = self.clock.now();
        let start = end.checked_sub(self.conversion_time).unwrap_or(end);
        let analogue = self.model.mean_over(start, end.duration_since(start), 1);
        Ok(PowerSample {
            at: start + end.duration_since(start) / 2,
            bus_voltage_v: analogue.bus_voltage_v,
            current_a: analogue.current_a,
            power_w: analogue.bus_voltage_v * analogue.current_a,
        })
    }

    fn conversion_time(&self) -> Duration {
        self.conversion_time
    }

    fn clock(&self) -> BoardClock {
        self.clock.clone()
    }

    fn info(&self) -> SensorInfo {
        SensorInfo {
            kind: SensorKind::PowerModel,
            i2c_bus: 0,
            i2c_address: 0,
            shunt_ohms: 0.0,
            max_current_a: 0.0,
            current_lsb_a: 0.0,
            calibration: 0,
            adc_mode: String::from("power model (simulated)"),
            bus_voltage_v: self.model.settings().supply_v as f32,
        }
    }
}

#[cfg(test)]
mod tests {
    use wattevo_proto::PowerModelSettings;

    use super::*;
    use crate::sim::{CpuLoad, LoadSignal};

    #[test]
    fn model_sensor_reports_power_model_kind() {
        let settings = PowerModelSettings {
            supply_v: 5.0,
            idle_w: 2.7,
            core_w: 0.9,
            dram_nj_per_byte: 0.5,
            noise_w: 0.0,
            seed: 7,
            twin: None,
        };
        let model = PowerModel::with_cpu_load(settings, LoadSignal::new(), CpuLoad::Fixed(0.0));
        let mut sensor = ModelSensor::new(model, Duration::from_micros(532));
        let sample = sensor.read().expect("model sensor never fails");
        assert!((sample.power_w - 2.7).abs() < 1e-12);
        assert_eq!(sensor.info().kind, SensorKind::PowerModel);
    }
}
