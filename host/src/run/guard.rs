//! Checks on a run directory before a run writes into it: a new run goes only into an empty
//! directory or one a wattevo run wrote (never over another program's files), and a resumed
//! run only with the settings it started with, apart from the few that are safe to change.

use std::path::{Path, PathBuf};

use crate::evolve::checkpoint::checkpoint_dir;
use crate::evolve::runlog::LogLine;

use super::EvolveConfig;

/// The config a run started with, kept beside its checkpoints.
pub fn started_config_path(run_dir: &Path) -> PathBuf {
    checkpoint_dir(run_dir).join("config.toml")
}

/// Keys of `config.toml` a resumed run may change.
pub const RESUMABLE_KEYS: &[&str] = &[
    "generations",
    "port",
    "board_retries",
    "farm_calibrate_every",
    "farm_cross_check",
    "cache",
    "executor",
    "slurm_partition",
    "slurm_time",
    "slurm_cpus",
    "slurm_mem",
    "slurm_retries",
    "device",
];

/// Files and directories a run writes.
const RUN_ENTRIES: &[&str] = &[
    "config.toml",
    "config.tmp",
    "log.jsonl",
    "checkpoints",
    "weights",
    "measurements.json",
    "measurements.tmp",
    "best",
    "summary.json",
    "summary.tmp",
    "pareto.svg",
    "pareto.tmp",
    "front_by_generation.svg",
    "front_by_generation.tmp",
    "hypervolume.svg",
    "hypervolume.tmp",
    "progress.svg",
    "progress.tmp",
    "front",
    "front.json",
    "front.csv",
    "front.tmp",
    "farm.jsonl",
    "slurm",
    super::lock::LOCK_FILE,
];

/// The entries of `dir` that no wattevo run would have written (files of another program, or
/// run files whose content is not a run's); empty when `dir` is missing, empty or a run's.
pub fn foreign_entries(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut foreign = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let ours = (RUN_ENTRIES.contains(&name.as_str()) || (name.starts_with("agent-") && name.ends_with(".log")))
            && content_is_ours(&name, &path);
        if !ours {
            foreign.push(name);
        }
    }
    foreign.sort();
    foreign
}

fn content_is_ours(name: &str, path: &Path) -> bool {
    match name {
        "config.toml" => EvolveConfig::from_file(path).is_ok(),
        "summary.json" => std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .is_some_and(|v| v.get("best_id").is_some() && v.get("run_dir").is_some()),
        "log.jsonl" => {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            text.lines().next().is_none_or(|line| serde_json::from_str::<LogLine>(line).is_ok())
        }
        "measurements.json" => crate::pipeline::cache::MeasurementCache::load(path).is_ok(),
        _ => true,
    }
}

/// The keys that differ between the config a run started with and `config`, with both values,
/// leaving out [`RESUMABLE_KEYS`].
pub fn changed_keys(started: &EvolveConfig, config: &EvolveConfig) -> Vec<String> {
    let table = |c: &EvolveConfig| match toml::Value::try_from(c) {
        Ok(toml::Value::Table(table)) => table,
        _ => toml::Table::new(),
    };
    let (before, after) = (table(started), table(config));
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    let show = |v: Option<&toml::Value>| v.map_or_else(|| "unset".to_owned(), ToString::to_string);
    keys.into_iter()
        .filter(|k| !RESUMABLE_KEYS.contains(&k.as_str()) && before.get(*k) != after.get(*k))
        .map(|k| format!("{k} ({} → {})", show(before.get(k)), show(after.get(k))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_run_files_make_a_directory_a_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(foreign_entries(dir.path()).is_empty());
        std::fs::write(dir.path().join("config.toml"), EvolveConfig::default().to_toml()).expect("write");
        std::fs::create_dir(dir.path().join("checkpoints")).expect("mkdir");
        assert!(foreign_entries(dir.path()).is_empty());
        std::fs::write(dir.path().join("summary.json"), b"{\"total\": 3}").expect("write");
        std::fs::write(dir.path().join("notes.txt"), b"mine").expect("write");
        assert_eq!(foreign_entries(dir.path()), ["notes.txt", "summary.json"]);
        std::fs::write(dir.path().join("config.toml"), b"[package]\nname = \"x\"\n").expect("write");
        assert_eq!(foreign_entries(dir.path()).len(), 3);
    }

    #[test]
    fn resumable_keys_may_change_and_others_are_named() {
        let started = EvolveConfig::default();
        let mut edited = started.clone();
        edited.generations += 3;
        edited.port = Some("/dev/ttyUSB1".into());
        assert!(changed_keys(&started, &edited).is_empty());
        edited.lambda = 9;
        edited.seed = 4;
        let changed = changed_keys(&started, &edited);
        assert_eq!(changed.len(), 2, "{changed:?}");
        assert!(changed[0].starts_with("lambda (4 → 9)"), "{changed:?}");
    }
}
