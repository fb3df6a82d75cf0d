//! Power sensing: the [`PowerSensor`] trait the sampler reads, and its one implementation for
//! every board, [`Ina219Sensor`].
//!
//! A real board: `Ina219Sensor<I2cdev>` (the INA219 driver on `/dev/i2c-N`).
//! The simulated board: `Ina219Sensor<EmulatedIna219<PowerModel>>`: the same driver, reading an
//! emulated chip ([`crate::sim`]) whose analogue input comes from the board profile's power model.

pub mod ina219_sensor;

pub use ina219_sensor::{Ina219Reading, Ina219Sensor};

use std::time::{Duration, Instant};

use wattevo_proto::SensorInfo;

/// One reading of the supply.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerSample {
    /// When the reading was taken (monotonic clock).
    pub at: Instant,
    /// Bus (supply) voltage, volts.
    pub bus_voltage_v: f64,
    /// Load current, amperes.
    pub current_a: f64,
    /// Power, watts.
    pub power_w: f64,
}

/// Why a reading failed.
#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    /// The I2C bus failed.
    #[error("I2C bus error: {0}")]
    Bus(String),
    /// The chip reported a math overflow: current or power out of range of its calibration.
    #[error("sensor overflow: the current exceeds the calibrated range (raise max_current_a or lower shunt_ohms)")]
    Overflow,
    /// The configuration cannot be programmed into the chip.
    #[error("sensor configuration: {0}")]
    Config(String),
    /// No conversion completed in the time one should have (chip powered down or stuck).
    #[error("sensor timeout: {0}")]
    Timeout(String),
}

/// Something that reads the board's supply power.
pub trait PowerSensor: Send {
    /// Takes one reading. Blocks at most one conversion time.
    fn read(&mut self) -> Result<PowerSample, SensorError>;
    /// Shortest useful interval between readings (the conversion time of the configured mode).
    fn conversion_time(&self) -> Duration;
    /// What the sensor is and how it is calibrated, for the handshake.
    fn info(&self) -> SensorInfo;
}
