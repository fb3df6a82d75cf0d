//! Board profiles on the host: finding a profile by path or bare name, and the profiles
//! bundled into the binary. Parsing (with errors that point at the file, line, column and key)
//! is the protocol crate's [`parse_board_profile`], the same parser the agent uses.
//!
//! A bare name (`sim`, `pi4b`) is looked up as `<name>.toml` in `$WATTEVO_BOARDS`, `./boards`,
//! the workspace of the running executable, this crate's workspace, and finally among the
//! profiles embedded at build time, so `--board sim` works from any directory.

use std::path::{Path, PathBuf};

use wattevo_proto::{BoardProfile, ProfileParseError, parse_board_profile};

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
    /// The TOML is malformed or does not fit the profile's schema: file, line, column, key.
    #[error(transparent)]
    Parse(#[from] ProfileParseError),
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
        let profile = parse_board_profile(text, &origin)?;
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
    let profile = parse_board_profile(&text, &origin)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_profile_parses() {
        for (name, text) in BUNDLED_PROFILES {
            let profile = parse_board_profile(text, name).unwrap_or_else(|err| panic!("{name}: {err}"));
            assert_eq!(&profile.name, name);
        }
    }

    #[test]
    fn a_malformed_file_is_a_positioned_parse_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.toml");
        std::fs::write(&path, "name = \"x\"\ndescription = \"d\"\n[serial]\nbaud = \"fast\"\n").expect("write");
        let err = load_profile(path.to_str().expect("utf-8 path")).expect_err("bad type");
        let ProfileError::Parse(ProfileParseError { origin, line, key, message, .. }) = &err else { panic!("{err}") };
        assert_eq!((origin.as_str(), *line, key.as_str()), (path.to_str().expect("path"), 4, "serial.baud"));
        assert!(message.contains("u32") || message.contains("integer"), "{message}");
        assert!(err.to_string().starts_with(&format!("{}:4:", path.display())), "{err}");
    }

    #[test]
    fn bare_name_falls_back_to_bundled_or_boards_dir() {
        let loaded = load_profile("sim").expect("sim");
        assert_eq!(loaded.profile.name, "sim");
        let err = load_profile("no-such-board").expect_err("unknown");
        assert!(err.to_string().contains("bundled profiles are sim, pi4b"), "{err}");
    }
}
