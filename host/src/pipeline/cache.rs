//! Measurements cached by the exported graph's architecture hash, the board and the agent's
//! and tract's versions: the same architecture on the same board and runtime is measured once.
//! Persisted as `measurements.json` in the run directory, written with each checkpoint. Each
//! measurement is stored in its wire form (postcard bytes), which keeps every float exact,
//! NaN temperatures of boards without a sensor included (JSON has no NaN).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use wattevo_proto::{HelloResponse, Measurement};

use crate::files::write_atomic;

/// The cache and the file it lives in.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasurementCache {
    path: PathBuf,
    entries: BTreeMap<String, Measurement>,
}

/// The cache file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("measurement cache {path}: {reason}")]
pub struct CacheError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub reason: String,
}

impl MeasurementCache {
    /// Loads `path`, or starts empty when it does not exist.
    pub fn load(path: &Path) -> Result<Self, CacheError> {
        let err = |reason: String| CacheError { path: path.to_path_buf(), reason };
        let stored: BTreeMap<String, Vec<u8>> = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| err(format!("{e}; delete it to re-measure")))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(err(e.to_string())),
        };
        let mut entries = BTreeMap::new();
        for (key, bytes) in stored {
            let measurement = postcard::from_bytes(&bytes)
                .map_err(|e| err(format!("entry {key}: {e}; delete the file to re-measure")))?;
            entries.insert(key, measurement);
        }
        Ok(MeasurementCache { path: path.to_path_buf(), entries })
    }

    /// The key of an architecture measured on the board that sent `hello`.
    pub fn key(arch_hash: &str, hello: &HelloResponse) -> String {
        format!("{arch_hash}|{}|agent {}|tract {}", hello.board_name, hello.agent_version, hello.tract_version)
    }

    /// A cached measurement.
    pub fn get(&self, key: &str) -> Option<&Measurement> {
        self.entries.get(key)
    }

    /// Adds a measurement.
    pub fn insert(&mut self, key: String, measurement: Measurement) {
        self.entries.insert(key, measurement);
    }

    /// Number of cached measurements.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Writes the cache to its file (atomically).
    pub fn save(&self) -> Result<(), CacheError> {
        let err = |reason: String| CacheError { path: self.path.clone(), reason };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        }
        let mut stored = BTreeMap::new();
        for (key, measurement) in &self.entries {
            stored.insert(key, postcard::to_allocvec(measurement).map_err(|e| err(e.to_string()))?);
        }
        let bytes = serde_json::to_vec(&stored).map_err(|e| err(e.to_string()))?;
        write_atomic(&self.path, &bytes).map_err(|e| err(e.to_string()))
    }
}
