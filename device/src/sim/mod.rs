//! The simulated hardware, all of it: what the simulated board has in place of a physical one.
//!
//! - [`twin`]: the board twin — per-operator time, cache/DRAM traffic and power of a model on a
//!   Raspberry Pi-class SoC, with constants from published figures, and their calibration.
//! - [`load`]: [`LoadSignal`], the timeline of modelled inferences on the board clock.
//! - [`power_model`]: the board's supply over time (idle + the twin's trace + noise), an
//!   [`AnalogueSource`].
//! - [`analogue`]: the [`AnalogueSource`] trait, what an emulated sensor chip converts.
//! - [`emulated_ina219`]: [`EmulatedIna219`], the INA219 in software (registers, quantisation,
//!   integer math, conversion timing) behind the same `embedded-hal` I2C trait as the real chip.
//! - [`onnx`]: ONNX graphs built in code (the twin's reference models, test models).
//! - [`board`]: [`SimBoard`], the whole simulated board in-process (checks, benchmarks).
//! - `ModelSensor` (tests, `test-support`): the power model read directly, without a chip.
//!
//! [`simulated_sensor`] assembles the simulated board: a [`VirtualClock`] (the twin's modelled
//! time), the [`PowerModel`] on the profile's `[power_model]` and the twin's trace, the emulated
//! chip on that clock, and [`Ina219Sensor`] — the real driver — reading it. Nothing outside
//! this module knows the hardware is simulated, except through [`SensorKind::EmulatedIna219`]
//! and the handshake's CPU description, which label every figure as simulated.

pub mod analogue;
pub mod board;
pub mod emulated_ina219;
pub mod load;
#[cfg(any(test, feature = "test-support"))]
mod model_sensor;
pub mod onnx;
pub mod power_model;
pub mod twin;

use std::sync::Arc;

use wattevo_proto::board::SensorSettings;
use wattevo_proto::{BoardProfile, SensorKind};

#[cfg(any(test, feature = "test-support"))]
pub use analogue::ConstantSupply;
pub use analogue::{AnalogueSample, AnalogueSource};
pub use board::SimBoard;
pub use emulated_ina219::{EmulatedI2cError, EmulatedIna219};
pub use load::{LoadSignal, Ran};
#[cfg(any(test, feature = "test-support"))]
pub use model_sensor::ModelSensor;
pub use power_model::{CpuLoad, PowerModel};
pub use twin::{Twin, TwinError};

use crate::clock::{BoardClock, VirtualClock};
use crate::sensor::{Ina219Sensor, PowerSensor, SensorError};

/// Why the simulated board could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// No twin for the profile.
    #[error(transparent)]
    Twin(#[from] TwinError),
    /// The emulated chip refused the profile's sensor settings.
    #[error("board {board}: emulated INA219: {source}")]
    Sensor {
        /// The board.
        board: String,
        /// Why.
        source: SensorError,
    },
}

impl<S: AnalogueSource> Ina219Sensor<EmulatedIna219<S, BoardClock>> {
    /// An emulated chip (shunt and address from `settings`) driven by `source` on the host's
    /// clock: simulated figures.
    pub fn emulated(settings: &SensorSettings, source: S) -> Result<Self, SensorError> {
        Self::emulated_on(settings, source, BoardClock::Real)
    }

    /// An emulated chip driven by `source`, converting on `clock` (the driver waits on it too).
    pub fn emulated_on(settings: &SensorSettings, source: S, clock: BoardClock) -> Result<Self, SensorError> {
        let chip = EmulatedIna219::with_clock(source, clock.clone(), settings.i2c_address, settings.shunt_ohms);
        Self::with_clock(chip, settings, SensorKind::EmulatedIna219, clock)
    }
}

/// The simulated board's sensor for `profile`: the real driver reading an emulated INA219,
/// whose supply is the board twin's, on the twin's virtual clock. Attaches the twin to `load`.
pub fn simulated_sensor(profile: &BoardProfile, load: &Arc<LoadSignal>) -> Result<Box<dyn PowerSensor>, SimError> {
    let twin = Twin::for_profile(profile)?;
    let settings = twin.board.clone();
    if !load.attach_twin(twin) {
        tracing::warn!(board = %profile.name, "the load signal already had a twin; keeping it");
    }
    let model = PowerModel::new(settings, Arc::clone(load));
    let clock = BoardClock::Virtual(VirtualClock::new());
    let sensor = Ina219Sensor::emulated_on(&profile.sensor, model, clock)
        .map_err(|source| SimError::Sensor { board: profile.name.clone(), source })?;
    Ok(Box::new(sensor))
}
