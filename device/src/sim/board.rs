//! [`SimBoard`]: the simulated board in-process — twin, power model, emulated INA219, the real
//! driver and sampler and the measurement protocol, on the twin's clock — for checks,
//! benchmarks and calibration tests that want the agent's figures without a serial link.

use std::sync::Arc;

use wattevo_proto::{BoardProfile, MeasureRequest, Measurement, ModelHash, SensorKind, ThermalSettings};

use super::{LoadSignal, SimError, simulated_sensor};
use crate::clock::BoardClock;
use crate::measure::{MeasureContext, MeasureError, measure};
use crate::runner::LoadedModel;
use crate::sampler::Sampler;

/// A simulated board built from a profile.
#[derive(Debug)]
pub struct SimBoard {
    profile: BoardProfile,
    load: Arc<LoadSignal>,
    sampler: Sampler,
}

impl SimBoard {
    /// The simulated board of `profile` (its twin, power model and sensor settings).
    pub fn new(profile: &BoardProfile) -> Result<Self, SimError> {
        let load = LoadSignal::new();
        let sensor = simulated_sensor(profile, &load)?;
        let sampler = Sampler::new(sensor, profile.sensor.sample_rate_hz);
        Ok(Self { profile: profile.clone(), load, sampler })
    }

    /// The board's clock (board time).
    pub fn clock(&self) -> &BoardClock {
        self.sampler.clock()
    }

    /// The load signal, with the board's twin.
    pub fn load(&self) -> &Arc<LoadSignal> {
        &self.load
    }

    /// The profile's measurement protocol for a model with `input_shape` (no thermal wait: the
    /// twin has no SoC temperature).
    pub fn request(&self, input_shape: &[usize]) -> MeasureRequest {
        MeasureRequest {
            hash: ModelHash([0; 32]),
            input_shape: input_shape.iter().map(|&d| u32::try_from(d).unwrap_or(u32::MAX)).collect(),
            input_seed: 1,
            protocol: self.profile.measure.clone(),
            thermal_wait_ms: 0,
        }
    }

    /// Measures `model` following `req`.
    pub fn measure(&mut self, model: &LoadedModel, req: &MeasureRequest) -> Result<Measurement, MeasureError> {
        let thermal = ThermalSettings { max_start_c: f32::INFINITY, max_wait_ms: 0 };
        let mut ctx = MeasureContext {
            sampler: &mut self.sampler,
            load: &self.load,
            sensor: SensorKind::EmulatedIna219,
            thermal: &thermal,
        };
        measure(model, req, &mut ctx)
    }
}
