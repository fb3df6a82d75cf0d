//! The agent's answers about its board twin: `Explain` (the twin's per-operator cost of a held
//! model) and `Calibrate` (measure the bundled reference models on this board, with the same
//! measurement code as `Measure`, and fit the twin's constants to them).
//!
//! On the simulated board the twin is the one the board runs on, so a calibration there
//! recovers the twin's own constants (up to the sensor's noise and quantisation): that is how
//! the fit is tested end to end. On a real board the twin of the profile's name is the prior.

use wattevo_proto::{
    CalibrationReport, CalibrationRow, Explanation, MeasureProtocol, MeasureRequest, ModelHash, OpCost,
};

use crate::measure::{MeasureContext, MeasureError, measure};
use crate::runner::{LoadedModel, RunnerError, load_model};
use crate::sim::twin::{CalibrationError, ModelEstimate, Observation, Twin, fit, reference_models};

/// Why a calibration failed.
#[derive(Debug, thiserror::Error)]
pub enum CalibrateError {
    /// A reference model did not load (a bug: they are built in code).
    #[error("reference model {model}: {source}")]
    Load {
        /// The model.
        model: &'static str,
        /// Why.
        source: RunnerError,
    },
    /// Measuring a reference model failed.
    #[error("measuring reference model {model}: {source}")]
    Measure {
        /// The model.
        model: &'static str,
        /// Why.
        source: MeasureError,
    },
    /// The fit failed.
    #[error(transparent)]
    Fit(#[from] CalibrationError),
    /// The fitted twin could not be written as TOML.
    #[error("writing the fitted twin: {0}")]
    Toml(String),
}

/// The twin's breakdown of `model`.
pub fn explain(twin: &Twin, model: &LoadedModel, hash: ModelHash) -> Explanation {
    let ops = twin
        .explain(model)
        .into_iter()
        .map(|op| OpCost {
            name: op.name,
            kind: op.kind.label().to_string(),
            macs: op.macs,
            dram_bytes: op.bytes_to_dram.round() as u64,
            time_us: op.time_s * 1e6,
            energy_uj: op.energy_j * 1e6,
            dynamic_energy_uj: op.dynamic_energy_j * 1e6,
        })
        .collect();
    Explanation { hash, twin: describe(twin), threads: twin.threads, ops }
}

/// `twin <name> v<version> (<where the constants come from>)`.
fn describe(twin: &Twin) -> String {
    format!("{} ({})", twin.soc.label(), twin.soc.twin.fitted)
}

/// Measures every reference model with `protocol`, fits `prior` to the figures, and reports
/// the fitted twin next to each measured figure. `board` names the board in the fitted file.
pub fn calibrate(
    prior: &Twin,
    board: &str,
    protocol: &MeasureProtocol,
    ctx: &mut MeasureContext<'_>,
) -> Result<CalibrationReport, CalibrateError> {
    let mut observations = Vec::new();
    let mut classes = Vec::new();
    let mut idle = Vec::new();
    for reference in reference_models() {
        let model = load_model(&reference.onnx, None)
            .map_err(|source| CalibrateError::Load { model: reference.name, source })?;
        let req = MeasureRequest {
            hash: ModelHash::of(&reference.onnx),
            input_shape: model.input_shape.iter().map(|&d| u32::try_from(d).unwrap_or(u32::MAX)).collect(),
            input_seed: 1,
            protocol: protocol.clone(),
            thermal_wait_ms: ctx.thermal.max_wait_ms,
        };
        let m =
            measure(&model, &req, ctx).map_err(|source| CalibrateError::Measure { model: reference.name, source })?;
        tracing::info!(model = reference.name, latency_us = m.latency_mean_us, "reference model measured");
        idle.push(m.idle_power_w);
        classes.push(reference.class);
        observations.push(Observation {
            name: reference.name.to_string(),
            facts: model.facts.clone(),
            // Latency is per run; energy per inference is per batch item: the twin costs runs.
            latency_s: m.latency_mean_us * 1e-6,
            dynamic_energy_j: m.dynamic_energy_per_inference_j.mean * f64::from(req.batch_size().unwrap_or(1).max(1)),
        });
    }
    let idle_w = idle.iter().sum::<f64>() / idle.len().max(1) as f64;
    let calibration = fit(prior, &observations, Some(idle_w))?;
    let (worst_latency, worst_energy) = calibration.worst_pct();
    let held = if calibration.held.is_empty() {
        String::new()
    } else {
        format!("; held at the prior: {}", calibration.held.join(", "))
    };
    let mut twin = calibration.twin;
    // A name of its own: figures from the fitted twin must not carry the bundled twin's label.
    twin.soc.twin.name = format!("{}-fitted-{board}", prior.soc.twin.name);
    twin.soc.twin.fitted = format!(
        "fitted to board {board} by `wattevo boards --calibrate` on {} reference models: worst error {worst_latency:.1} % latency, {worst_energy:.1} % dynamic energy (prior: {}{held})",
        observations.len(),
        prior.soc.label()
    );
    let rows = observations
        .iter()
        .zip(classes)
        .map(|(o, class)| {
            let fitted = ModelEstimate::of(&twin.estimate(&o.facts));
            CalibrationRow {
                model: o.name.clone(),
                class: class.to_string(),
                measured_latency_us: o.latency_s * 1e6,
                fitted_latency_us: fitted.latency_s * 1e6,
                measured_dynamic_uj: o.dynamic_energy_j * 1e6,
                fitted_dynamic_uj: fitted.dynamic_energy_j * 1e6,
            }
        })
        .collect();
    let twin_toml = toml::to_string(&twin.soc).map_err(|e| CalibrateError::Toml(e.to_string()))?;
    Ok(CalibrationReport { prior: prior.soc.label(), twin_toml, power_model: twin.board, rows })
}
