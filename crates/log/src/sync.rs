//! Durability: group-commit sync points, `flush`, `close`.
//!
//! The broker holds the `Log` behind a mutex but must not fsync under it, so
//! `sync_point` hands out `Arc` file handles plus the offset they cover; the caller
//! syncs them on another thread and reports back with `mark_synced`. A failed sync
//! marks the log failed through the shared flag (fail-stop, never retried: after a
//! failed fsync the kernel may have dropped the dirty pages, so a retry that
//! succeeds proves nothing).
//!
//! The `recovery-point` checkpoint is written only by `flush`/`close`, after data
//! and index files are synced; between flushes a crash simply recovers from the
//! older recovery point, which is slower but never wrong.

use crate::checkpoint::{write_checkpoint, write_clean_shutdown, RECOVERY_POINT_FILE};
use crate::error::LogError;
use crate::log::Log;
use crate::storage::{Storage, StorageFile};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Files to fdatasync so that every offset below `end_offset` is durable.
#[derive(Debug)]
pub struct SyncPoint {
    /// Offsets below this are durable once `sync` succeeds.
    pub end_offset: i64,
    files: Vec<Arc<dyn StorageFile>>,
    /// Directory to fsync because a segment file was created in it.
    dir: Option<(Arc<dyn Storage>, PathBuf)>,
    failed: Arc<AtomicBool>,
    log_dir: PathBuf,
}

impl SyncPoint {
    /// True if there is nothing to sync (everything below `end_offset` is durable).
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.dir.is_none()
    }

    /// How many files `sync` will fdatasync.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// fdatasyncs every file (and the directory if needed). On the first failure
    /// the log is marked failed and the error returned.
    pub fn sync(&self) -> Result<(), LogError> {
        if self.failed.load(Ordering::Acquire) {
            return Err(LogError::StorageFailed {
                dir: self.log_dir.clone(),
            });
        }
        let mut result = Ok(());
        for f in &self.files {
            result = f.sync_data().map_err(|e| LogError::io(&self.log_dir, e));
            if result.is_err() {
                break;
            }
        }
        if let (Ok(()), Some((storage, dir))) = (&result, &self.dir) {
            result = storage.sync_dir(dir).map_err(|e| LogError::io(dir, e));
        }
        if let Err(e) = &result {
            tracing::error!(dir = %self.log_dir.display(), error = %e, "fsync failed; log is now failed");
            self.failed.store(true, Ordering::Release);
        }
        result
    }
}

impl Log {
    /// Handles that need fdatasync for everything appended so far to be durable:
    /// rolled segments not yet synced and the active segment.
    pub fn sync_point(&mut self) -> SyncPoint {
        let end_offset = self.log_end_offset();
        let mut files = Vec::new();
        if end_offset > self.recovery_point {
            files.extend(self.unsynced_segments.iter().map(|(_, f)| Arc::clone(f)));
            files.push(Arc::clone(&self.active().file));
        }
        let dir = self
            .dir_sync_pending_base
            .map(|_| (Arc::clone(&self.storage), self.dir.clone()));
        SyncPoint {
            end_offset,
            files,
            dir,
            failed: Arc::clone(&self.failed),
            log_dir: self.dir.clone(),
        }
    }

    /// Records that a `SyncPoint` for `end_offset` was synced. Monotonic; ignored
    /// after a failure so a late report cannot overstate durability.
    pub fn mark_synced(&mut self, end_offset: i64) {
        if self.is_failed() {
            return;
        }
        let end_offset = end_offset.min(self.log_end_offset());
        if end_offset > self.recovery_point {
            self.recovery_point = end_offset;
        }
        let rp = self.recovery_point;
        self.unsynced_segments.retain(|(end, _)| *end > rp);
        // A segment created at base B holds only offsets >= B; a sync point that
        // covers offsets above B was taken after B's creation and synced the dir.
        if self.dir_sync_pending_base.is_some_and(|base| base < end_offset) {
            self.dir_sync_pending_base = None;
        }
    }

    /// Offsets below this are durable (the recovery point).
    pub fn durable_offset(&self) -> i64 {
        self.recovery_point
    }

    /// Syncs all data now, writes and syncs index files, then checkpoints the
    /// recovery point.
    pub fn flush(&mut self) -> Result<(), LogError> {
        self.check_not_failed()?;
        let point = self.sync_point();
        point.sync()?;
        // The directory may need syncing even when no data is new (fresh segment).
        self.dir_sync_pending_base = None;
        self.mark_synced(point.end_offset);
        let written = self.write_dirty_indexes();
        self.fail_on_io(written)?;
        let checkpointed = write_checkpoint(&*self.storage, &self.dir, RECOVERY_POINT_FILE, self.recovery_point);
        self.fail_on_io(checkpointed)
    }

    fn write_dirty_indexes(&mut self) -> Result<(), LogError> {
        let storage = Arc::clone(&self.storage);
        for segment in self.segments.iter_mut().filter(|s| s.index_dirty) {
            let handles = segment.write_index_files(&*storage)?;
            self.unsynced_index_files.extend(handles);
        }
        for f in &self.unsynced_index_files {
            f.sync_data().map_err(|e| LogError::io(&self.dir, e))?;
        }
        self.unsynced_index_files.clear();
        Ok(())
    }

    /// Flushes everything and writes the clean-shutdown marker, so the next open
    /// trusts the data and skips CRC validation.
    pub fn close(mut self) -> Result<(), LogError> {
        self.flush()?;
        self.write_producer_snapshot(true)?;
        let marked = write_clean_shutdown(&*self.storage, &self.dir);
        self.fail_on_io(marked)
    }
}
