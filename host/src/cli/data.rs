//! `wattevo data`: fetch the Fashion-MNIST files, or show which datasets are found where.
//!
//! - `wattevo data fetch fashion-mnist [--dir DIR]` downloads the four official files into the
//!   user's cache (or DIR), checking the published MD5s, then loads them once to verify.
//! - `wattevo data info [--dataset NAME] [--data-dir DIR] [--json]` prints, per dataset, where it
//!   was found, the files with their checksum status, the sample counts and the class balance.
//!   Exit code 1 if a listed dataset is missing or a checksum does not match.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use crate::data::idx_load::{self, ChecksumPolicy};
use crate::data::{DatasetName, FASHION_MNIST, SearchEnv, digits, fetch};

/// Get datasets or see which are available.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: DataAction,
}

/// The `data` actions.
#[derive(Debug, Subcommand)]
pub enum DataAction {
    /// Download a dataset's official files (needs internet access) and check their MD5s.
    Fetch {
        /// The dataset to download.
        dataset: Downloadable,
        /// Directory to write to (default: $XDG_CACHE_HOME/wattevo/<dataset> or ~/.cache/wattevo/<dataset>).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Show where each dataset was found, its files, checksums, counts and class balance.
    Info {
        /// Only this dataset (default: all).
        #[arg(long, value_parser = super::named::named::<DatasetName>())]
        dataset: Option<DatasetName>,
        /// Directory searched first for IDX files.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// One JSON array on stdout instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Datasets that can be downloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Downloadable {
    /// Fashion-MNIST from Zalando's repository (or its S3 mirror).
    FashionMnist,
}

impl DataArgs {
    /// Runs the action.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        match self.action {
            DataAction::Fetch { dataset: Downloadable::FashionMnist, dir } => fetch_fashion(dir),
            DataAction::Info { dataset, data_dir, json } => info(dataset, data_dir.as_deref(), json),
        }
    }
}

fn fetch_fashion(dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let spec = &FASHION_MNIST;
    let dir = match dir {
        Some(dir) => dir,
        None => SearchEnv::from_process()
            .cache_dir(spec.name)
            .context("neither $XDG_CACHE_HOME nor $HOME is set: pass --dir DIR")?,
    };
    let outcomes = fetch::fetch_files(&spec.files, spec.base_urls, &dir).with_context(|| {
        format!(
            "downloading {} into {} failed (offline? `sudo apt-get install {}` installs the same files)",
            spec.title,
            dir.display(),
            spec.debian_package
        )
    })?;
    let mut out = std::io::stdout().lock();
    for outcome in &outcomes {
        match &outcome.url {
            Some(url) => writeln!(out, "downloaded {url} -> {} (MD5 ok)", outcome.path.display())?,
            None => writeln!(out, "kept {} (already present, MD5 ok)", outcome.path.display())?,
        }
    }
    let located = crate::data::locate::locate(spec, &[crate::data::locate::SearchDir { origin: "--dir", path: dir }])
        .map_err(|report| anyhow::anyhow!("files missing after download:\n{report}"))?;
    let loaded = idx_load::load_located(spec, located, ChecksumPolicy::Enforce)?;
    writeln!(out, "{} ready: {} training and {} test images", spec.title, loaded.train.len(), loaded.test.len())?;
    Ok(ExitCode::SUCCESS)
}

/// What `data info` reports about one dataset.
#[derive(Debug, Serialize)]
struct DatasetInfo {
    name: &'static str,
    found: bool,
    /// `embedded` or the directory.
    source: Option<String>,
    /// Why this directory: `--data-dir`, `$WATTEVO_DATA`, `system package`, `user cache`.
    origin: Option<&'static str>,
    /// `[channels, height, width]`.
    image_dims: Option<[usize; 3]>,
    train_samples: usize,
    test_samples: Option<usize>,
    train_class_counts: Vec<usize>,
    test_class_counts: Vec<usize>,
    files: Vec<FileInfo>,
    note: Option<String>,
}

#[derive(Debug, Serialize)]
struct FileInfo {
    path: PathBuf,
    raw_bytes: usize,
    raw_md5: String,
    checksum_ok: bool,
}

fn info(dataset: Option<DatasetName>, data_dir: Option<&Path>, json: bool) -> anyhow::Result<ExitCode> {
    let names = match dataset {
        Some(name) => vec![name],
        None => <DatasetName as crate::named::Named>::VALUES.iter().map(|(value, ..)| *value).collect(),
    };
    let infos = names.into_iter().map(|name| inspect(name, data_dir)).collect::<anyhow::Result<Vec<_>>>()?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &infos)?;
        writeln!(out)?;
    } else {
        for info in &infos {
            print_info(&mut out, info)?;
        }
    }
    let healthy = infos.iter().all(|i| i.found && i.files.iter().all(|f| f.checksum_ok));
    Ok(if healthy { ExitCode::SUCCESS } else { ExitCode::from(super::EXIT_FAILURE) })
}

fn inspect(name: DatasetName, data_dir: Option<&Path>) -> anyhow::Result<DatasetInfo> {
    match name {
        DatasetName::Digits => {
            let data = digits::load()?;
            let (c, h, w) = data.image_dims();
            Ok(DatasetInfo {
                name: digits::NAME,
                found: true,
                source: Some("embedded (smartcore datasets)".into()),
                origin: None,
                image_dims: Some([c, h, w]),
                train_samples: data.len(),
                test_samples: None,
                train_class_counts: data.class_counts(),
                test_class_counts: Vec::new(),
                files: Vec::new(),
                note: Some("no official test set: 20% is held out (stratified, seeded) before splitting".into()),
            })
        }
        DatasetName::FashionMnist => inspect_fashion(data_dir),
    }
}

fn inspect_fashion(data_dir: Option<&Path>) -> anyhow::Result<DatasetInfo> {
    let spec = &FASHION_MNIST;
    let located = match idx_load::find(spec, data_dir, &SearchEnv::from_process()) {
        Ok(located) => located,
        Err(err) => {
            return Ok(DatasetInfo {
                name: spec.name,
                found: false,
                source: None,
                origin: None,
                image_dims: None,
                train_samples: 0,
                test_samples: None,
                train_class_counts: Vec::new(),
                test_class_counts: Vec::new(),
                files: Vec::new(),
                note: Some(err.to_string()),
            });
        }
    };
    let loaded = idx_load::load_located(spec, located, ChecksumPolicy::Report)?;
    let (c, h, w) = loaded.train.image_dims();
    let files = loaded
        .files
        .into_iter()
        .map(|f| FileInfo { path: f.path, raw_bytes: f.raw_bytes, raw_md5: f.raw_md5, checksum_ok: f.checksum_ok })
        .collect();
    Ok(DatasetInfo {
        name: spec.name,
        found: true,
        source: Some(loaded.located.dir.path.display().to_string()),
        origin: Some(loaded.located.dir.origin),
        image_dims: Some([c, h, w]),
        train_samples: loaded.train.len(),
        test_samples: Some(loaded.test.len()),
        train_class_counts: loaded.train.class_counts(),
        test_class_counts: loaded.test.class_counts(),
        files,
        note: None,
    })
}

fn print_info(out: &mut impl Write, info: &DatasetInfo) -> std::io::Result<()> {
    writeln!(out, "{}", info.name)?;
    if !info.found {
        let note = info.note.as_deref().unwrap_or_default().replace('\n', "\n  ");
        return writeln!(out, "  not found\n  {note}");
    }
    let origin = info.origin.map(|o| format!(" ({o})")).unwrap_or_default();
    writeln!(out, "  source: {}{origin}", info.source.as_deref().unwrap_or_default())?;
    if let Some([c, h, w]) = info.image_dims {
        writeln!(out, "  images: {c}×{h}×{w}, {} training samples", info.train_samples)?;
    }
    writeln!(out, "  training class counts: {:?}", info.train_class_counts)?;
    if let Some(test) = info.test_samples {
        writeln!(out, "  test: {test} samples, class counts {:?}", info.test_class_counts)?;
    }
    for file in &info.files {
        let status = if file.checksum_ok { "MD5 ok" } else { "MD5 MISMATCH" };
        writeln!(
            out,
            "  {} ({} bytes decompressed, md5 {}): {status}",
            file.path.display(),
            file.raw_bytes,
            file.raw_md5
        )?;
    }
    if let Some(note) = &info.note {
        writeln!(out, "  note: {note}")?;
    }
    Ok(())
}
