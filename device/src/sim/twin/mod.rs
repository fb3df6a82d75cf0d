//! The board twin: what a Raspberry Pi-class board would take, in time and power, to run a
//! model the agent holds — the simulated board's stand-in for the physical SoC.
//!
//! - [`graph`]: per-operator facts read from tract's decluttered typed graph.
//! - [`cost`]: the cost model ([`Twin::estimate`]): time, cache and DRAM traffic, power and
//!   energy per operator (equations in its module docs).
//! - [`trace`]: one inference's power over time, which the power model plays back on the board
//!   clock for the emulated INA219.
//! - [`constants`]: the SoC constants (`boards/twins/*.toml`, sources beside each value).
//! - [`calibrate`] and [`reference`]: fitting the constants to a real board's figures for the
//!   bundled reference models; [`lsq`] is its least-squares solver.
//!
//! [`Twin::explain`] is the per-operator breakdown behind `wattevo profile --explain`.

pub mod calibrate;
#[cfg(test)]
mod checks;
pub mod constants;
pub mod cost;
pub mod graph;
pub mod lsq;
pub mod reference;
pub mod trace;

use wattevo_proto::BoardProfile;

pub use calibrate::{Calibration, CalibrationError, FitError, Observation, fit};
pub use constants::{BUNDLED_TWINS, TwinFile, TwinFileError};
pub use cost::{ModelEstimate, OpEstimate, Twin};
pub use graph::{ModelFacts, OpFacts, OpKind};
pub use reference::{ReferenceModel, reference_models};
pub use trace::InferenceTrace;

use crate::runner::LoadedModel;

/// Environment variable naming the twin of a simulated board: a bundled twin's name or a file.
pub const TWIN_ENV: &str = "WATTEVO_TWIN";

/// Why a profile has no twin.
#[derive(Debug, thiserror::Error)]
pub enum TwinError {
    /// The profile has no `[power_model]`.
    #[error("board {0}: a simulated board needs a [power_model] table")]
    NoPowerModel(String),
    /// The twin file named by `WATTEVO_TWIN` is unusable.
    #[error(transparent)]
    File(#[from] TwinFileError),
}

/// The bundled twin a profile name maps to: `sim` is the Raspberry Pi 4 B; a bundled board's
/// name is its own twin; anything else falls back to the Pi 4 B.
pub fn twin_name_for(board: &str) -> &'static str {
    BUNDLED_TWINS.iter().map(|(name, _)| *name).find(|name| *name == board).unwrap_or("pi4b")
}

/// `spec`: a bundled twin's name, else a path to a twin file.
fn twin_file(spec: &str) -> Result<TwinFile, TwinFileError> {
    match TwinFile::bundled(spec) {
        Some(file) => Ok(file),
        None => TwinFile::load(std::path::Path::new(spec)),
    }
}

/// Makes a relative twin file named by `profile`'s `[power_model] twin` relative to
/// `profile_dir` (a bundled twin's bare name is left alone).
pub fn resolve_twin_path(profile: &mut BoardProfile, profile_dir: &std::path::Path) {
    let Some(model) = profile.power_model.as_mut() else { return };
    let Some(spec) = model.twin.as_mut() else { return };
    let is_file = spec.contains('/') || spec.ends_with(".toml");
    if is_file && std::path::Path::new(spec.as_str()).is_relative() {
        *spec = profile_dir.join(spec.as_str()).display().to_string();
    }
}

impl Twin {
    /// The twin of a simulated `profile`: the SoC from `WATTEVO_TWIN`, else the `[power_model]`'s
    /// `twin` key, else the profile's name; the board power from its `[power_model]`, tract's
    /// threads from its `[runtime]`. A relative twin path is taken as the caller resolved it
    /// (the agent resolves it against the profile's directory, [`resolve_twin_path`]).
    pub fn for_profile(profile: &BoardProfile) -> Result<Self, TwinError> {
        let board = profile.power_model.clone().ok_or_else(|| TwinError::NoPowerModel(profile.name.clone()))?;
        let spec = std::env::var(TWIN_ENV)
            .ok()
            .or_else(|| board.twin.clone())
            .unwrap_or_else(|| twin_name_for(&profile.name).to_string());
        Ok(Self { soc: twin_file(&spec)?, board, threads: profile.runtime.tract_threads.max(1) })
    }

    /// One inference's power trace.
    pub fn trace(&self, facts: &ModelFacts) -> InferenceTrace {
        InferenceTrace::of(&self.estimate(facts))
    }

    /// Totals per inference.
    pub fn totals(&self, facts: &ModelFacts) -> ModelEstimate {
        ModelEstimate::of(&self.estimate(facts))
    }

    /// The per-operator breakdown of `model`: name, kind, MACs, bytes to DRAM, time, energy.
    pub fn explain(&self, model: &LoadedModel) -> Vec<OpEstimate> {
        self.estimate(&model.facts)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use wattevo_proto::PowerModelSettings;

    use super::*;
    use crate::runner::load_model;
    use crate::sim::onnx::{OnnxCnn, build_cnn};

    /// The bundled Pi 4 B twin with `sim.toml`'s board power, on `threads` threads.
    pub(crate) fn pi4_twin(threads: u16) -> Twin {
        let soc = TwinFile::bundled("pi4b").expect("bundled");
        let board = PowerModelSettings {
            supply_v: 5.1,
            idle_w: 2.7,
            core_w: 0.925,
            dram_nj_per_byte: 0.16,
            noise_w: 0.0,
            seed: 1,
            twin: None,
        };
        Twin { soc, board, threads }
    }

    /// Facts of the small test CNN (4 channels on 8 × 8).
    pub(crate) fn small_cnn_facts() -> ModelFacts {
        load_model(&build_cnn(&OnnxCnn::small(), 1), None).expect("load").facts
    }

    #[test]
    fn profile_names_map_to_bundled_twins() {
        assert_eq!(twin_name_for("sim"), "pi4b");
        assert_eq!(twin_name_for("pi5"), "pi5");
        assert_eq!(twin_name_for("pizero2w"), "pizero2w");
        assert_eq!(twin_name_for("my-board"), "pi4b");
    }

    #[test]
    fn explain_adds_up_to_the_totals() {
        let model = load_model(&build_cnn(&OnnxCnn { channels: 16, side: 28, classes: 10 }, 2), None).expect("load");
        let twin = pi4_twin(1);
        let ops = twin.explain(&model);
        let totals = twin.totals(&model.facts);
        assert_eq!(ops.len(), model.facts.ops.len());
        let time: f64 = ops.iter().map(|op| op.time_s).sum();
        let energy: f64 = ops.iter().map(|op| op.energy_j).sum();
        assert!((time - totals.latency_s).abs() < 1e-15 && (energy - totals.energy_j).abs() < 1e-15);
        assert_eq!(totals.macs, model.facts.macs());
        assert!(ops.iter().all(|op| op.time_s >= 0.0 && op.energy_j >= 0.0));
        let conv = ops.iter().find(|op| op.kind == OpKind::Conv).expect("conv");
        assert!(conv.power_w > twin.board.idle_w + twin.board.core_w, "a computing core: {conv:?}");
    }

    #[test]
    fn more_threads_shorten_matrix_products_and_busy_more_cores() {
        let facts =
            load_model(&build_cnn(&OnnxCnn { channels: 32, side: 28, classes: 10 }, 3), None).expect("load").facts;
        let (one, four) = (pi4_twin(1).totals(&facts), pi4_twin(4).totals(&facts));
        assert!(four.latency_s < one.latency_s, "{four:?} vs {one:?}");
        assert!(four.power_w() > one.power_w() + 0.5, "{four:?} vs {one:?}");
    }
}
