//! The simulated hardware, all of it: what the simulated board has in place of a physical one.
//!
//! - [`analogue`]: the [`AnalogueSource`] trait, the supply (voltage and current over time) an
//!   emulated sensor chip converts.
//! - [`power_model`]: the board power model, an [`AnalogueSource`] fed by the agent's load
//!   ([`LoadSignal`]).
//! - [`emulated_ina219`]: [`EmulatedIna219`], the INA219 in software (registers, quantisation,
//!   integer math, conversion timing) behind the same `embedded-hal` I2C trait as the real chip.
//! - `ModelSensor` (tests, `test-support`): the power model read directly, without a chip.
//!
//! The simulated board's sensor is [`Ina219Sensor`] — the real driver — over an
//! [`EmulatedIna219`] driven by the [`PowerModel`] ([`Ina219Sensor::emulated`]). Nothing outside
//! this module knows the hardware is simulated, except through [`SensorKind::EmulatedIna219`],
//! which labels every figure as simulated.

pub mod analogue;
pub mod emulated_ina219;
#[cfg(any(test, feature = "test-support"))]
mod model_sensor;
pub mod power_model;

use wattevo_proto::SensorKind;
use wattevo_proto::board::SensorSettings;

#[cfg(any(test, feature = "test-support"))]
pub use analogue::ConstantSupply;
pub use analogue::{AnalogueSample, AnalogueSource};
pub use emulated_ina219::{EmulatedI2cError, EmulatedIna219};
#[cfg(any(test, feature = "test-support"))]
pub use model_sensor::ModelSensor;
pub use power_model::{CpuLoad, LoadSignal, PowerModel};

use crate::sensor::{Ina219Sensor, SensorError};

impl<S: AnalogueSource> Ina219Sensor<EmulatedIna219<S>> {
    /// An emulated chip (shunt and address from `settings`) driven by `source`: simulated figures.
    pub fn emulated(settings: &SensorSettings, source: S) -> Result<Self, SensorError> {
        let chip = EmulatedIna219::new(source, settings.i2c_address, settings.shunt_ohms);
        Self::new(chip, settings, SensorKind::EmulatedIna219)
    }
}
