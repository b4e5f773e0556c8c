//! The bytes a store keeps on disk: the size of every file below its directory.

use std::io::ErrorKind;
use std::path::Path;

/// Bytes of every file below `dir`, at any depth. A file or directory that vanishes while it
/// is walked (a store compacting or rotating its log as the monitor looks) counts nothing
/// rather than failing the walk: the figure is of an instant, and that file is gone from it.
///
/// # Errors
/// When `dir` itself, or an entry that stays, cannot be read.
pub(crate) fn bytes_below(dir: &Path) -> std::io::Result<u64> {
    let gone = |e: &std::io::Error| e.kind() == ErrorKind::NotFound;
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) if gone(&e) => continue,
            Err(e) => return Err(e),
        };
        let meta = match entry.metadata() {
            Ok(meta) => meta,
            Err(e) if gone(&e) => continue,
            Err(e) => return Err(e),
        };
        total += if meta.is_dir() {
            match bytes_below(&entry.path()) {
                Ok(bytes) => bytes,
                Err(e) if gone(&e) => 0,
                Err(e) => return Err(e),
            }
        } else {
            meta.len()
        };
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_at_any_depth_counts() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("a"), [0u8; 10])?;
        std::fs::create_dir(dir.path().join("sub"))?;
        std::fs::write(dir.path().join("sub").join("b"), [0u8; 5])?;
        assert_eq!(bytes_below(dir.path())?, 15);
        assert!(bytes_below(&dir.path().join("missing")).is_err());
        Ok(())
    }
}
