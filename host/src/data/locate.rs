//! Where the IDX files are looked for, in order, and which directory holds a complete set.
//!
//! Search order: `--data-dir`, `$WATTEVO_DATA`, the system package's directory
//! (`/usr/share/datasets/fashion-mnist`), the user's cache (`$XDG_CACHE_HOME/wattevo/<name>` or
//! `~/.cache/wattevo/<name>`). For the first two, both the directory itself and its `<name>`
//! subdirectory are tried. In each directory every file may be raw (`name`) or gzip (`name.gz`);
//! the first directory holding all four files wins.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::idx_spec::IdxSpec;

/// The environment the search depends on (taken from the process, or given by tests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchEnv {
    /// `$WATTEVO_DATA`.
    pub wattevo_data: Option<PathBuf>,
    /// `$XDG_CACHE_HOME`.
    pub xdg_cache_home: Option<PathBuf>,
    /// `$HOME`.
    pub home: Option<PathBuf>,
}

impl SearchEnv {
    /// Reads `WATTEVO_DATA`, `XDG_CACHE_HOME` and `HOME` (empty values count as unset).
    pub fn from_process() -> Self {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        Self { wattevo_data: var("WATTEVO_DATA"), xdg_cache_home: var("XDG_CACHE_HOME"), home: var("HOME") }
    }

    /// The user's cache directory for `dataset` (where `wattevo data fetch` writes), if known.
    pub fn cache_dir(&self, dataset: &str) -> Option<PathBuf> {
        let base = match (&self.xdg_cache_home, &self.home) {
            (Some(xdg), _) => xdg.clone(),
            (None, Some(home)) => home.join(".cache"),
            (None, None) => return None,
        };
        Some(base.join("wattevo").join(dataset))
    }
}

/// One directory to search and why it is searched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchDir {
    /// Where it came from: `--data-dir`, `$WATTEVO_DATA`, `system package`, `user cache`.
    pub origin: &'static str,
    /// The directory.
    pub path: PathBuf,
}

/// The four files of a dataset found in one directory (same order as [`IdxSpec::files`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The directory that holds them.
    pub dir: SearchDir,
    /// Path of each file (`name` or `name.gz`).
    pub files: [PathBuf; 4],
}

/// The directories to search for `spec`, in order.
pub fn search_dirs(spec: &IdxSpec, data_dir: Option<&Path>, env: &SearchEnv) -> Vec<SearchDir> {
    let mut dirs = Vec::new();
    let mut push_with_sub = |origin, dir: &Path| {
        dirs.push(SearchDir { origin, path: dir.to_owned() });
        dirs.push(SearchDir { origin, path: dir.join(spec.name) });
    };
    if let Some(dir) = data_dir {
        push_with_sub("--data-dir", dir);
    }
    if let Some(dir) = &env.wattevo_data {
        push_with_sub("$WATTEVO_DATA", dir);
    }
    dirs.push(SearchDir { origin: "system package", path: PathBuf::from(spec.system_dir) });
    if let Some(dir) = env.cache_dir(spec.name) {
        dirs.push(SearchDir { origin: "user cache", path: dir });
    }
    dirs
}

/// `dir/name` if it is a file, else `dir/name.gz` if that is, else `None`.
pub fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(name), dir.join(format!("{name}.gz"))].into_iter().find(|p| p.is_file())
}

/// The first directory of `dirs` that holds all four files, or a report of what each lacked.
pub fn locate(spec: &IdxSpec, dirs: &[SearchDir]) -> Result<Located, String> {
    let mut report = String::new();
    for dir in dirs {
        let found: Vec<Option<PathBuf>> = spec.files.iter().map(|f| find_file(&dir.path, f.name)).collect();
        if let [Some(a), Some(b), Some(c), Some(d)] = found.as_slice() {
            return Ok(Located { dir: dir.clone(), files: [a.clone(), b.clone(), c.clone(), d.clone()] });
        }
        let status = if dir.path.is_dir() {
            let missing: Vec<&str> =
                spec.files.iter().zip(&found).filter(|(_, p)| p.is_none()).map(|(f, _)| f.name).collect();
            format!("missing {}", missing.join(", "))
        } else {
            "no such directory".to_owned()
        };
        let _ = writeln!(report, "  {} ({}): {status}", dir.path.display(), dir.origin);
    }
    Err(report)
}

#[cfg(test)]
mod tests {
    use super::super::idx_spec::FASHION_MNIST;
    use super::*;

    fn env(root: &Path) -> SearchEnv {
        SearchEnv { wattevo_data: Some(root.join("env")), xdg_cache_home: None, home: Some(root.join("home")) }
    }

    #[test]
    fn search_order_is_flag_env_system_cache() {
        let root = Path::new("/r");
        let dirs = search_dirs(&FASHION_MNIST, Some(Path::new("/flag")), &env(root));
        let paths: Vec<&Path> = dirs.iter().map(|d| d.path.as_path()).collect();
        assert_eq!(
            paths,
            [
                Path::new("/flag"),
                Path::new("/flag/fashion-mnist"),
                Path::new("/r/env"),
                Path::new("/r/env/fashion-mnist"),
                Path::new("/usr/share/datasets/fashion-mnist"),
                Path::new("/r/home/.cache/wattevo/fashion-mnist"),
            ]
        );
        let xdg = SearchEnv { xdg_cache_home: Some("/x".into()), ..SearchEnv::default() };
        assert_eq!(xdg.cache_dir("fashion-mnist"), Some(PathBuf::from("/x/wattevo/fashion-mnist")));
        assert_eq!(SearchEnv::default().cache_dir("fashion-mnist"), None);
    }

    #[test]
    fn locate_accepts_raw_and_gz_and_reports_what_is_missing() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let names = FASHION_MNIST.files.map(|f| f.name);
        for (i, name) in names.iter().enumerate().take(3) {
            let file = if i % 2 == 0 { format!("{name}.gz") } else { (*name).to_owned() };
            std::fs::write(tmp.path().join(file), b"x").expect("write");
        }
        let dirs = [
            SearchDir { origin: "--data-dir", path: tmp.path().join("absent") },
            SearchDir { origin: "user cache", path: tmp.path().to_owned() },
        ];
        let report = locate(&FASHION_MNIST, &dirs).expect_err("one file missing");
        assert!(report.contains("absent (--data-dir): no such directory"), "{report}");
        assert!(report.contains("(user cache): missing t10k-labels-idx1-ubyte\n"), "{report}");
        std::fs::write(tmp.path().join(names[3]), b"x").expect("write");
        let located = locate(&FASHION_MNIST, &dirs).expect("all four present");
        assert_eq!(located.dir.origin, "user cache");
        assert_eq!(located.files[0], tmp.path().join("train-images-idx3-ubyte.gz"));
        assert_eq!(located.files[1], tmp.path().join("train-labels-idx1-ubyte"));
    }
}
