//! Loads a [`BoardProfile`] from a TOML file, with errors that name the file, the line and
//! column, and what was expected there.

use std::path::{Path, PathBuf};

use wattevo_proto::BoardProfile;

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
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        /// The profile's path.
        path: PathBuf,
        /// 1-based line of the offending key or value (0 when unknown).
        line: usize,
        /// 1-based column.
        column: usize,
        /// toml's explanation: the key and what was expected.
        message: String,
    },
}

/// 1-based line and column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Parses profile `text` read from `path`.
pub fn parse_profile(path: &Path, text: &str) -> Result<BoardProfile, ProfileError> {
    toml::from_str(text).map_err(|e: toml::de::Error| {
        let (line, column) = e.span().map_or((0, 0), |span| line_col(text, span.start));
        ProfileError::Parse { path: path.to_path_buf(), line, column, message: e.message().trim().to_string() }
    })
}

/// Reads and parses the profile at `path`.
pub fn load_profile(path: &Path) -> Result<BoardProfile, ProfileError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ProfileError::Read { path: path.to_path_buf(), source })?;
    parse_profile(path, &text)
}

#[cfg(test)]
mod tests {
    use wattevo_proto::SensorSource;

    use super::*;

    const MINIMAL: &str = r#"
name = "t"
description = "test"
[serial]
baud = 115200
[sensor]
source = "emulated_ina219"
i2c_bus = 1
i2c_address = 0x40
shunt_ohms = 0.1
max_current_a = 3.2
"#;

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
    fn a_minimal_profile_takes_the_defaults() {
        let p = parse_profile(Path::new("t.toml"), MINIMAL).expect("parse");
        assert_eq!(p.sensor.source, SensorSource::EmulatedIna219);
        assert_eq!(p.runtime.tract_threads, 1);
        assert_eq!(p.measure.min_repetitions, 5);
    }

    #[test]
    fn a_wrong_type_names_file_line_column_and_key() {
        let text = MINIMAL.replace("shunt_ohms = 0.1", "shunt_ohms = \"small\"");
        let err = parse_profile(Path::new("boards/x.toml"), &text).expect_err("wrong type");
        let shown = err.to_string();
        assert!(shown.starts_with("boards/x.toml:10:14: "), "{shown}");
        assert!(shown.contains("float") || shown.contains("f64"), "{shown}");
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let text = MINIMAL.replace("baud = 115200", "baud = 115200\nbaudrate = 9600");
        let err = parse_profile(Path::new("x.toml"), &text).expect_err("unknown key");
        assert!(err.to_string().contains("baudrate"), "{err}");
    }

    #[test]
    fn a_missing_file_is_named() {
        let err = load_profile(Path::new("/nonexistent/board.toml")).expect_err("missing");
        assert!(err.to_string().contains("/nonexistent/board.toml"));
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab", 0), (1, 1));
    }
}
