//! Single-offset checkpoint files (`log-start-offset`, `recovery-point`) and the
//! `clean-shutdown` marker.
//!
//! A checkpoint is replaced atomically: write `<name>.tmp`, fsync it, rename over
//! `<name>`, fsync the directory. A crash therefore leaves either the old or the
//! new value, never a torn one; a leftover `.tmp` is ignored and removed on open.
//! Content is text, like Kafka's checkpoint files: a version line `0` and the offset.

use crate::error::LogError;
use crate::storage::Storage;
use std::path::Path;

pub(crate) const LOG_START_OFFSET_FILE: &str = "log-start-offset";
pub(crate) const RECOVERY_POINT_FILE: &str = "recovery-point";
pub(crate) const CLEAN_SHUTDOWN_FILE: &str = "clean-shutdown";
pub(crate) const TEMP_SUFFIX: &str = ".tmp";

/// Format version written on the first line.
const CHECKPOINT_VERSION: &str = "0";
/// A checkpoint is two short lines; anything longer is not ours, and this bounds
/// the read.
const MAX_CHECKPOINT_BYTES: u64 = 64;

/// Atomically replaces checkpoint `name` in `dir` with `offset`.
pub(crate) fn write_checkpoint(storage: &dyn Storage, dir: &Path, name: &str, offset: i64) -> Result<(), LogError> {
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}{TEMP_SUFFIX}"));
    let text = format!("{CHECKPOINT_VERSION}\n{offset}\n");
    let f = storage.create(&tmp).map_err(|e| LogError::io(&tmp, e))?;
    f.write_all_at(text.as_bytes(), 0).map_err(|e| LogError::io(&tmp, e))?;
    f.sync_data().map_err(|e| LogError::io(&tmp, e))?;
    storage.rename(&tmp, &path).map_err(|e| LogError::io(&path, e))?;
    storage.sync_dir(dir).map_err(|e| LogError::io(dir, e))
}

/// Reads checkpoint `name`: `Ok(None)` if absent, `CheckpointCorrupt` if unparsable.
pub(crate) fn read_checkpoint(storage: &dyn Storage, dir: &Path, name: &str) -> Result<Option<i64>, LogError> {
    let path = dir.join(name);
    if !storage.exists(&path).map_err(|e| LogError::io(&path, e))? {
        return Ok(None);
    }
    let f = storage.open(&path).map_err(|e| LogError::io(&path, e))?;
    let len = f.file_len().map_err(|e| LogError::io(&path, e))?;
    if len > MAX_CHECKPOINT_BYTES {
        return Err(LogError::CheckpointCorrupt { path });
    }
    let mut buf = vec![0u8; len as usize];
    f.read_exact_at(&mut buf, 0).map_err(|e| LogError::io(&path, e))?;
    let parsed = std::str::from_utf8(&buf).ok().and_then(|text| {
        let mut lines = text.lines();
        match (lines.next(), lines.next(), lines.next()) {
            (Some(CHECKPOINT_VERSION), Some(offset), None) => offset.parse::<i64>().ok().filter(|o| *o >= 0),
            _ => None,
        }
    });
    match parsed {
        Some(offset) => Ok(Some(offset)),
        None => Err(LogError::CheckpointCorrupt { path }),
    }
}

/// Creates the clean-shutdown marker durably.
pub(crate) fn write_clean_shutdown(storage: &dyn Storage, dir: &Path) -> Result<(), LogError> {
    let path = dir.join(CLEAN_SHUTDOWN_FILE);
    let f = storage.create(&path).map_err(|e| LogError::io(&path, e))?;
    f.sync_data().map_err(|e| LogError::io(&path, e))?;
    storage.sync_dir(dir).map_err(|e| LogError::io(dir, e))
}

/// Removes the clean-shutdown marker, if present, durably, and reports whether it
/// was there. It must be gone from disk before the first append, or a crash after
/// that append would be mistaken for a clean shutdown.
pub(crate) fn take_clean_shutdown(storage: &dyn Storage, dir: &Path) -> Result<bool, LogError> {
    let path = dir.join(CLEAN_SHUTDOWN_FILE);
    if !storage.exists(&path).map_err(|e| LogError::io(&path, e))? {
        return Ok(false);
    }
    storage.remove(&path).map_err(|e| LogError::io(&path, e))?;
    storage.sync_dir(dir).map_err(|e| LogError::io(dir, e))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::OsStorage;

    #[test]
    fn write_checkpoint_then_read_returns_value() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(read_checkpoint(&OsStorage, dir.path(), "x").expect("read"), None);
        write_checkpoint(&OsStorage, dir.path(), "x", 42).expect("write");
        write_checkpoint(&OsStorage, dir.path(), "x", 43).expect("write");
        assert_eq!(read_checkpoint(&OsStorage, dir.path(), "x").expect("read"), Some(43));
    }

    #[test]
    fn read_checkpoint_garbage_is_corrupt() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("x"), b"0\nnot a number\n").expect("write");
        assert!(matches!(
            read_checkpoint(&OsStorage, dir.path(), "x"),
            Err(LogError::CheckpointCorrupt { .. })
        ));
    }
}
