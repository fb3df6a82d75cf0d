//! `wattevo data fetch`: downloads the official `.gz` files into the user's cache and checks the
//! published MD5s, refusing a mismatch.
//!
//! HTTP client: `ureq` (blocking, rustls with ring and the webpki root certificates; gzip, JSON and
//! cookies off). It is already in the dependency graph through burn's tooling, so it costs
//! little to build, and unlike shelling out to `curl` it needs nothing installed. Each file is
//! written to `<name>.gz.part` while its MD5 is computed, and renamed only when the MD5 and size
//! match; a file already present with the right MD5 is not downloaded again. Mirrors are tried in
//! order (see [`super::idx_spec::IdxSpec::base_urls`]).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use md5::Digest;

use super::idx_spec::{IdxFile, md5_hex};

/// A download that failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Creating the directory or writing a file failed.
    #[error("cannot write {}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Every mirror failed for one file.
    #[error("cannot download {file}:\n{attempts}")]
    AllMirrorsFailed {
        /// The file.
        file: &'static str,
        /// One line per URL tried, with its error.
        attempts: String,
    },
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOutcome {
    /// Where it is now.
    pub path: PathBuf,
    /// Whether it was downloaded now (`false`: it was already there, MD5 correct).
    pub downloaded: bool,
    /// The URL it came from, if downloaded.
    pub url: Option<String>,
}

/// Downloads each of `files` (as `<name>.gz`) into `dir` from the first of `base_urls` that
/// serves it with the published MD5.
pub fn fetch_files(files: &[IdxFile], base_urls: &[&str], dir: &Path) -> Result<Vec<FetchOutcome>, FetchError> {
    std::fs::create_dir_all(dir).map_err(|source| FetchError::Io { path: dir.to_owned(), source })?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_global(Some(Duration::from_secs(600)))
        .user_agent(concat!("wattevo/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    files.iter().map(|file| fetch_one(&agent, file, base_urls, dir)).collect()
}

fn fetch_one(agent: &ureq::Agent, file: &IdxFile, base_urls: &[&str], dir: &Path) -> Result<FetchOutcome, FetchError> {
    let path = dir.join(format!("{}.gz", file.name));
    if std::fs::read(&path).is_ok_and(|bytes| md5_hex(&bytes) == file.gz_md5) {
        tracing::info!("{} already present, MD5 correct", path.display());
        return Ok(FetchOutcome { path, downloaded: false, url: None });
    }
    let part = dir.join(format!("{}.gz.part", file.name));
    let mut attempts = String::new();
    for base in base_urls {
        let url = format!("{base}{}.gz", file.name);
        tracing::info!("downloading {url}");
        match download(agent, &url, &part, file) {
            Ok(()) => {
                std::fs::rename(&part, &path).map_err(|source| FetchError::Io { path: path.clone(), source })?;
                return Ok(FetchOutcome { path, downloaded: true, url: Some(url) });
            }
            Err(message) => {
                let _ = std::fs::remove_file(&part);
                tracing::warn!("{url}: {message}");
                attempts.push_str(&format!("  {url}: {message}\n"));
            }
        }
    }
    Err(FetchError::AllMirrorsFailed { file: file.name, attempts })
}

/// Streams `url` into `part`, hashing on the way; an error message if anything is off.
fn download(agent: &ureq::Agent, url: &str, part: &Path, file: &IdxFile) -> Result<(), String> {
    let response = agent.get(url).call().map_err(|e| e.to_string())?;
    let limit = file.gz_bytes.saturating_mul(2);
    let mut reader = response.into_body().into_with_config().limit(limit).reader();
    let mut out = std::fs::File::create(part).map_err(|e| format!("cannot create {}: {e}", part.display()))?;
    let mut hasher = md5::Md5::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut total_bytes = 0u64;
    loop {
        let n = reader.read(&mut buffer).map_err(|e| format!("reading the body: {e}"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        out.write_all(&buffer[..n]).map_err(|e| format!("writing {}: {e}", part.display()))?;
        total_bytes += n as u64;
    }
    out.sync_all().map_err(|e| format!("writing {}: {e}", part.display()))?;
    let found = format!("{:x}", hasher.finalize());
    if found != file.gz_md5 || total_bytes != file.gz_bytes {
        return Err(format!(
            "checksum mismatch: got {total_bytes} bytes with MD5 {found}, expected {} bytes with MD5 {}; refusing it",
            file.gz_bytes, file.gz_md5
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
