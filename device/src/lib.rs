//! # wattevo-agent — the board side of wattevo
//!
//! Serves the wire protocol on a serial port: receives ONNX models in chunks, loads them with
//! tract (once, outside any measured window), runs them while a sampler thread reads the power
//! sensor, and answers with power, energy per inference and latency.
//!
//! Real and simulated boards share every line of this crate except the I2C bus and the clock: a
//! real board reads an INA219 on `/dev/i2c-N` on the host's clock; the simulated one reads an
//! emulated INA219 whose supply is a board twin's modelled power, on the twin's virtual clock
//! (each model still runs for real with tract; board time passes as the twin says).
//!
//! | module | what |
//! | --- | --- |
//! | [`cli`] | the `wattevo-agent` command line: profile, port, sensor, serve |
//! | [`serve`] | the serve loop: one answer per request |
//! | [`store`] | models by hash, uploaded in chunks, bounded memory |
//! | [`profile`] | board profile TOML with file:line:column errors |
//! | [`runner`] | tract: ONNX bytes → optimised runnable plan |
//! | [`measure`] | the measurement protocol (idle, warm-up, timed windows, statistics) |
//! | [`sampler`] | the thread reading the power sensor at a fixed rate |
//! | [`energy`] | trapezoidal energy, repetition statistics |
//! | [`sensor`] | the `PowerSensor` trait and `Ina219Sensor`, used by every board |
//! | [`ina219`] | the INA219 driver (registers, configuration, calibration) |
//! | [`sim`] | the simulated hardware: board twin (time, caches, power; calibration), power model, emulated INA219, its analogue source |
//! | [`clock`] | the measurement's clock: the host's, or a twin's virtual clock |
//! | [`system`] | CPU, kernel, governor, temperature, throttle flags |
//!
//! Test doubles (an I2C mock, a hand-moved clock, a chipless sensor, a constant supply) are
//! compiled only for tests, or for other crates' tests and benches with the `test-support`
//! feature.

pub mod cli;
pub mod clock;
pub mod energy;
pub mod ina219;
pub mod measure;
pub mod profile;
pub mod runner;
pub mod sampler;
pub mod sensor;
pub mod serve;
pub mod sim;
pub mod store;
pub mod system;
pub mod twin_service;

#[cfg(test)]
mod test_support;
