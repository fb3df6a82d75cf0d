//! The board twin's messages: where a model's time and energy go, operator by operator
//! (`Explain`), and fitting the twin's constants to the board the agent runs on (`Calibrate`).
//!
//! A twin is a model of the board, not a measurement: an [`Explanation`] is the twin's
//! prediction on every board (labelled with the twin's name and version), and a
//! [`CalibrationReport`] puts the figures the agent measured next to the fitted twin's
//! predictions, so the error of the fit is read off the report itself.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::board::PowerModelSettings;
use crate::hash::ModelHash;
use crate::measure_protocol::MeasureProtocol;

/// How many reference models `Calibrate` measures (the host scales its wait by it).
pub const REFERENCE_MODEL_COUNT: usize = 9;

/// Asks for the twin's per-operator breakdown of a held model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainRequest {
    /// Which held model.
    pub hash: ModelHash,
    /// Input shape to plan it for (as in `Measure`).
    pub input_shape: Vec<u32>,
}

/// One operator of the plan, as the twin costs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpCost {
    /// Node name in tract's optimised plan.
    pub name: String,
    /// Kind of work (`conv`, `depthwise`, `matmul`, `pool`, `elementwise`, `layout`).
    pub kind: String,
    /// Multiply-accumulates per inference.
    pub macs: u64,
    /// Bytes moved to or from DRAM per inference.
    pub dram_bytes: u64,
    /// Time per inference, microseconds.
    pub time_us: f64,
    /// Board energy per inference (idle included), microjoules.
    pub energy_uj: f64,
    /// Energy above idle per inference, microjoules.
    pub dynamic_energy_uj: f64,
}

/// Answer to [`ExplainRequest`]: a prediction, never a measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The model.
    pub hash: ModelHash,
    /// `twin <name> v<version>`, and whether it was fitted to a board.
    pub twin: String,
    /// Tract threads the twin assumes.
    pub threads: u16,
    /// The operators in evaluation order.
    pub ops: Vec<OpCost>,
}

/// Measures the agent's bundled reference models and fits its twin to them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrateRequest {
    /// How each reference model is measured.
    pub protocol: MeasureProtocol,
}

/// One reference model: measured on the board, predicted by the fitted twin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationRow {
    /// The reference model.
    pub model: String,
    /// `tiny`, `compute-bound`, `memory-bound` or `mixed`.
    pub class: String,
    /// Measured latency, microseconds.
    pub measured_latency_us: f64,
    /// The fitted twin's latency, microseconds.
    pub fitted_latency_us: f64,
    /// Measured energy above idle per inference, microjoules.
    pub measured_dynamic_uj: f64,
    /// The fitted twin's energy above idle per inference, microjoules.
    pub fitted_dynamic_uj: f64,
}

/// Answer to [`CalibrateRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationReport {
    /// The twin the fit started from (`twin <name> v<version>`).
    pub prior: String,
    /// The fitted SoC constants, as a twin file (TOML, `boards/twins/` format).
    pub twin_toml: String,
    /// The fitted board power figures (a profile's `[power_model]`).
    pub power_model: PowerModelSettings,
    /// Per reference model, measured against fitted.
    pub rows: Vec<CalibrationRow>,
}
