//! Files a run writes: crash-safe replacement of a whole file.

use std::fs;
use std::io::Write as _;
use std::path::Path;

/// Writes through a temporary file in the same directory, synced, then renamed over `path`, so
/// a reader (or a resumed run after a crash) sees either the old content or the new, never a
/// torn file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_whole_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("summary.json");
        write_atomic(&path, b"first, longer content").expect("write");
        write_atomic(&path, b"second").expect("rewrite");
        assert_eq!(fs::read(&path).expect("read"), b"second");
        assert!(!path.with_extension("tmp").exists());
    }
}
