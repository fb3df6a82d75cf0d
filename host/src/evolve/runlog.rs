//! `log.jsonl`: one JSON object per evaluated candidate (genome, phenotype, metrics, fitness,
//! mutation), appended and flushed as each evaluation ends.
//!
//! On resume the log is truncated to the length recorded in the last checkpoint, so the lines of
//! an interrupted generation are written once, by its replay.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
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

impl RunLog {
    /// Opens (or creates) the log and truncates it to `keep_bytes`.
    pub fn open(path: &Path, keep_bytes: u64) -> std::io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        file.set_len(keep_bytes)?;
        Ok(RunLog { file, bytes: keep_bytes })
    }

    /// Appends one candidate and flushes it to the file.
    pub fn append(&mut self, candidate: &Candidate) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(&LogLine { candidate: candidate.clone() }).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.flush()?;
        self.bytes += line.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
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
