//! Deleting whole segments from the front: DeleteRecords and retention.
//!
//! Only whole non-active segments are deleted; the log start offset then moves to
//! the first remaining segment's base offset (or further, for DeleteRecords, which
//! may point inside a batch: reads from there return the containing batch and the
//! consumer skips the records below). DeleteRecords persists the new log start
//! offset before deleting anything, so a crash can never bring deleted records
//! back. Retention needs no checkpoint: the start offset is recomputed from the
//! first segment on open, and a half-done deletion is simply redone.

use crate::checkpoint::{write_checkpoint, LOG_START_OFFSET_FILE};
use crate::error::LogError;
use crate::log::Log;

impl Log {
    /// DeleteRecords: moves the log start offset to `offset` (which must be <= the
    /// log end offset; a value <= the current start has no effect), deletes
    /// segments entirely below it and persists it. Returns the new log start offset.
    pub fn delete_records_before(&mut self, offset: i64) -> Result<i64, LogError> {
        self.check_not_failed()?;
        let log_end_offset = self.log_end_offset();
        if offset < 0 || offset > log_end_offset {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset,
                log_end_offset,
            });
        }
        if offset <= self.log_start_offset {
            return Ok(self.log_start_offset);
        }
        let persisted = write_checkpoint(&*self.storage, &self.dir, LOG_START_OFFSET_FILE, offset);
        self.fail_on_io(persisted)?;
        self.log_start_offset = offset;
        // Deleting everything means the active segment must go too: roll first so
        // there is an empty active segment to keep.
        if offset == log_end_offset && !self.active().is_empty() {
            // The time only seeds the empty segment's last-modified time; its
            // rolling clock starts at its first append, which also resets it.
            let now_ms = self.active().last_modified_ms;
            self.roll(now_ms)?;
        }
        while self.segments.len() > 1 && self.segments[0].next_offset <= offset {
            self.delete_oldest_segment()?;
        }
        Ok(self.log_start_offset)
    }

    /// Deletes whole non-active segments past `retention_ms` (by largest timestamp)
    /// and then while the log would still hold `retention_bytes` without the
    /// oldest segment. Returns how many segments were deleted. Does nothing unless
    /// cleanup.policy includes delete.
    pub fn enforce_retention(&mut self, now_ms: i64) -> Result<usize, LogError> {
        self.check_not_failed()?;
        let mut deleted = 0;
        if !self.config.cleanup_policy.delete {
            return Ok(0);
        }
        if self.config.retention_ms >= 0 {
            while self.segments.len() > 1
                && now_ms.saturating_sub(self.segments[0].largest_timestamp()) > self.config.retention_ms
            {
                self.delete_oldest_segment()?;
                deleted += 1;
            }
        }
        if self.config.retention_bytes >= 0 {
            let mut size = self.size_bytes();
            while self.segments.len() > 1 && size - self.segments[0].size >= self.config.retention_bytes as u64 {
                size -= self.segments[0].size;
                self.delete_oldest_segment()?;
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    fn delete_oldest_segment(&mut self) -> Result<(), LogError> {
        assert!(self.segments.len() > 1, "the active segment is never deleted");
        let deleted = self.segments[0].delete_files(&*self.storage);
        self.fail_on_io(deleted)?;
        let segment = self.segments.remove(0);
        tracing::info!(dir = %self.dir.display(), base_offset = segment.base_offset, bytes = segment.size, "deleted segment");
        self.log_start_offset = self.log_start_offset.max(self.segments[0].base_offset);
        Ok(())
    }

    /// Removes the whole log directory.
    pub fn delete(self) -> Result<(), LogError> {
        self.storage
            .remove_dir_all(&self.dir)
            .map_err(|e| LogError::io(&self.dir, e))
    }
}
