//! The INA219 current and power monitor (TI SBOS448): a driver over `embedded-hal` 1.0 I2C.
//! Only the driver lives here; the emulated chip the simulated board reads is in
//! [`crate::sim::emulated_ina219`].
//!
//! - [`registers`]: register map, flag bits and unit newtypes (`MicroVolts`, `MicroAmps`, ...).
//! - [`config`]: the configuration register as typed enums, and conversion times.
//! - [`calibration`]: the calibration register as pure integer math.
//! - [`driver`]: [`Ina219`], plain write-then-read transfers (Raspberry Pi safe).
//! - tests: `driver_tests` check exact bus transactions against an I2C mock (`mock`).

pub mod calibration;
pub mod config;
pub mod driver;
pub mod registers;

#[cfg(test)]
mod driver_tests;
#[cfg(test)]
mod mock;

pub use calibration::{Calibration, CalibrationError};
pub use config::{AdcMode, AveragePower, BusRange, Config, ConfigError, OperatingMode, Pga};
pub use driver::{Ina219, Measurement};
pub use registers::{BusVoltage, MicroAmps, MicroOhms, MicroVolts, MicroWatts, MilliVolts, NanoAmps, Register};

/// Why a driver call failed, generic over the bus error `E`.
#[derive(Debug, thiserror::Error)]
pub enum Error<E: core::fmt::Debug> {
    /// The I2C transfer failed.
    #[error("INA219 I2C transfer failed: {0:?}")]
    I2c(E),
    /// OVF was set: current or power are out of the calibrated range, and meaningless.
    #[error("INA219 math overflow (OVF): the current exceeds the calibrated range")]
    Overflow,
    /// Current or power were asked for before a calibration was written.
    #[error("INA219 current and power read before the calibration register was written")]
    NotCalibrated,
}
