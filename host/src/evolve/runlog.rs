//! `log.jsonl`: one JSON object per evaluated candidate (genome, phenotype, metrics, fitness,
//! mutation), appended as each evaluation ends and synced to the disk at each generation's end
//! (before the checkpoint that records its length).
//!
//! On resume the log is truncated to the length recorded in the last checkpoint, so the lines of
//! an interrupted generation are written once, by its replay. A log shorter than recorded (lost
//! with a disk, cut by hand) is cut back to its last complete line and the caller rebuilds what
//! it can from the checkpoint ([`RunLog::recover`]); no byte that is not data is ever written.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::evolve::candidate::Candidate;

/// One log line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// The candidate with its evaluation.
    #[serde(flatten)]
    pub candidate: Candidate,
}

/// The append-only run log.
#[derive(Debug)]
pub struct RunLog {
    file: File,
    bytes: u64,
}

/// What [`RunLog::recover`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Bytes the checkpoint recorded.
    pub expected_bytes: u64,
    /// Bytes of complete lines found.
    pub kept_bytes: u64,
    /// Ids of the candidates whose lines were kept.
    pub kept_ids: Vec<u64>,
}

impl RunLog {
    /// Creates an empty log (a new run).
    pub fn create(path: &Path) -> std::io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).write(true).truncate(true).open(path)?;
        drop(file);
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(RunLog { file, bytes: 0 })
    }

    /// Opens the log of a resumed run whose checkpoint recorded `keep_bytes`: a longer log (an
    /// interrupted generation) is cut to that length; a shorter one is cut to its last complete
    /// line, and [`Recovery`] says what is left so the caller can rebuild missing lines.
    pub fn recover(path: &Path, keep_bytes: u64) -> std::io::Result<(Self, Option<Recovery>)> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let length = file.metadata()?.len();
        if length >= keep_bytes && ends_a_line(path, keep_bytes)? {
            file.set_len(keep_bytes)?;
            return Ok((RunLog { file, bytes: keep_bytes }, None));
        }
        let (kept_bytes, kept_ids) = complete_lines(path, keep_bytes.min(length))?;
        file.set_len(kept_bytes)?;
        file.sync_all()?;
        let recovery = Recovery { expected_bytes: keep_bytes, kept_bytes, kept_ids };
        Ok((RunLog { file, bytes: kept_bytes }, Some(recovery)))
    }

    /// Appends one candidate (written through to the file; synced by [`RunLog::sync`]).
    pub fn append(&mut self, candidate: &Candidate) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(&LogLine { candidate: candidate.clone() }).map_err(std::io::Error::other)?;
        line.push(b'\n');
        if let Err(err) = self.file.write_all(&line) {
            // a partial line (disk full) is cut off again, so the log stays whole lines
            let _ = self.file.set_len(self.bytes);
            return Err(err);
        }
        self.file.flush()?;
        self.bytes += line.len() as u64;
        Ok(())
    }

    /// Makes every appended line durable (fsync).
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.file.sync_data()
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// Whether the first `bytes` of the file end at a line boundary.
fn ends_a_line(path: &Path, bytes: u64) -> std::io::Result<bool> {
    if bytes == 0 {
        return Ok(true);
    }
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(bytes - 1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

/// Length and candidate ids of the complete, parseable lines at the start of the first `limit`
/// bytes of the file.
fn complete_lines(path: &Path, limit: u64) -> std::io::Result<(u64, Vec<u64>)> {
    let mut reader = BufReader::new(File::open(path)?.take(limit));
    let (mut bytes, mut ids, mut line) = (0u64, Vec::new(), Vec::new());
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line)?;
        if read == 0 || line.last() != Some(&b'\n') {
            break;
        }
        let Ok(parsed) = serde_json::from_slice::<LogLine>(&line) else { break };
        ids.push(parsed.candidate.id);
        bytes += read as u64;
    }
    Ok((bytes, ids))
}

/// Reads every line of a log (for reports and tests).
pub fn read_log(path: &Path) -> std::io::Result<Vec<LogLine>> {
    let reader = BufReader::new(File::open(path)?);
    let mut lines = Vec::new();
    for (number, line) in reader.lines().enumerate() {
        let line = line?;
        let parsed = serde_json::from_str(&line).map_err(|e| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}:{}: {e}", path.display(), number + 1))
        })?;
        lines.push(parsed);
    }
    Ok(lines)
}
