//! Log compaction (cleanup.policy=compact): keep at least the newest record of every key.
//!
//! Follows Kafka's LogCleaner in three steps, so the partition lock is held only to plan and to
//! install, never while reading or writing segment data:
//! 1. [`Log::plan_cleaning`] (under the lock, cheap): picks the cleanable segments — non-active,
//!    already durable, older than min.compaction.lag.ms — and decides whether the dirty share
//!    (bytes after the cleaner checkpoint) reaches min.cleanable.dirty.ratio, or kept tombstones
//!    are due for removal. Takes shared handles to the segment files.
//! 2. [`CleaningPlan::clean`] (no lock): builds the key → newest offset map of the dirty range
//!    (`offset_map.rs`), then rewrites every cleanable segment up to the map's end, grouped into
//!    output segments no larger than segment.bytes (`rewrite.rs`), each synced to disk.
//! 3. [`Log::install_cleaned`] (under the lock): swaps each output in for the segments it
//!    replaces if they are all still there (retention may have deleted some meanwhile), with a
//!    crash-safe rename protocol (`swap.rs`), then moves the cleaner checkpoint.
//!
//! What a pass keeps: a record whose key has a newer record in the map is removed, and so is a
//! tombstone (null value) whose delete horizon has passed. Offsets never change: a filtered batch
//! keeps its baseOffset and lastOffsetDelta, so compacted segments have offset gaps and reads
//! return the next batch present. Kept whole, never filtered: control and transactional batches,
//! compressed batches (the log does not decompress), records without a key, and each idempotent
//! producer's newest batch (its sequence state is rebuilt from it).
//!
//! Delete horizon (KIP-534): the first pass that keeps a tombstone stamps its batch with
//! now + delete.retention.ms (attributes bit 6, carried in baseTimestamp); a later pass removes
//! tombstones whose horizon has passed.

mod offset_map;
mod rewrite;
mod swap;

use crate::checkpoint::write_checkpoint;
use crate::error::LogError;
use crate::log::Log;
use crate::segment::Segment;
use crate::storage::{Storage, StorageFile};
use crate::LogConfig;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

pub(crate) use swap::complete_interrupted_swaps;

/// Per-partition checkpoint of the first offset the cleaner has not yet compacted.
pub(crate) const CLEANER_CHECKPOINT_FILE: &str = "cleaner-offset-checkpoint";

/// Kafka's default `log.cleaner.dedupe.buffer.size`: 128 MiB for the key map of one pass.
pub const DEFAULT_DEDUPE_BUFFER_BYTES: usize = 128 * 1024 * 1024;
/// Smallest dedupe buffer: one key map entry must fit.
pub const MIN_DEDUPE_BUFFER_BYTES: usize = 1024;

/// Broker-wide cleaner settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanerConfig {
    /// Bound on the key map of one pass (keys plus per-entry overhead). When the dirty range
    /// holds more keys, the pass cleans up to where the map filled and the next pass goes on.
    pub dedupe_buffer_bytes: usize,
}

impl Default for CleanerConfig {
    fn default() -> Self {
        CleanerConfig {
            dedupe_buffer_bytes: DEFAULT_DEDUPE_BUFFER_BYTES,
        }
    }
}

/// A non-active segment as the cleaner sees it: immutable, read through a shared handle that
/// stays valid even if retention deletes the file meanwhile.
#[derive(Debug, Clone)]
pub(crate) struct SegmentRef {
    pub(crate) base_offset: i64,
    pub(crate) next_offset: i64,
    pub(crate) size: u64,
    pub(crate) file: Arc<dyn StorageFile>,
    pub(crate) log_path: PathBuf,
    pub(crate) last_modified_ms: i64,
}

/// Everything one pass needs, taken under the lock.
#[derive(Debug)]
pub struct CleaningPlan {
    pub(crate) dir: PathBuf,
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) config: LogConfig,
    pub(crate) segments: Vec<SegmentRef>,
    pub(crate) first_dirty: i64,
    /// Base offsets of each idempotent producer's newest batch: kept whole.
    pub(crate) producer_last_batches: HashSet<i64>,
    pub(crate) now_ms: i64,
    pub(crate) dedupe_buffer_bytes: usize,
}

/// One output segment, written and synced, not yet swapped in.
#[derive(Debug)]
pub(crate) struct CleanedGroup {
    /// (base offset, size) of the segments it replaces, oldest first.
    pub(crate) replaced: Vec<(i64, u64)>,
    /// One past the last offset the replaced segments covered.
    pub(crate) end_offset: i64,
    /// The output, tracked under its final name; its file is still at `staged_path` (its
    /// `.cleaned` name while written, then its durable `.swap` name).
    pub(crate) segment: Segment,
    pub(crate) staged_path: PathBuf,
    /// Its offset and time index files, written and synced, renamed into place at the swap.
    pub(crate) cleaned_index_paths: [PathBuf; 2],
}

/// Counters of one pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanStats {
    pub segments_read: usize,
    pub segments_written: usize,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub records_read: u64,
    pub records_kept: u64,
    pub tombstones_removed: u64,
    /// Distinct keys in the dirty range's map.
    pub keys: usize,
}

/// The result of [`CleaningPlan::clean`], to hand to [`Log::install_cleaned`].
#[derive(Debug)]
pub struct Cleaned {
    pub(crate) groups: Vec<CleanedGroup>,
    /// The cleaner checkpoint after this pass: the end of the map's range.
    pub(crate) cleaned_up_to: i64,
    /// Earliest delete horizon of a tombstone this pass kept.
    pub(crate) next_tombstone_horizon_ms: Option<i64>,
    pub stats: CleanStats,
}

/// What is left of a pass once the partition lock is released: closing the replaced segments'
/// files (the last close of an unlinked file is when the filesystem frees its blocks, which can
/// take milliseconds) and persisting the cleaner checkpoint (two fsyncs, which also make the
/// swap's renames durable; until then a crash merely redoes them on open).
#[derive(Debug)]
pub struct AfterInstall {
    retired: Vec<Segment>,
    checkpoint: Option<(Arc<dyn Storage>, PathBuf, i64)>,
}

impl AfterInstall {
    pub fn finish(self) -> Result<(), LogError> {
        drop(self.retired);
        match self.checkpoint {
            Some((storage, dir, offset)) => write_checkpoint(&*storage, &dir, CLEANER_CHECKPOINT_FILE, offset),
            None => Ok(()),
        }
    }

    /// Whether the pass moved the cleaner checkpoint (every group was swapped in).
    pub fn moves_checkpoint(&self) -> bool {
        self.checkpoint.is_some()
    }
}

impl Log {
    /// Whether this log is due for compaction, and if so the plan for it. `None` when the
    /// policy is not compact, nothing is cleanable, or the dirty share is below the ratio.
    pub fn plan_cleaning(&self, now_ms: i64, cleaner: &CleanerConfig) -> Option<CleaningPlan> {
        if !self.config.cleanup_policy.compact || self.is_failed() {
            return None;
        }
        let lag_horizon = now_ms.saturating_sub(self.config.min_compaction_lag_ms);
        let cleanable: Vec<&Segment> = self.segments[..self.segments.len() - 1]
            .iter()
            .take_while(|s| s.next_offset <= self.recovery_point && s.largest_timestamp() <= lag_horizon)
            .collect();
        let last = cleanable.last()?;
        let first_dirty = self.first_dirty_offset.clamp(self.log_start_offset, last.next_offset);
        let total: u64 = cleanable.iter().map(|s| s.size).sum();
        let dirty: u64 = cleanable
            .iter()
            .filter(|s| s.next_offset > first_dirty)
            .map(|s| s.size)
            .sum();
        let ratio_reached = dirty > 0 && dirty * 1000 >= total * u64::from(self.config.min_cleanable_dirty_permille);
        let horizon_due = self.tombstone_horizon_ms.is_some_and(|h| now_ms >= h);
        if !ratio_reached && !horizon_due {
            return None;
        }
        let producer_last_batches = self
            .producers
            .entries()
            .filter_map(|(_, e)| e.batches.back().map(|b| b.base_offset))
            .collect();
        Some(CleaningPlan {
            dir: self.dir.clone(),
            storage: Arc::clone(&self.storage),
            config: self.config.clone(),
            segments: cleanable
                .iter()
                .map(|s| SegmentRef {
                    base_offset: s.base_offset,
                    next_offset: s.next_offset,
                    size: s.size,
                    file: Arc::clone(&s.file),
                    log_path: s.log_path.clone(),
                    last_modified_ms: s.last_modified_ms,
                })
                .collect(),
            first_dirty,
            producer_last_batches,
            now_ms,
            dedupe_buffer_bytes: cleaner.dedupe_buffer_bytes,
        })
    }

    /// Swaps in what [`CleaningPlan::clean`] wrote. A group whose input segments are no longer
    /// all present (retention or DeleteRecords ran meanwhile) is discarded; the checkpoint then
    /// stays where it was so the next pass redoes the work. Call [`AfterInstall::finish`] once
    /// the partition lock is released.
    pub fn install_cleaned(&mut self, cleaned: Cleaned) -> Result<(CleanStats, AfterInstall), LogError> {
        self.check_not_failed()?;
        let mut all_installed = true;
        let mut after = AfterInstall {
            retired: Vec::new(),
            checkpoint: None,
        };
        for group in cleaned.groups {
            let installed = self.install_group(group);
            match self.fail_on_io(installed)? {
                Some(retired) => after.retired.extend(retired),
                None => all_installed = false,
            }
        }
        if all_installed && cleaned.cleaned_up_to > self.first_dirty_offset {
            self.first_dirty_offset = cleaned.cleaned_up_to;
            after.checkpoint = Some((Arc::clone(&self.storage), self.dir.clone(), cleaned.cleaned_up_to));
        }
        self.tombstone_horizon_ms = if all_installed {
            cleaned.next_tombstone_horizon_ms
        } else {
            match (self.tombstone_horizon_ms, cleaned.next_tombstone_horizon_ms) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        };
        Ok((cleaned.stats, after))
    }

    /// Fails the log after a cleaning pass failed on I/O (a write or fsync of its own output):
    /// the same fail-stop rule as every other write. Other errors leave the log as it is.
    pub fn note_cleaner_error(&self, e: &LogError) {
        if let LogError::Io { path, source } = e {
            tracing::error!(path = %path.display(), error = %source, "log cleaner I/O failed; refusing further writes");
            self.failed.store(true, std::sync::atomic::Ordering::Release);
        }
    }

    /// The cleaner checkpoint: offsets below it have been compacted at least once.
    pub fn first_dirty_offset(&self) -> i64 {
        self.first_dirty_offset
    }
}
