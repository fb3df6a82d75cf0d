//! Loads the agent's [`BoardProfile`] from the file given with `--board`.
//!
//! Reading the file is this module's job; parsing it is the protocol crate's
//! [`parse_board_profile`] (the host uses the same parser), whose errors name the file, the line
//! and column, the key at fault and what was expected there.

use std::path::{Path, PathBuf};

use wattevo_proto::{BoardProfile, ProfileParseError, parse_board_profile};

/// Why a profile could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The file could not be read.
    #[error("cannot read board profile {}: {source}", path.display())]
    Read {
        /// The profile's path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed or does not match the profile's keys and types.
    #[error(transparent)]
    Parse(#[from] ProfileParseError),
}

/// Reads and parses the profile at `path`; a relative twin file it names is made relative to
/// the profile's directory.
pub fn load_profile(path: &Path) -> Result<BoardProfile, ProfileError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ProfileError::Read { path: path.to_path_buf(), source })?;
    let mut profile = parse_board_profile(&text, &path.display().to_string())?;
    crate::sim::twin::resolve_twin_path(&mut profile, path.parent().unwrap_or(Path::new(".")));
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_profiles_load() {
        let boards = Path::new(env!("CARGO_MANIFEST_DIR")).join("../boards");
        for name in ["sim", "pi4b", "pi5", "pizero2w"] {
            let path = boards.join(format!("{name}.toml"));
            let profile = load_profile(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(profile.name, name);
        }
    }

    #[test]
    fn a_wrong_type_names_file_line_column_and_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.toml");
        let sim = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../boards/sim.toml"))
            .expect("sim.toml");
        std::fs::write(&path, sim.replace("shunt_ohms = 0.01", "shunt_ohms = \"small\"")).expect("write");
        let line = sim.lines().position(|l| l.starts_with("shunt_ohms")).expect("shunt_ohms line") + 1;
        let shown = load_profile(&path).expect_err("wrong type").to_string();
        let location = format!("{}:{line}:14: key `sensor.shunt_ohms`: ", path.display());
        assert!(shown.starts_with(&location), "want {location} in {shown}");
        assert!(shown.contains("float") || shown.contains("f64"), "{shown}");
    }

    #[test]
    fn a_missing_file_is_named() {
        let err = load_profile(Path::new("/nonexistent/board.toml")).expect_err("missing");
        assert!(err.to_string().contains("/nonexistent/board.toml"));
    }
}
