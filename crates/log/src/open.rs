//! Opening a log directory: segment discovery, recovery and the start/end offsets.
//!
//! After a clean shutdown (marker present) every segment is trusted and only its
//! index files are checked. After a crash, segments wholly below the recovery
//! point are trusted; from the segment containing the recovery point onward every
//! batch is validated (lengths, CRC-32C, contiguous offsets), the first invalid or
//! incomplete batch and everything after it is truncated away, and later segments
//! are deleted newest first, so a crash during recovery leaves a state the next
//! recovery handles the same way. This mirrors Kafka's LogLoader. A cleaner swap
//! interrupted by the crash is completed first (`cleaner/swap.rs`). Producer state and
//! transaction state are rebuilt last, from the recovered batches (`producers.rs`,
//! `txn_index.rs`).

use crate::checkpoint::{
    read_checkpoint, take_clean_shutdown, LOG_START_OFFSET_FILE, RECOVERY_POINT_FILE, TEMP_SUFFIX,
};
use crate::cleaner::{complete_interrupted_swaps, CLEANER_CHECKPOINT_FILE};
use crate::config::LogConfig;
use crate::error::LogError;
use crate::log::Log;
use crate::producer_state::ProducerState;
use crate::segment::{segment_path, Segment, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX};
use crate::storage::{OsStorage, Storage};
use crate::txn_index::TXN_INDEX_SUFFIX;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Parses `{base_offset:020}.{suffix}`.
pub(crate) fn parse_segment_name(name: &str, suffix: &str) -> Option<i64> {
    let stem = name.strip_suffix(suffix)?.strip_suffix('.')?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

impl Log {
    /// Opens or creates the log in `dir` on the real filesystem, running recovery.
    pub fn open(dir: &Path, config: LogConfig, now_ms: i64) -> Result<Log, LogError> {
        Log::open_with_storage(dir, config, now_ms, Arc::new(OsStorage))
    }

    /// Like [`Log::open`] over any [`Storage`] (tests inject faults this way).
    pub fn open_with_storage(
        dir: &Path,
        config: LogConfig,
        now_ms: i64,
        storage: Arc<dyn Storage>,
    ) -> Result<Log, LogError> {
        config.validate()?;
        storage.create_dir_all(dir).map_err(|e| LogError::io(dir, e))?;
        let clean = take_clean_shutdown(&*storage, dir)?;
        let bases = discover_segments(&*storage, dir)?;
        let checkpointed_start = read_checkpoint(&*storage, dir, LOG_START_OFFSET_FILE)?.unwrap_or(0);
        let recovery_point = if clean {
            i64::MAX
        } else {
            match read_checkpoint(&*storage, dir, RECOVERY_POINT_FILE) {
                Ok(rp) => rp.unwrap_or(0),
                // Recovering from 0 is always safe, merely slower.
                Err(LogError::CheckpointCorrupt { path }) => {
                    tracing::warn!(path = %path.display(), "corrupt recovery point; recovering every segment");
                    0
                }
                Err(e) => return Err(e),
            }
        };

        let mut segments: Vec<Segment> = Vec::with_capacity(bases.len());
        let mut recovering = false;
        for (i, &base) in bases.iter().enumerate() {
            if let Some(prev) = segments.last() {
                // Segments always continue each other: compaction leaves gaps only inside a
                // segment (it keeps each segment's last batch, emptied if need be).
                if prev.next_offset != base {
                    if !recovering && clean {
                        let path = segment_path(dir, base, LOG_SUFFIX);
                        return Err(LogError::SegmentCorrupt {
                            path,
                            position: 0,
                            reason: "segment does not continue the previous one",
                        });
                    }
                    tracing::warn!(dir = %dir.display(), base_offset = base, expected = prev.next_offset, "segment gap; deleting it and later segments");
                    delete_segments_newest_first(&*storage, dir, &bases[i..])?;
                    break;
                }
            }
            let below_recovery_point = clean || bases.get(i + 1).is_some_and(|next| *next <= recovery_point);
            if below_recovery_point && !recovering {
                if let Some(segment) = Segment::load_trusted(&*storage, dir, base, &config, now_ms)? {
                    segments.push(segment);
                    continue;
                }
                tracing::warn!(dir = %dir.display(), base_offset = base, "trusted segment is inconsistent; recovering from it");
            }
            recovering = true;
            let (segment, truncated) = Segment::recover(&*storage, dir, base, &config, now_ms)?;
            segment
                .file
                .sync_data()
                .map_err(|e| LogError::io(&segment.log_path, e))?;
            segments.push(segment);
            if truncated {
                delete_segments_newest_first(&*storage, dir, &bases[i + 1..])?;
                break;
            }
        }

        let mut log = Log {
            dir: dir.to_path_buf(),
            config: config.clone(),
            storage: Arc::clone(&storage),
            segments,
            log_start_offset: 0,
            recovery_point: 0,
            unsynced_segments: Vec::new(),
            unsynced_index_files: Vec::new(),
            dir_sync_pending_base: None,
            failed: Arc::new(AtomicBool::new(false)),
            producers: ProducerState::new(config.max_producers, config.producer_id_expiration_ms),
            first_dirty_offset: 0,
            tombstone_horizon_ms: None,
            txns: Default::default(),
        };
        let first_base = log.segments.first().map(|s| s.base_offset);
        let leo = log.segments.last().map(|s| s.next_offset);
        match (first_base, leo) {
            (Some(first_base), Some(leo)) if checkpointed_start <= leo => {
                log.log_start_offset = checkpointed_start.max(first_base);
            }
            _ => {
                // No data, or a DeleteRecords checkpoint beyond data lost in the crash:
                // Kafka starts the log over, empty, at the log start offset.
                let start = checkpointed_start.max(leo.unwrap_or(0));
                log.truncate_fully_and_start_at(start, now_ms)?;
            }
        }
        // Everything recovered has been synced above; trusted data was durable.
        log.recovery_point = log.log_end_offset();
        log.load_producer_state(now_ms)?;
        log.load_cleaner_checkpoint(now_ms)?;
        log.load_txn_state()?;
        tracing::info!(dir = %dir.display(), clean, log_start_offset = log.log_start_offset, log_end_offset = log.log_end_offset(), segments = log.segments.len(), "opened log");
        Ok(log)
    }

    /// The cleaner checkpoint is an optimisation (where the dirty range starts): a corrupt one
    /// means compacting everything again, not losing data. A log with a compacted part may hold
    /// tombstones whose horizon passed while the broker was down, so one pass is due at once.
    fn load_cleaner_checkpoint(&mut self, now_ms: i64) -> Result<(), LogError> {
        self.first_dirty_offset = match read_checkpoint(&*self.storage, &self.dir, CLEANER_CHECKPOINT_FILE) {
            Ok(offset) => offset.unwrap_or(0),
            Err(LogError::CheckpointCorrupt { path }) => {
                tracing::warn!(path = %path.display(), "corrupt cleaner checkpoint; the next pass compacts everything");
                0
            }
            Err(e) => return Err(e),
        };
        if self.config.cleanup_policy.compact && self.first_dirty_offset > self.log_start_offset {
            self.tombstone_horizon_ms = Some(now_ms);
        }
        Ok(())
    }

    fn truncate_fully_and_start_at(&mut self, start: i64, now_ms: i64) -> Result<(), LogError> {
        for segment in self.segments.drain(..).rev() {
            segment.delete_files(&*self.storage)?;
        }
        let segment = Segment::create(&*self.storage, &self.dir, start, now_ms)?;
        self.storage
            .sync_dir(&self.dir)
            .map_err(|e| LogError::io(&self.dir, e))?;
        self.segments.push(segment);
        self.log_start_offset = start;
        Ok(())
    }
}

/// Lists segment base offsets (ascending) and removes leftovers: temp files from
/// interrupted checkpoint writes and index files whose `.log` is gone (so a future
/// segment with the same base offset can never adopt them).
fn discover_segments(storage: &dyn Storage, dir: &Path) -> Result<Vec<i64>, LogError> {
    complete_interrupted_swaps(storage, dir)?;
    let names = storage.list_dir(dir).map_err(|e| LogError::io(dir, e))?;
    let bases: BTreeSet<i64> = names.iter().filter_map(|n| parse_segment_name(n, LOG_SUFFIX)).collect();
    for name in &names {
        let orphan_index = [INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX]
            .iter()
            .any(|sfx| parse_segment_name(name, sfx).is_some_and(|b| !bases.contains(&b)));
        if orphan_index || name.ends_with(TEMP_SUFFIX) {
            let path = dir.join(name);
            storage.remove(&path).map_err(|e| LogError::io(&path, e))?;
        }
    }
    Ok(bases.into_iter().collect())
}

/// Deletes the given segments' files, newest first, so an interrupted deletion
/// never leaves a gap followed by valid-looking data.
fn delete_segments_newest_first(storage: &dyn Storage, dir: &Path, bases: &[i64]) -> Result<(), LogError> {
    for &base in bases.iter().rev() {
        tracing::warn!(dir = %dir.display(), base_offset = base, "deleting segment after the recovered end of the log");
        for suffix in [INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX, LOG_SUFFIX] {
            let path = segment_path(dir, base, suffix);
            match storage.remove(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(LogError::io(&path, e)),
            }
        }
    }
    storage.sync_dir(dir).map_err(|e| LogError::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::parse_segment_name;

    #[test]
    fn parse_segment_name_accepts_only_twenty_digit_names() {
        assert_eq!(parse_segment_name("00000000000000000042.log", "log"), Some(42));
        assert_eq!(parse_segment_name("42.log", "log"), None);
        assert_eq!(parse_segment_name("00000000000000000042.index", "log"), None);
        assert_eq!(parse_segment_name("0000000000000000004x.log", "log"), None);
    }
}
