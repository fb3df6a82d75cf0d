//! The run's state between generations, and its checkpoint files.
//!
//! After every generation the whole state (parent, best, archive, RNG, counters, the length of
//! the JSONL log) is written to `checkpoints/gen-NNNN.json` and `checkpoints/latest.json`, each
//! through a temporary file and a rename, so a run killed at any moment leaves a complete last
//! checkpoint. Resuming truncates the log to the recorded length and replays the interrupted
//! generation with the saved RNG: the same decisions as an uninterrupted run, given the same
//! measurements.

use std::fs;

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::evolve::archive::ModuleArchive;
use crate::evolve::candidate::Candidate;
use crate::files::write_atomic;
use crate::genome::Module;

/// Counters for the final summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunStats {
    /// Candidates evaluated (re-evaluations included).
    pub evaluations: usize,
    /// Of which invalid.
    pub invalid: usize,
    /// Board measurements answered from the cache.
    pub cache_hits: usize,
    /// Seconds spent training.
    pub train_s: f64,
    /// Seconds spent exporting, checking accuracy and measuring.
    pub measure_s: f64,
    /// Offspring stopped early by racing.
    #[serde(default)]
    pub raced: usize,
    /// Training budget racing saved, seconds.
    #[serde(default)]
    pub race_saved_s: f64,
}

/// Everything a resumed run needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvolutionState {
    /// The next generation to run.
    pub generation: usize,
    /// The current parent (after the last completed generation's selection).
    pub parent: Option<Candidate>,
    /// The fittest candidate seen so far.
    pub best: Option<Candidate>,
    /// NSGA-II's population after the last completed generation (empty for the (1+λ) strategy).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub population: Vec<Candidate>,
    /// Every module seen, with its measured power.
    pub archive: ModuleArchive<Module>,
    /// The search's RNG (mutation and initialisation draws only).
    pub rng: ChaCha8Rng,
    /// The next candidate id.
    pub next_id: u64,
    /// Bytes of the JSONL log written up to this checkpoint.
    pub log_bytes: u64,
    /// Counters.
    pub stats: RunStats,
}

impl EvolutionState {
    /// A fresh run.
    pub fn new(seed: u64) -> Self {
        EvolutionState {
            generation: 0,
            parent: None,
            best: None,
            population: Vec::new(),
            archive: ModuleArchive::new(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            next_id: 0,
            log_bytes: 0,
            stats: RunStats::default(),
        }
    }
}

/// A checkpoint could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// File system error.
    #[error("checkpoint {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not a checkpoint of this version.
    #[error("checkpoint {path} is not readable; it was written by another wattevo version or is damaged")]
    Format {
        /// The file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
}

/// The checkpoint directory of a run directory.
pub fn checkpoint_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("checkpoints")
}

/// Writes `state` as generation `state.generation - 1`'s checkpoint and as `latest.json`.
pub fn save(run_dir: &Path, state: &EvolutionState) -> Result<(), CheckpointError> {
    let dir = checkpoint_dir(run_dir);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CheckpointError::Io { path, source }
    };
    fs::create_dir_all(&dir).map_err(io(&dir))?;
    let text =
        serde_json::to_vec_pretty(state).map_err(|source| CheckpointError::Format { path: dir.clone(), source })?;
    let name = format!("gen-{:04}.json", state.generation.saturating_sub(1));
    for file in [name.as_str(), "latest.json"] {
        write_atomic(&dir.join(file), &text).map_err(io(&dir.join(file)))?;
    }
    Ok(())
}

/// Reads `checkpoints/latest.json` of a run directory. When it is damaged (a truncated file,
/// a disk that filled up), says so and falls back to the newest readable `gen-NNNN.json`.
pub fn load(run_dir: &Path) -> Result<EvolutionState, CheckpointError> {
    let path = checkpoint_dir(run_dir).join("latest.json");
    let damaged = match read(&path) {
        Err(CheckpointError::Format { path, source }) => CheckpointError::Format { path, source },
        other => return other,
    };
    for generation in generation_files(run_dir).into_iter().rev() {
        match read(&generation) {
            Ok(state) => {
                tracing::warn!("{damaged} ({}); resuming from {}", damaged_cause(&damaged), generation.display());
                return Ok(state);
            }
            Err(err) => tracing::warn!("{err}; trying an older checkpoint"),
        }
    }
    Err(damaged)
}

fn damaged_cause(err: &CheckpointError) -> String {
    std::error::Error::source(err).map(ToString::to_string).unwrap_or_default()
}

fn read(path: &Path) -> Result<EvolutionState, CheckpointError> {
    let text = fs::read(path).map_err(|source| CheckpointError::Io { path: path.to_path_buf(), source })?;
    serde_json::from_slice(&text).map_err(|source| CheckpointError::Format { path: path.to_path_buf(), source })
}

/// The `gen-NNNN.json` files of a run, oldest first.
fn generation_files(run_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(checkpoint_dir(run_dir)) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("gen-") && n.ends_with(".json"))
        })
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use rand::RngExt;

    use super::*;

    #[test]
    fn state_round_trips_with_its_rng_position() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut state = EvolutionState::new(9);
        let _: u64 = state.rng.random();
        state.generation = 3;
        state.log_bytes = 1234;
        save(dir.path(), &state).expect("save");
        let mut loaded = load(dir.path()).expect("load");
        assert_eq!(loaded, state);
        assert_eq!(loaded.rng.random::<u64>(), state.rng.random::<u64>());
        assert!(checkpoint_dir(dir.path()).join("gen-0002.json").exists());
    }

    #[test]
    fn damaged_checkpoint_names_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(checkpoint_dir(dir.path())).expect("mkdir");
        fs::write(checkpoint_dir(dir.path()).join("latest.json"), b"{ not json").expect("write");
        let err = load(dir.path()).expect_err("damaged");
        assert!(err.to_string().contains("latest.json"), "{err}");
        let err = load(&dir.path().join("missing")).expect_err("missing");
        assert!(err.to_string().contains("missing"), "{err}");
    }

    #[test]
    fn a_truncated_latest_falls_back_to_the_newest_good_generation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut state = EvolutionState::new(3);
        for generation in 1..=3 {
            state.generation = generation;
            save(dir.path(), &state).expect("save");
        }
        let cdir = checkpoint_dir(dir.path());
        let full = fs::read(cdir.join("latest.json")).expect("read");
        fs::write(cdir.join("latest.json"), &full[..full.len() / 2]).expect("truncate");
        fs::write(cdir.join("gen-0002.json"), b"").expect("empty newest");
        let loaded = load(dir.path()).expect("falls back");
        assert_eq!(loaded.generation, 2, "gen-0001.json holds the state after generation 1");
    }
}
