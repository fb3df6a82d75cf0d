//! Calibration records of a board farm: boards of one kind differ (regulators, shunts,
//! temperature), so every board of a farm measures the same reference model, with its idle
//! power, when the run starts and every `farm_calibrate_every` generations after. The records
//! go to `farm.jsonl` in the run directory, and the summary reports how far the boards agree.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::evolve::candidate::EvalError;
use crate::netspec::{Activation, LayerSpec, NetSpec, Padding, PoolKind, Shape, SpecRules, TrainedNet};
use crate::onnx::{ExportOptions, encode, export_network};

use super::measure::{BoardSlot, MeasureContext};

/// The farm's reference model: [`small_cnn_onnx`] with 8 channels and a fixed seed (its figures
/// do not depend on the run's data).
pub fn reference_model() -> Result<Vec<u8>, EvalError> {
    small_cnn_onnx(8, 20_240_131)
}

/// A small CNN on 1×1×28×28 with untrained weights from `seed`: conv 3×3 (`channels`, relu) →
/// max-pool 2 → conv 3×3 (`channels`, relu) → max-pool 2 → dense 10 + softmax.
pub fn small_cnn_onnx(channels: usize, seed: u64) -> Result<Vec<u8>, EvalError> {
    let conv = LayerSpec::Conv {
        out_channels: channels,
        kernel: 3,
        stride: 1,
        padding: Padding::Same,
        activation: Activation::Relu,
        bias: true,
    };
    let pool = LayerSpec::Pool { kind: PoolKind::Max, kernel: 2, stride: 2, padding: Padding::Valid };
    let input = Shape::Image { channels: 1, height: 28, width: 28 };
    let layers = [conv.clone(), pool.clone(), conv, pool];
    let spec = NetSpec::build(input, 10, &layers, None, SpecRules::default())
        .map_err(|e| EvalError::caused_by("building a small CNN", e))?;
    let model = export_network(&TrainedNet::seeded(spec, seed), ExportOptions::default())
        .map_err(|e| EvalError::caused_by("exporting a small CNN", e))?;
    Ok(encode(&model))
}

/// One board's reading of the reference model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationRecord {
    /// The board's id.
    pub board: String,
    /// The generation whose candidates it was taken before.
    pub generation: usize,
    /// Seconds since the Unix epoch.
    pub unix_s: f64,
    /// The board's idle power, watts.
    pub idle_w: f64,
    /// The reference model's energy per inference, joules.
    pub energy_j: f64,
    /// Its energy above idle per inference, joules.
    pub dynamic_energy_j: f64,
    /// Its mean latency, microseconds.
    pub latency_us: f64,
    /// Where the figures come from.
    pub source: String,
}

impl BoardSlot {
    /// Measures the reference model on this board (never from the cache).
    pub fn calibrate(
        &mut self,
        ctx: &MeasureContext<'_>,
        reference: &[u8],
        generation: usize,
    ) -> Result<CalibrationRecord, EvalError> {
        let m = self
            .measure(ctx, reference, None, &mut 0)?
            .map_err(|refused| EvalError::new(format!("board {}: the reference model: {refused}", self.board.id)))?;
        let unix_s =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        Ok(CalibrationRecord {
            board: self.board.id.clone(),
            generation,
            unix_s,
            idle_w: m.idle_power_w,
            energy_j: m.energy_per_inference_j.mean,
            dynamic_energy_j: m.dynamic_energy_per_inference_j.mean,
            latency_us: m.latency_mean_us,
            source: self.session().map(crate::board::BoardSession::source_label).unwrap_or_default(),
        })
    }
}

/// One model measured again on a second board of the farm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossCheck {
    /// The model (`#12 p1`).
    pub model: String,
    /// The board that measured it during the run, and its energy per inference there, joules.
    pub first_board: String,
    /// Energy per inference the run logged, joules.
    pub first_energy_j: f64,
    /// The board that measured it again, and what it read, joules.
    pub second_board: String,
    /// Energy per inference on the second board, joules.
    pub second_energy_j: f64,
    /// (second − first) / first, percent.
    pub difference_pct: f64,
}

/// A model to measure again: its name, the board that measured it, the energy logged, its ONNX.
#[derive(Debug, Clone)]
pub struct CrossCheckModel {
    /// The model (`#12 p1`).
    pub model: String,
    /// The board that measured it.
    pub board: String,
    /// Energy per inference logged, joules.
    pub energy_j: f64,
    /// The exported model (batch 1, as measured).
    pub onnx: Vec<u8>,
}

/// Measures each model again on the first board in service that did not measure it (never from
/// the cache); a model no other board can take, or that fails, is left out with a warning.
pub fn cross_check(boards: &mut [BoardSlot], ctx: &MeasureContext<'_>, models: &[CrossCheckModel]) -> Vec<CrossCheck> {
    let mut out = Vec::new();
    for model in models {
        let Some(slot) = boards.iter_mut().find(|slot| slot.board.id != model.board) else {
            tracing::warn!("cross-check of {}: no second board", model.model);
            continue;
        };
        let second_board = slot.board.id.clone();
        match slot.measure(ctx, &model.onnx, None, &mut 0) {
            Ok(Ok(m)) => {
                let second_energy_j = m.energy_per_inference_j.mean;
                out.push(CrossCheck {
                    model: model.model.clone(),
                    first_board: model.board.clone(),
                    first_energy_j: model.energy_j,
                    second_board,
                    second_energy_j,
                    difference_pct: 100.0 * (second_energy_j - model.energy_j) / model.energy_j,
                });
            }
            Ok(Err(refused)) => tracing::warn!("cross-check of {} on {second_board}: {refused}", model.model),
            Err(err) => tracing::warn!("cross-check of {} on {second_board}: {err:#}", model.model),
        }
    }
    out
}

/// Appends `record` to `farm.jsonl` in `run_dir`.
pub fn append_record(run_dir: &Path, record: &CalibrationRecord) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let path = run_dir.join("farm.jsonl");
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(&line)
}

/// How far the boards agree: (largest − smallest) / mean of the reference model's energy over
/// the boards' latest records, percent; `None` with fewer than two boards.
pub fn energy_spread_pct(records: &[CalibrationRecord]) -> Option<f64> {
    let mut latest: Vec<&CalibrationRecord> = Vec::new();
    for record in records.iter().rev() {
        if !latest.iter().any(|r| r.board == record.board) {
            latest.push(record);
        }
    }
    if latest.len() < 2 {
        return None;
    }
    let energies: Vec<f64> = latest.iter().map(|r| r.energy_j).collect();
    let mean = energies.iter().sum::<f64>() / energies.len() as f64;
    let (lo, hi) = energies.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &e| (lo.min(e), hi.max(e)));
    Some(100.0 * (hi - lo) / mean)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(board: &str, energy_j: f64) -> CalibrationRecord {
        CalibrationRecord {
            board: board.into(),
            generation: 0,
            unix_s: 0.0,
            idle_w: 2.7,
            energy_j,
            dynamic_energy_j: energy_j / 2.0,
            latency_us: 100.0,
            source: "test".into(),
        }
    }

    #[test]
    fn the_spread_uses_each_boards_latest_record() {
        assert_eq!(energy_spread_pct(&[record("a", 1.0)]), None);
        let records = [record("a", 5.0), record("b", 1.0), record("a", 1.1), record("c", 0.9)];
        let spread = energy_spread_pct(&records).expect("three boards");
        assert!((spread - 100.0 * 0.2 / 1.0).abs() < 1e-9, "{spread}");
    }

    #[test]
    fn the_reference_model_is_the_same_every_time() {
        let model = reference_model().expect("builds");
        assert_eq!(model, reference_model().expect("builds"));
        assert!(model.len() > 1000);
    }
}
