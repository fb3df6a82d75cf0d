//! The run directory's lock: one `evolve` or `resume` at a time per directory.
//!
//! `run.lock` is locked with `flock` (exclusive, non-blocking, through
//! [`std::fs::File::try_lock`]); the kernel releases the lock when the holder exits, however it
//! exits, so a lock is never left behind by a crash. The file names the holder (pid, host, start
//! time) so a refused second run can say who holds it; a holder that cleared nothing (killed)
//! leaves its line, and the next run takes over with a notice naming it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The lock file's name in a run directory.
pub const LOCK_FILE: &str = "run.lock";

/// A held lock on a run directory; released (and its holder line cleared) when dropped.
#[derive(Debug)]
pub struct RunLock {
    file: File,
}

/// The lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error(
        "{} is in use by another wattevo run ({holder}); wait for it to finish or stop it, or choose another directory",
        dir.display()
    )]
    Held {
        /// The run directory.
        dir: PathBuf,
        /// Who holds it, as written in the lock file.
        holder: String,
    },
    /// The lock file could not be opened, locked or written.
    #[error("locking {}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl RunLock {
    /// Takes the lock of `run_dir` (which must exist), or says who holds it.
    pub fn acquire(run_dir: &Path) -> Result<RunLock, LockError> {
        let path = run_dir.join(LOCK_FILE);
        let io = |source| LockError::Io { path: path.clone(), source };
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = read_holder(&mut file).unwrap_or_default();
                let holder = if holder.is_empty() { "holder unknown".to_owned() } else { describe(&holder) };
                return Err(LockError::Held { dir: run_dir.to_path_buf(), holder });
            }
            Err(std::fs::TryLockError::Error(source)) => return Err(io(source)),
        }
        if let Some(previous) = read_holder(&mut file).filter(|h| !h.is_empty()) {
            tracing::warn!(
                "{} was left locked by a run that is gone ({}); taking it over",
                run_dir.display(),
                describe(&previous)
            );
        }
        let line = holder_line();
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(line.as_bytes()).map_err(io)?;
        file.sync_data().map_err(io)?;
        Ok(RunLock { file })
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // an empty file says the last holder ended cleanly; the kernel drops the lock on close
        let _ = self.file.set_len(0);
    }
}

fn read_holder(file: &mut File) -> Option<String> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    Some(text.trim().to_owned())
}

/// `pid=123 host=lab1 started=1764600000`.
fn holder_line() -> String {
    let started = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format!("pid={} host={} started={started}\n", std::process::id(), hostname())
}

/// `pid 123 on host lab1, started 42 s ago (unix time 1764600000)`.
fn describe(line: &str) -> String {
    let field = |name: &str| {
        line.split_whitespace().find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('='))).unwrap_or("?")
    };
    let started = field("started");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let ago = started.parse::<u64>().map(|s| format!(", started {} s ago", now.saturating_sub(s))).unwrap_or_default();
    format!("pid {} on host {}{ago} (unix time {started})", field("pid"), field("host"))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_the_holder_and_released_on_drop() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lock = RunLock::acquire(dir.path()).expect("first");
        let err = RunLock::acquire(dir.path()).expect_err("second");
        let text = err.to_string();
        assert!(text.contains(&format!("pid {}", std::process::id())) && text.contains("in use"), "{text}");
        drop(lock);
        let _again = RunLock::acquire(dir.path()).expect("released");
    }

    #[test]
    fn a_stale_holder_line_is_taken_over() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(LOCK_FILE), "pid=999999 host=elsewhere started=1\n").expect("write");
        let _lock = RunLock::acquire(dir.path()).expect("stale lock taken over");
        let line = std::fs::read_to_string(dir.path().join(LOCK_FILE)).expect("read");
        assert!(line.starts_with(&format!("pid={} ", std::process::id())), "{line}");
    }
}
