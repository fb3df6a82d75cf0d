//! # wattevo-agent — the board side of wattevo
//!
//! Serves the wire protocol on a serial port: receives ONNX models in chunks, loads them with
//! tract (once, outside any measured window), runs them while a sampler thread reads the power
//! sensor, and answers with power, energy per inference and latency.
//!
//! Real and simulated boards share every line of this crate except the I2C bus: a real board
//! reads an INA219 on `/dev/i2c-N`, the simulated one an emulated INA219 driven by the board
//! profile's power model.

pub mod cli;
pub mod energy;
pub mod ina219;
pub mod measure;
pub mod power_model;
pub mod profile;
pub mod runner;
pub mod sampler;
pub mod sensor;
pub mod serve;
pub mod store;
pub mod system;

#[cfg(test)]
mod test_support;
