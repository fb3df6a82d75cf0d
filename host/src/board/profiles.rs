//! Board profiles: finding a profile by path or bare name, parsing it with errors that point
//! at the file, line, column and key, and the profiles bundled into the binary.
//!
//! A bare name (`sim`, `pi4b`) is looked up as `<name>.toml` in `$WATTEVO_BOARDS`, `./boards`,
//! the workspace of the running executable, this crate's workspace, and finally among the
//! profiles embedded at build time, so `--board sim` works from any directory.

use std::path::{Path, PathBuf};

use wattevo_proto::BoardProfile;

/// Profiles embedded in the binary: (name, TOML text).
pub const BUNDLED_PROFILES: &[(&str, &str)] = &[
    ("sim", include_str!("../../../boards/sim.toml")),
    ("pi4b", include_str!("../../../boards/pi4b.toml")),
    ("pi5", include_str!("../../../boards/pi5.toml")),
    ("pizero2w", include_str!("../../../boards/pizero2w.toml")),
];

/// Why a profile could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// No file of that name anywhere, and no bundled profile.
    #[error(
        "no board profile `{name}`: looked in {searched}; bundled profiles are {bundled}; \
         or pass a path (--board boards/X.toml)"
    )]
    NotFound {
        /// The name asked for.
        name: String,
        /// Directories searched.
        searched: String,
        /// Names of the bundled profiles.
        bundled: String,
    },
    /// The file could not be read.
    #[error("could not read board profile {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The TOML is malformed or does not fit the profile's schema.
    #[error("{origin}:{line}:{column}: key `{key}`: {message}")]
    Parse {
        /// The file (or `bundled:<name>.toml`).
        origin: String,
        /// Line, from 1.
        line: usize,
        /// Column, from 1.
        column: usize,
        /// The key at fault, dotted (`power_model.idle_w`), or empty.
        key: String,
        /// What was wrong and what was expected.
        message: String,
    },
}

/// A profile and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedProfile {
    /// The parsed profile.
    pub profile: BoardProfile,
    /// Where it came from: a path, or `bundled:<name>.toml`.
    pub origin: String,
    /// The file on disk, when there is one.
    pub path: Option<PathBuf>,
    /// The TOML text (written to a temporary file when the agent needs a path).
    pub text: String,
}

/// Loads a profile from a path (anything with a `/` or ending in `.toml`) or a bare name.
pub fn load_profile(spec: &str) -> Result<LoadedProfile, ProfileError> {
    if spec.contains('/') || spec.ends_with(".toml") {
        return load_file(Path::new(spec));
    }
    let file_name = format!("{spec}.toml");
    let dirs = search_dirs();
    for dir in &dirs {
        let candidate = dir.join(&file_name);
        if candidate.is_file() {
            return load_file(&candidate);
        }
    }
    if let Some((name, text)) = BUNDLED_PROFILES.iter().find(|(name, _)| *name == spec) {
        let origin = format!("bundled:{name}.toml");
        let profile = parse_profile(text, &origin)?;
        return Ok(LoadedProfile { profile, origin, path: None, text: (*text).to_owned() });
    }
    let searched = dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ");
    let bundled = BUNDLED_PROFILES.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ");
    Err(ProfileError::NotFound { name: spec.to_owned(), searched, bundled })
}

fn load_file(path: &Path) -> Result<LoadedProfile, ProfileError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ProfileError::Read { path: path.to_path_buf(), source })?;
    let origin = path.display().to_string();
    let profile = parse_profile(&text, &origin)?;
    Ok(LoadedProfile { profile, origin, path: Some(path.to_path_buf()), text })
}

/// Directories searched for `<name>.toml`, in order.
pub fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("WATTEVO_BOARDS") {
        dirs.push(PathBuf::from(dir));
    }
    dirs.push(PathBuf::from("boards"));
    if let Ok(exe) = std::env::current_exe() {
        // target/<profile>/wattevo or target/<profile>/deps/test-binary
        dirs.extend(exe.ancestors().skip(2).take(3).map(|dir| dir.join("boards")));
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("boards"));
    dirs
}

/// Parses profile TOML; `origin` names the file in errors.
pub fn parse_profile(text: &str, origin: &str) -> Result<BoardProfile, ProfileError> {
    toml::from_str(text).map_err(|err| {
        let start = err.span().map_or(0, |span| span.start).min(text.len());
        let (line, column) = line_column(text, start);
        ProfileError::Parse {
            origin: origin.to_owned(),
            line,
            column,
            key: key_at(text, start, err.message()),
            message: err.message().trim().to_owned(),
        }
    })
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |tail| tail.chars().count()) + 1;
    (line, column)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The dotted key at `offset`: the enclosing `[table]` plus the key of that line, or the field
/// named in the message (`missing field `x``).
fn key_at(text: &str, offset: usize, message: &str) -> String {
    let line_start = text[..floor_char_boundary(text, offset)].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let header = |l: &str| {
        let l = l.trim();
        (l.starts_with('[') && l.ends_with(']')).then(|| l.trim_matches(['[', ']']).trim().to_owned())
    };
    let on_header = header(line);
    let from_line = match on_header {
        Some(_) => None,
        None => line.split_once('=').map(|(key, _)| key.trim().to_owned()).filter(|key| !key.is_empty()),
    };
    let table = on_header.or_else(|| text[..line_start].lines().rev().find_map(header));
    let from_message = message.split('`').nth(1).map(str::to_owned);
    let key = if message.contains("missing field") { from_message.or(from_line) } else { from_line.or(from_message) };
    match (table, key) {
        (Some(table), Some(key)) => format!("{table}.{key}"),
        (Some(table), None) => table,
        (None, key) => key.unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_profile_parses() {
        for (name, text) in BUNDLED_PROFILES {
            let profile = parse_profile(text, name).unwrap_or_else(|err| panic!("{name}: {err}"));
            assert_eq!(&profile.name, name);
        }
    }

    #[test]
    fn bare_name_falls_back_to_bundled_or_boards_dir() {
        let loaded = load_profile("sim").expect("sim");
        assert_eq!(loaded.profile.name, "sim");
        let err = load_profile("no-such-board").expect_err("unknown");
        assert!(err.to_string().contains("bundled profiles are sim, pi4b"), "{err}");
    }

    #[test]
    fn typo_points_at_file_line_and_key() {
        let (_, sim) = BUNDLED_PROFILES[0];
        let broken = sim.replacen("idle_w", "idle_wat", 1);
        let line = broken.lines().position(|l| l.contains("idle_wat")).expect("typo line") + 1;
        let err = parse_profile(&broken, "boards/x.toml").expect_err("typo");
        let ProfileError::Parse { line: got, key, .. } = &err else { panic!("{err}") };
        assert_eq!(*got, line);
        assert_eq!(key, "power_model.idle_wat");
        assert!(err.to_string().starts_with(&format!("boards/x.toml:{line}:")), "{err}");
    }

    #[test]
    fn wrong_type_names_the_key_and_expectation() {
        let text = "name = \"x\"\ndescription = \"d\"\n[serial]\nbaud = \"fast\"\n";
        let err = parse_profile(text, "x.toml").expect_err("bad type");
        let ProfileError::Parse { line, key, message, .. } = &err else { panic!("{err}") };
        assert_eq!((*line, key.as_str()), (4, "serial.baud"));
        assert!(message.contains("u32") || message.contains("integer"), "{message}");
    }
}
