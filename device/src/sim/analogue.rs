//! The analogue side of the simulated supply: what an emulated sensor chip converts.

use std::time::Instant;

/// The supply at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalogueSample {
    /// Voltage at the bus pin (load side of the shunt), volts.
    pub bus_voltage_v: f64,
    /// Current through the shunt, amperes.
    pub current_a: f64,
}

/// Drives an emulated sensor: the true supply voltage and current at a given instant.
pub trait AnalogueSource: Send {
    /// The supply at `at`.
    fn sample(&mut self, at: Instant) -> AnalogueSample;
}

/// A constant supply (a test double).
#[cfg(any(test, feature = "test-support"))]
#[derive(Debug, Clone, Copy)]
pub struct ConstantSupply(pub AnalogueSample);

#[cfg(any(test, feature = "test-support"))]
impl ConstantSupply {
    /// `current_a` at `bus_voltage_v`, forever.
    pub fn new(current_a: f64, bus_voltage_v: f64) -> Self {
        Self(AnalogueSample { bus_voltage_v, current_a })
    }
}

#[cfg(any(test, feature = "test-support"))]
impl AnalogueSource for ConstantSupply {
    fn sample(&mut self, _at: Instant) -> AnalogueSample {
        self.0
    }
}
