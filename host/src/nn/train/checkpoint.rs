//! Saving a network's training to continue it later (the reference's `train_longer`).
//!
//! A checkpoint directory holds three files: `model.bpk` (the weights, burn's burnpack format),
//! `optimizer.bpk` (the optimiser's per-parameter state) and [`CHECKPOINT_STATE_FILE`] (JSON:
//! learning settings, options, epoch and step counters).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::optim::build_optimizer;
use super::{LearningSpec, TrainError, TrainOptions, Trainer, TwoHeadNet};

/// Name of the JSON file with the counters and settings.
pub const CHECKPOINT_STATE_FILE: &str = "train_state.json";
const MODEL_FILE: &str = "model.bpk";
const OPTIMIZER_FILE: &str = "optimizer.bpk";

#[derive(Debug, Serialize, Deserialize)]
struct SavedState {
    learning: LearningSpec,
    options: TrainOptions,
    epochs_done: usize,
    steps_done: u64,
}

fn format_error(path: PathBuf, reason: impl std::fmt::Display) -> TrainError {
    TrainError::CheckpointFormat { path, reason: reason.to_string() }
}

impl Trainer {
    /// Writes `model`'s weights, the optimiser state and the counters into `dir` (created if
    /// missing).
    pub fn save<M: TwoHeadNet>(&self, model: &M, dir: &Path) -> Result<(), TrainError> {
        std::fs::create_dir_all(dir).map_err(|source| TrainError::CheckpointIo { path: dir.to_owned(), source })?;
        let state = SavedState {
            learning: self.learning,
            options: self.options.clone(),
            epochs_done: self.epochs_done,
            steps_done: self.steps_done,
        };
        let path = dir.join(CHECKPOINT_STATE_FILE);
        let json = serde_json::to_vec_pretty(&state).map_err(|e| format_error(path.clone(), e))?;
        std::fs::write(&path, json).map_err(|source| TrainError::CheckpointIo { path, source })?;
        let path = dir.join(MODEL_FILE);
        model.clone().save_file(&path).map_err(|e| format_error(path, e))?;
        let path = dir.join(OPTIMIZER_FILE);
        self.optim.save(&path).map_err(|e| format_error(path, e))
    }

    /// Loads a checkpoint written by [`save`](Self::save): `model` must have the same
    /// architecture (it is typically freshly built from the same `NetSpec`); its weights are
    /// replaced by the saved ones.
    pub fn load<M: TwoHeadNet>(model: M, dir: &Path) -> Result<(M, Trainer), TrainError> {
        let path = dir.join(CHECKPOINT_STATE_FILE);
        let json = std::fs::read(&path).map_err(|source| TrainError::CheckpointIo { path: path.clone(), source })?;
        let state: SavedState = serde_json::from_slice(&json).map_err(|e| format_error(path, e))?;
        let path = dir.join(MODEL_FILE);
        let model = model.try_load_file(&path).map_err(|e| format_error(path, e))?;
        let path = dir.join(OPTIMIZER_FILE);
        let optim = build_optimizer(&state.learning.optimiser).load(&path).map_err(|e| format_error(path, e))?;
        let trainer = Trainer {
            learning: state.learning,
            options: state.options,
            optim,
            epochs_done: state.epochs_done,
            steps_done: state.steps_done,
            race: None,
        };
        Ok((model, trainer))
    }
}
