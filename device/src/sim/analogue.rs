//! The analogue side of the simulated supply: what an emulated sensor chip converts.

use std::time::{Duration, Instant};

/// The supply at one instant, or its mean over an interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalogueSample {
    /// Voltage at the bus pin (load side of the shunt), volts.
    pub bus_voltage_v: f64,
    /// Current through the shunt, amperes.
    pub current_a: f64,
}

/// Drives an emulated sensor: the true supply voltage and current over time.
pub trait AnalogueSource: Send {
    /// The supply at `at`.
    fn sample(&mut self, at: Instant) -> AnalogueSample;

    /// The mean supply over `[from, from + span]`, as an ADC taking `samples` samples
    /// converts it. The default samples the middle of `samples` equal slices; a source that
    /// knows its waveform may integrate it exactly.
    fn mean_over(&mut self, from: Instant, span: Duration, samples: u32) -> AnalogueSample {
        let samples = samples.max(1);
        let step = span / samples;
        let mut sum = AnalogueSample { bus_voltage_v: 0.0, current_a: 0.0 };
        for i in 0..samples {
            let s = self.sample(from + step * i + step / 2);
            sum.bus_voltage_v += s.bus_voltage_v;
            sum.current_a += s.current_a;
        }
        let n = f64::from(samples);
        AnalogueSample { bus_voltage_v: sum.bus_voltage_v / n, current_a: sum.current_a / n }
    }
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
