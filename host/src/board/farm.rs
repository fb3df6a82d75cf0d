//! A board farm: several boards that measure a run's candidates in parallel.
//!
//! `--board` names one board (a profile name or file, with `--port`) or a farm file:
//!
//! ```toml
//! name = "shelf"                 # optional
//! [[board]]
//! id = "pi-a"                    # optional: the profile's name and the board's position
//! profile = "pi4b"               # a profile name or file (relative to this file)
//! port = "/dev/ttyUSB0"          # optional for a simulated board
//! [[board]]
//! profile = "sim"
//! count = 3                      # three boards of this entry: sim-1, sim-2, sim-3
//! ```
//!
//! Each board of a simulated farm runs its own agent on its own pseudo-terminal, with its power
//! figures drawn from its profile's `[tolerance]` (idle and per-core power, one standard
//! deviation in percent) by the board's position, so boards of one kind differ as real ones do
//! and the same farm file always gives the same boards.

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use wattevo_proto::SensorSource;

use super::profiles::LoadedProfile;

/// One board of a farm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FarmBoard {
    /// Unique within the farm (`sim-2`, `pi-a`): in logs, figures and calibration records.
    pub id: String,
    /// Profile name or path.
    pub profile: String,
    /// Serial port (`None`: the profile's, or a simulated board).
    pub port: Option<String>,
    /// Position in the farm, 0-based (draws a simulated board's figures).
    pub index: usize,
}

/// The boards a run measures on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Farm {
    /// The farm's name (the file's `name`, or the single board's profile).
    pub name: String,
    /// Its boards, in file order.
    pub boards: Vec<FarmBoard>,
    /// True when read from a farm file (a single `--board` is a farm of one that is not varied).
    pub from_file: bool,
}

/// Why a farm could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FarmError {
    /// The file could not be read.
    #[error("could not read farm file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The TOML does not fit the farm schema.
    #[error("farm file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FarmFile {
    #[serde(default)]
    name: Option<String>,
    board: Vec<FarmEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FarmEntry {
    #[serde(default)]
    id: Option<String>,
    profile: String,
    #[serde(default)]
    port: Option<String>,
    #[serde(default = "one")]
    count: usize,
}

fn one() -> usize {
    1
}

/// True when `spec` is a farm file: a TOML file with a top-level `board` array (a board
/// profile has none).
pub fn is_farm_file(spec: &str) -> bool {
    let path = Path::new(spec);
    if !(spec.ends_with(".toml") && path.is_file()) {
        return false;
    }
    let Ok(text) = std::fs::read_to_string(path) else { return false };
    text.parse::<toml::Table>().is_ok_and(|table| table.get("board").is_some_and(toml::Value::is_array))
}

impl Farm {
    /// The farm `--board spec` (and `--port`, for a single board) names.
    pub fn resolve(spec: &str, port: Option<&str>) -> Result<Farm, FarmError> {
        if is_farm_file(spec) {
            return Farm::load(Path::new(spec));
        }
        let name = Path::new(spec).file_stem().map_or_else(|| spec.to_owned(), |s| s.to_string_lossy().into_owned());
        let board = FarmBoard { id: name.clone(), profile: spec.to_owned(), port: port.map(str::to_owned), index: 0 };
        Ok(Farm { name, boards: vec![board], from_file: false })
    }

    /// Reads a farm file.
    pub fn load(path: &Path) -> Result<Farm, FarmError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| FarmError::Read { path: path.to_path_buf(), source })?;
        Farm::parse(path, &text)
    }

    /// Parses farm TOML read from `path` (profile paths are relative to its directory).
    pub fn parse(path: &Path, text: &str) -> Result<Farm, FarmError> {
        let bad = |message: String| FarmError::Parse { path: path.to_path_buf(), message };
        let file: FarmFile = toml::from_str(text).map_err(|e| bad(e.to_string().trim().to_owned()))?;
        if file.board.is_empty() {
            return Err(bad("no [[board]]: a farm needs at least one board".into()));
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut boards: Vec<FarmBoard> = Vec::new();
        for (entry_index, entry) in file.board.iter().enumerate() {
            if entry.count == 0 {
                return Err(bad(format!("board {}: count = 0 adds no board", entry_index + 1)));
            }
            let profile = profile_spec(dir, &entry.profile);
            let stem = Path::new(&entry.profile)
                .file_stem()
                .map_or_else(|| entry.profile.clone(), |s| s.to_string_lossy().into_owned());
            for copy in 0..entry.count {
                let index = boards.len();
                let base = entry.id.clone().unwrap_or_else(|| stem.clone());
                let id = if entry.count > 1 || entry.id.is_none() { format!("{base}-{}", index + 1) } else { base };
                if boards.iter().any(|b| b.id == id) {
                    return Err(bad(format!("board {}: id `{id}` is used twice", entry_index + 1)));
                }
                let port = entry.port.clone().filter(|_| copy == 0);
                if entry.count > 1 && entry.port.is_some() {
                    return Err(bad(format!(
                        "board {}: `count` is for simulated boards; a real board has one port, give each its own [[board]]",
                        entry_index + 1
                    )));
                }
                boards.push(FarmBoard { id, profile: profile.clone(), port, index });
            }
        }
        let name = file.name.unwrap_or_else(|| {
            path.file_stem().map_or_else(|| "farm".to_owned(), |s| s.to_string_lossy().into_owned())
        });
        Ok(Farm { name, boards, from_file: true })
    }

    /// `sim-1, sim-2, sim-3`.
    pub fn ids(&self) -> String {
        self.boards.iter().map(|b| b.id.as_str()).collect::<Vec<_>>().join(", ")
    }
}

/// A profile reference from a farm file: a path relative to the farm file when that file
/// exists, otherwise as written (a bare name such as `sim`).
fn profile_spec(dir: &Path, profile: &str) -> String {
    let relative = dir.join(profile);
    if (profile.contains('/') || profile.ends_with(".toml")) && relative.is_file() && Path::new(profile).is_relative() {
        return relative.display().to_string();
    }
    profile.to_owned()
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    use rand::RngExt;
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// The profile of simulated farm board `board`: idle and per-core power drawn from the
/// profile's `[tolerance]` (clamped to ±3 σ), its own noise seed, a relative twin path made
/// absolute (the varied profile is written elsewhere). A real board's profile is returned as
/// it is: the board itself differs.
pub fn vary(loaded: &LoadedProfile, board: &FarmBoard) -> LoadedProfile {
    let mut profile = loaded.profile.clone();
    let simulated = profile.sensor.source == SensorSource::EmulatedIna219 && board.port.is_none();
    let Some(model) = profile.power_model.as_mut().filter(|_| simulated) else { return loaded.clone() };
    let mut rng = ChaCha8Rng::seed_from_u64(model.seed ^ (board.index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let tolerance = &profile.tolerance;
    model.idle_w *= 1.0 + tolerance.idle_pct / 100.0 * normal(&mut rng).clamp(-3.0, 3.0);
    model.core_w *= 1.0 + tolerance.core_pct / 100.0 * normal(&mut rng).clamp(-3.0, 3.0);
    model.seed = model.seed.wrapping_add(board.index as u64 + 1);
    if let (Some(twin), Some(path)) = (model.twin.as_mut(), loaded.path.as_ref()) {
        let relative = Path::new(twin.as_str());
        if relative.is_relative() && (twin.contains('/') || twin.ends_with(".toml")) {
            let dir = path.parent().unwrap_or(Path::new("."));
            *twin = dir.join(relative).display().to_string();
        }
    }
    let text = toml::to_string(&profile).unwrap_or_else(|_| loaded.text.clone());
    LoadedProfile {
        profile,
        origin: format!("{} (farm board {}, drawn from its [tolerance])", loaded.origin, board.id),
        path: None,
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::profiles::load_profile;

    fn parse(text: &str) -> Result<Farm, FarmError> {
        Farm::parse(Path::new("/nowhere/farm.toml"), text)
    }

    #[test]
    fn a_farm_file_lists_its_boards_with_unique_ids() {
        let farm = parse(
            "name = \"shelf\"\n[[board]]\nprofile = \"sim\"\ncount = 3\n\
             [[board]]\nid = \"pi-a\"\nprofile = \"pi4b\"\nport = \"/dev/ttyUSB0\"\n",
        )
        .expect("farm");
        assert_eq!(farm.name, "shelf");
        assert_eq!(farm.ids(), "sim-1, sim-2, sim-3, pi-a");
        assert_eq!(farm.boards[3].port.as_deref(), Some("/dev/ttyUSB0"));
        assert_eq!(farm.boards.iter().map(|b| b.index).collect::<Vec<_>>(), [0, 1, 2, 3]);
        assert!(farm.from_file);
    }

    #[test]
    fn bad_farm_files_say_what_is_wrong() {
        let cases = [
            ("board = []\n", "at least one board"),
            ("[[board]]\nprofile = \"sim\"\ncount = 0\n", "count = 0"),
            ("[[board]]\nid = \"a\"\nprofile = \"sim\"\n[[board]]\nid = \"a\"\nprofile = \"sim\"\n", "used twice"),
            ("[[board]]\nprofile = \"pi4b\"\nport = \"/dev/ttyUSB0\"\ncount = 2\n", "one port"),
            ("[[board]]\nprofile = \"sim\"\nspeed = 3\n", "speed"),
            ("[[board]]\nport = \"/dev/ttyUSB0\"\n", "profile"),
        ];
        for (text, expected) in cases {
            let error = parse(text).expect_err(text).to_string();
            assert!(error.contains("/nowhere/farm.toml") && error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn a_single_board_is_a_farm_of_one() {
        let farm = Farm::resolve("sim", None).expect("sim");
        assert_eq!((farm.name.as_str(), farm.ids().as_str(), farm.from_file), ("sim", "sim", false));
        let farm = Farm::resolve("boards/pi4b.toml", Some("/dev/ttyUSB0")).expect("pi4b");
        assert_eq!(farm.boards[0].port.as_deref(), Some("/dev/ttyUSB0"));
        assert!(!is_farm_file("no-such-file.toml"));
    }

    #[test]
    fn simulated_boards_differ_within_their_tolerance_and_the_same_farm_gives_the_same_boards() {
        // this checkout's profile (a bare name may find another checkout's boards/ first)
        let text = include_str!("../../../boards/sim.toml");
        let profile = wattevo_proto::parse_board_profile(text, "sim.toml").expect("sim.toml");
        let sim = LoadedProfile { profile, origin: "sim.toml".into(), path: None, text: text.into() };
        let farm = parse("[[board]]\nprofile = \"sim\"\ncount = 40\n").expect("farm");
        let nominal = sim.profile.power_model.clone().expect("power model");
        let idles: Vec<f64> = farm
            .boards
            .iter()
            .map(|b| vary(&sim, b).profile.power_model.expect("model").idle_w / nominal.idle_w - 1.0)
            .collect();
        let spread = (idles.iter().map(|x| x * x).sum::<f64>() / idles.len() as f64).sqrt();
        let tolerance = sim.profile.tolerance.idle_pct / 100.0;
        assert!(spread > 0.5 * tolerance && spread < 1.5 * tolerance, "spread {spread} vs {tolerance}");
        assert!(idles.iter().all(|x| x.abs() <= 3.0 * tolerance + 1e-12));
        let again = vary(&sim, &farm.boards[5]);
        assert_eq!(again.text, vary(&sim, &farm.boards[5]).text, "the same board every time");
        let reparsed = wattevo_proto::parse_board_profile(&again.text, "varied").expect("a valid profile");
        assert_ne!(reparsed.power_model.map(|m| m.seed), Some(nominal.seed), "its own noise");
        let real = load_profile("pi4b").expect("pi4b");
        let board =
            FarmBoard { id: "pi-a".into(), profile: "pi4b".into(), port: Some("/dev/ttyUSB0".into()), index: 3 };
        assert_eq!(vary(&real, &board).text, real.text, "a real board is not drawn");
    }
}
