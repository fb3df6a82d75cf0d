//! Measurements cached by content: the exported graph's architecture hash, the board kind (and
//! a simulated board's twin), the agent's and tract's versions and the measurement protocol.
//! The same architecture on the same kind of board, runtime and protocol is measured once.
//! Persisted as `measurements.json` in the run directory, written with each checkpoint; with
//! `--cache DIR` also shared between runs, one file per measurement (`DIR/<sha-256 of the
//! key>.bin`, written atomically as it is taken), so runs on one machine (or a shared
//! filesystem) reuse each other's measurements. Each measurement is stored in its wire form
//! (postcard bytes), which keeps every float exact, NaN temperatures of boards without a sensor
//! included (JSON has no NaN).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use wattevo_proto::{HelloResponse, MeasureProtocol, Measurement, ModelHash};

use crate::files::write_atomic;

/// The cache and the file it lives in.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasurementCache {
    path: PathBuf,
    entries: BTreeMap<String, Measurement>,
    shared: Option<PathBuf>,
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
        Ok(MeasurementCache { path: path.to_path_buf(), entries, shared: None })
    }

    /// Also reads and writes the cache shared between runs in `dir` (created if missing).
    pub fn with_shared(mut self, dir: &Path) -> Result<Self, CacheError> {
        std::fs::create_dir_all(dir).map_err(|e| CacheError { path: dir.to_path_buf(), reason: e.to_string() })?;
        self.shared = Some(dir.to_path_buf());
        Ok(self)
    }

    /// The key of an architecture measured on the board that sent `hello`, with `protocol`.
    pub fn key(arch_hash: &str, hello: &HelloResponse, protocol: &MeasureProtocol) -> String {
        let protocol = postcard::to_allocvec(protocol).map(|bytes| ModelHash::of(&bytes).to_string());
        let protocol = protocol.unwrap_or_default();
        let twin = if hello.twin.is_empty() { String::new() } else { format!("|{}", hello.twin) };
        format!(
            "{arch_hash}|{}{twin}|agent {}|tract {}|protocol {}",
            hello.board_name,
            hello.agent_version,
            hello.tract_version,
            protocol.get(..16).unwrap_or(&protocol)
        )
    }

    /// A cached measurement: this run's, or the shared cache's (then kept in this run's too).
    pub fn get(&mut self, key: &str) -> Option<Measurement> {
        if let Some(found) = self.entries.get(key) {
            return Some(found.clone());
        }
        let file = self.shared_file(key)?;
        let bytes = std::fs::read(&file).ok()?;
        match postcard::from_bytes::<(String, Measurement)>(&bytes) {
            Ok((stored, measurement)) if stored == key => {
                self.entries.insert(key.to_owned(), measurement.clone());
                Some(measurement)
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!("shared measurement cache: {} is damaged ({e}); measuring again", file.display());
                None
            }
        }
    }

    /// Adds a measurement (and writes it to the shared cache: a failure there is a warning,
    /// the run's own cache still has it).
    pub fn insert(&mut self, key: String, measurement: Measurement) {
        if let Some(file) = self.shared_file(&key) {
            // a temporary file of this process's own: runs sharing the directory may write the
            // same measurement at once
            let tmp = file.with_extension(format!("{}.tmp", std::process::id()));
            let written = postcard::to_allocvec(&(key.as_str(), &measurement))
                .map_err(std::io::Error::other)
                .and_then(|bytes| std::fs::write(&tmp, bytes))
                .and_then(|()| std::fs::rename(&tmp, &file));
            if let Err(e) = written {
                tracing::warn!("shared measurement cache: writing {}: {e}", file.display());
            }
        }
        self.entries.insert(key, measurement);
    }

    fn shared_file(&self, key: &str) -> Option<PathBuf> {
        let dir = self.shared.as_ref()?;
        Some(dir.join(format!("{}.bin", ModelHash::of(key.as_bytes()))))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::fake::placeholder_measurement;
    use wattevo_proto::ModelHash;

    fn hello(agent: &str, twin: &str) -> HelloResponse {
        let mut hello = crate::board::fake::placeholder_hello();
        hello.agent_version = agent.into();
        hello.twin = twin.into();
        hello
    }

    #[test]
    fn the_key_names_the_board_kind_runtime_twin_and_protocol() {
        let protocol = MeasureProtocol::default();
        let base = MeasurementCache::key("arch", &hello("0.1.0", "twin pi4b v2"), &protocol);
        assert_eq!(base, MeasurementCache::key("arch", &hello("0.1.0", "twin pi4b v2"), &protocol));
        assert!(base.starts_with("arch|") && base.contains("twin pi4b v2") && base.contains("protocol "));
        assert_ne!(base, MeasurementCache::key("arch", &hello("0.1.1", "twin pi4b v2"), &protocol));
        assert_ne!(base, MeasurementCache::key("arch", &hello("0.1.0", "twin pi4b v1"), &protocol));
        let longer = MeasureProtocol { min_duration_ms: protocol.min_duration_ms + 1, ..protocol.clone() };
        assert_ne!(base, MeasurementCache::key("arch", &hello("0.1.0", "twin pi4b v2"), &longer));
    }

    #[test]
    fn runs_share_measurements_through_the_shared_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let shared = dir.path().join("shared");
        let measurement = placeholder_measurement(ModelHash([7; 32]));
        let mut first =
            MeasurementCache::load(&dir.path().join("a.json")).expect("a").with_shared(&shared).expect("dir");
        first.insert("k".into(), measurement.clone());
        let mut second =
            MeasurementCache::load(&dir.path().join("b.json")).expect("b").with_shared(&shared).expect("dir");
        // compared as wire bytes: the placeholder's temperatures are NaN
        let bytes = |m: &Measurement| postcard::to_allocvec(m).expect("encode");
        assert_eq!(second.get("k").as_ref().map(bytes), Some(bytes(&measurement)), "measured by the first run");
        assert_eq!(second.len(), 1, "kept in the second run's own cache");
        assert_eq!(second.get("other"), None);
        // a damaged file is measured again, not trusted
        let file = std::fs::read_dir(&shared).expect("list").flatten().next().expect("one file").path();
        std::fs::write(&file, b"\x01garbage").expect("damage");
        let mut third =
            MeasurementCache::load(&dir.path().join("c.json")).expect("c").with_shared(&shared).expect("dir");
        assert_eq!(third.get("k"), None);
        let mut alone = MeasurementCache::load(&dir.path().join("d.json")).expect("d");
        assert_eq!(alone.get("k"), None, "without --cache nothing is shared");
    }
}
