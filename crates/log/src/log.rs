//! `Log`: one partition's segments, the append path and the read path.
//!
//! Invariants: `segments` is never empty, ascending by base offset and contiguous
//! (each segment's base offset is the previous one's `next_offset`; compaction
//! leaves offset gaps only inside segments); the last is the active segment and
//! the only one appended to. `log_start_offset <=
//! log_end_offset`. `recovery_point` (the durable offset) only grows and never
//! exceeds `log_end_offset`. Once `failed` is set no write is attempted again
//! (fail-stop: a failed fsync may have dropped dirty pages, so retrying could
//! report data durable that is not).
//!
//! Idempotent batches are checked against `producers` before anything is written (a duplicate
//! writes nothing and answers with the original offsets) and recorded after the write; the
//! state is snapshotted at every roll so it is derived data, rebuilt on open (`producers.rs`).
//!
//! Opening and recovery live in `open.rs`, durability in `sync.rs`, deletion in
//! `retention.rs`, compaction in `cleaner/`.

use crate::batch::BatchesInfo;
use crate::batch::{batch_size_at, validate_batches, BatchHeader};
use crate::config::{LogConfig, MAX_APPEND_BYTES};
use crate::error::LogError;
use crate::producer_state::{ProducerState, SequenceCheck};
use crate::segment::Segment;
use crate::storage::{Storage, StorageFile};
use crate::transactions::{ControlType, TxnState};
use bytes::Bytes;
use std::io::IoSlice;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What an append wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset assigned to the first record of the first batch.
    pub base_offset: i64,
    /// Offset of the last record of the last batch; the new log end offset is this + 1.
    pub last_offset: i64,
    /// Largest batch maxTimestamp in the append.
    pub max_timestamp: i64,
    pub batch_count: u32,
    pub record_count: u64,
    pub bytes: u64,
    /// The batch repeats one its idempotent producer already wrote: nothing was written, and
    /// the offsets and timestamp are the original's (the answer Kafka gives a retried batch).
    pub is_duplicate: bool,
}

/// A durable, segmented partition log. Not internally synchronized: the broker
/// keeps it behind a lock and runs fsync through [`crate::SyncPoint`] outside it.
#[derive(Debug)]
pub struct Log {
    pub(crate) dir: PathBuf,
    pub(crate) config: LogConfig,
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) segments: Vec<Segment>,
    pub(crate) log_start_offset: i64,
    pub(crate) recovery_point: i64,
    /// Rolled segments whose data is not yet known durable, with their end offsets.
    pub(crate) unsynced_segments: Vec<(i64, Arc<dyn StorageFile>)>,
    /// Index files written at roll but not yet fsynced.
    pub(crate) unsynced_index_files: Vec<Arc<dyn StorageFile>>,
    /// Base offset of the newest segment whose directory entry is not yet fsynced.
    pub(crate) dir_sync_pending_base: Option<i64>,
    pub(crate) failed: Arc<AtomicBool>,
    /// Idempotent producers' epochs and recent sequences (derived from the batches).
    pub(crate) producers: ProducerState,
    /// The cleaner checkpoint: offsets below it were compacted at least once.
    pub(crate) first_dirty_offset: i64,
    /// Earliest delete horizon of a tombstone the last cleaning pass kept; a pass is due then
    /// even if nothing new was written.
    pub(crate) tombstone_horizon_ms: Option<i64>,
    /// Open and aborted transactions (derived from the batches; `txn_index.rs`).
    pub(crate) txns: TxnState,
}

impl Log {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// One past the last offset of the last batch (not its base offset + 1).
    pub fn log_end_offset(&self) -> i64 {
        self.active().next_offset
    }

    /// Total bytes of batch data in all segments.
    pub fn size_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.size).sum()
    }

    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Base offsets of all segments, oldest first.
    pub fn segment_base_offsets(&self) -> Vec<i64> {
        self.segments.iter().map(|s| s.base_offset).collect()
    }

    pub fn is_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    pub(crate) fn active(&self) -> &Segment {
        self.segments.last().expect("a log always has an active segment")
    }

    fn active_mut(&mut self) -> &mut Segment {
        self.segments.last_mut().expect("a log always has an active segment")
    }

    pub(crate) fn check_not_failed(&self) -> Result<(), LogError> {
        if self.is_failed() {
            return Err(LogError::StorageFailed { dir: self.dir.clone() });
        }
        Ok(())
    }

    /// Marks the log failed if `result` is an I/O error, then passes it on.
    pub(crate) fn fail_on_io<T>(&self, result: Result<T, LogError>) -> Result<T, LogError> {
        if let Err(LogError::Io { path, source }) = &result {
            tracing::error!(path = %path.display(), error = %source, "log storage failed; refusing further writes");
            self.failed.store(true, Ordering::Release);
        }
        result
    }

    /// Validates, assigns offsets from the log end offset, and writes every batch to the active
    /// segment (rolling first if needed) with one `pwritev`: each batch's new baseOffset, then
    /// its bytes as received (the CRC does not cover baseOffset, so no copy or re-checksum).
    /// All-or-nothing on validation; not durable until synced.
    pub fn append(&mut self, records: &[u8], now_ms: i64) -> Result<AppendInfo, LogError> {
        self.check_not_failed()?;
        if records.len() as u64 > MAX_APPEND_BYTES {
            return Err(LogError::MessageTooLarge {
                size: records.len() as u64,
                max: MAX_APPEND_BYTES,
            });
        }
        let info = validate_batches(records, self.config.max_message_bytes)?;
        // Markers are the transaction coordinator's (`append_marker`), never a client's.
        if info.batches.iter().any(|h| h.is_control()) {
            return Err(LogError::InvalidRecord {
                reason: "control batches are written by the broker only",
            });
        }
        if let SequenceCheck::Duplicate(original) = self.producers.check_append(&info.batches)? {
            return Ok(AppendInfo {
                base_offset: original.base_offset,
                last_offset: original.last_offset,
                max_timestamp: original.max_timestamp,
                batch_count: 0,
                record_count: 0,
                bytes: 0,
                is_duplicate: true,
            });
        }
        self.write_validated(records, &info, now_ms, None)
    }

    /// Assigns offsets to validated batches and writes them (`append`'s second half; markers
    /// come through here too, with their control type).
    pub(crate) fn write_validated(
        &mut self,
        records: &[u8],
        info: &BatchesInfo,
        now_ms: i64,
        marker: Option<ControlType>,
    ) -> Result<AppendInfo, LogError> {
        let base_offset = self.log_end_offset();
        if info.offset_count > u64::from(u32::MAX) {
            return Err(LogError::InvalidOffset {
                offset: base_offset,
                reason: "append spans more offsets than one segment can index",
            });
        }
        let Some(last_offset) = base_offset.checked_add(info.offset_count as i64 - 1) else {
            return Err(LogError::InvalidOffset {
                offset: base_offset,
                reason: "offsets would overflow i64",
            });
        };
        if self.should_roll(records.len() as u64, last_offset, now_ms) {
            self.roll(now_ms)?;
        }

        // The batches stay where the request decoder left them; each is written as its new
        // baseOffset (8 bytes, outside the CRC) followed by the rest of the batch as received.
        let mut base_offsets = Vec::with_capacity(info.batches.len());
        let mut next = base_offset;
        for h in &info.batches {
            base_offsets.push(next.to_be_bytes());
            next += h.offset_count();
        }
        let mut slices = Vec::with_capacity(2 * info.batches.len());
        let mut position = 0usize;
        for (h, patched) in info.batches.iter().zip(&base_offsets) {
            slices.push(IoSlice::new(patched));
            slices.push(IoSlice::new(&records[position + 8..position + h.size()]));
            position += h.size();
        }
        let segment = self.active();
        let write = segment
            .file
            .write_all_vectored_at(&slices, segment.size)
            .map_err(|e| LogError::io(&segment.log_path, e));
        self.fail_on_io(write)?;

        let interval = self.config.index_interval_bytes;
        let segment = self.segments.last_mut().expect("a log always has an active segment");
        let mut position = segment.size;
        let mut next = base_offset;
        for h in &info.batches {
            let patched = BatchHeader {
                base_offset: next,
                ..*h
            };
            segment.track_batch(&patched, position, interval);
            self.producers.record(&patched, now_ms);
            self.txns.record(&patched, marker);
            next += h.offset_count();
            position += h.size() as u64;
        }
        segment.rolling_base_ms.get_or_insert(now_ms);
        segment.last_modified_ms = now_ms;
        debug_assert_eq!(self.log_end_offset(), last_offset + 1);
        Ok(AppendInfo {
            base_offset,
            last_offset,
            max_timestamp: info.max_timestamp,
            batch_count: info.batches.len() as u32,
            record_count: info.record_count,
            bytes: info.bytes,
            is_duplicate: false,
        })
    }

    /// Kafka's roll rules; an empty active segment never rolls, so an append larger
    /// than `segment_bytes` goes into a fresh segment alone.
    fn should_roll(&self, append_bytes: u64, last_offset: i64, now_ms: i64) -> bool {
        let active = self.active();
        !active.is_empty()
            && (active.size + append_bytes > self.config.segment_bytes
                || self.has_segment_time_expired(now_ms)
                || active.is_index_full(&self.config)
                || !active.can_hold_offset(last_offset))
    }

    fn has_segment_time_expired(&self, now_ms: i64) -> bool {
        let active = self.active();
        match active.rolling_base_ms {
            Some(base) if !active.is_empty() => now_ms.saturating_sub(base) > self.config.segment_ms,
            _ => false,
        }
    }

    /// Rolls if the active segment is older than `segment_ms`.
    pub fn maybe_roll(&mut self, now_ms: i64) -> Result<bool, LogError> {
        self.check_not_failed()?;
        if self.has_segment_time_expired(now_ms) {
            self.roll(now_ms)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Closes the active segment (writes its index files, queues its data for the
    /// next sync) and starts a new one at the log end offset.
    pub(crate) fn roll(&mut self, now_ms: i64) -> Result<(), LogError> {
        self.check_not_failed()?;
        let storage = Arc::clone(&self.storage);
        let new_base = self.log_end_offset();
        // Kafka's rule: a snapshot per segment, at its base offset, so opening replays at most
        // the active segment.
        self.write_producer_snapshot(false)?;
        self.write_txn_index()?;
        let written = self.active_mut().write_index_files(&*storage);
        let handles = self.fail_on_io(written)?;
        self.unsynced_index_files.extend(handles);
        if new_base > self.recovery_point {
            self.unsynced_segments.push((new_base, Arc::clone(&self.active().file)));
        }
        let created = Segment::create(&*storage, &self.dir, new_base, now_ms);
        let segment = self.fail_on_io(created)?;
        tracing::debug!(dir = %self.dir.display(), base_offset = new_base, "rolled new segment");
        self.segments.push(segment);
        self.dir_sync_pending_base = Some(new_base);
        Ok(())
    }

    /// Index of the segment that holds `offset` (the last with base <= offset).
    pub(crate) fn segment_index_for(&self, offset: i64) -> usize {
        self.segments
            .partition_point(|s| s.base_offset <= offset)
            .saturating_sub(1)
    }

    /// Reads whole batches starting with the one containing `offset`, up to
    /// `max_bytes`, but at least one whole batch if `min_one_batch` (KIP-74). Only
    /// batches with base offset < `upper_bound` (e.g. the high watermark) are
    /// returned. May span segments. Every returned batch has its CRC checked.
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        min_one_batch: bool,
        upper_bound: i64,
    ) -> Result<Bytes, LogError> {
        let log_end_offset = self.log_end_offset();
        if offset < self.log_start_offset || offset > log_end_offset {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset,
                log_end_offset,
            });
        }
        let mut out: Vec<u8> = Vec::new();
        for segment in &self.segments[self.segment_index_for(offset)..] {
            let Some((start, first)) = segment.locate(offset.max(segment.base_offset))? else {
                continue;
            };
            if first.base_offset >= upper_bound {
                break;
            }
            let budget = max_bytes.saturating_sub(out.len()) as u64;
            let mut want = budget.min(segment.size - start);
            if out.is_empty() && min_one_batch {
                want = want.max(first.size() as u64);
            }
            if want < first.size() as u64 {
                break;
            }
            let kept = read_whole_batches(segment, start, want, upper_bound, &mut out)?;
            if start + kept < segment.size {
                break;
            }
        }
        Ok(Bytes::from(out))
    }

    /// ListOffsets by timestamp: the first batch (in offset order, at or after the
    /// log start offset) whose maxTimestamp >= `timestamp`.
    pub fn batch_at_timestamp(&self, timestamp: i64) -> Result<Option<Bytes>, LogError> {
        for segment in &self.segments[self.segment_index_for(self.log_start_offset)..] {
            if let Some((position, h)) = segment.first_at_timestamp(timestamp, self.log_start_offset)? {
                return read_one_batch(segment, position, &h).map(Some);
            }
        }
        Ok(None)
    }

    /// The batch holding the largest maxTimestamp, the earliest on ties (KIP-734).
    pub fn max_timestamp_batch(&self) -> Result<Option<Bytes>, LogError> {
        let mut best: Option<(i64, &Segment, u64, BatchHeader)> = None;
        for segment in &self.segments[self.segment_index_for(self.log_start_offset)..] {
            let Some((position, h)) = segment.max_timestamp_batch(self.log_start_offset)? else {
                continue;
            };
            let better = match &best {
                Some((ts, ..)) => h.max_timestamp > *ts,
                None => true,
            };
            if better {
                best = Some((h.max_timestamp, segment, position, h));
            }
        }
        match best {
            Some((_, segment, position, h)) => read_one_batch(segment, position, &h).map(Some),
            None => Ok(None),
        }
    }
}

/// Appends to `out` the whole batches in `segment[start..start + want)` that start
/// below `upper_bound`, with one positioned read; returns the bytes kept.
fn read_whole_batches(
    segment: &Segment,
    start: u64,
    want: u64,
    upper_bound: i64,
    out: &mut Vec<u8>,
) -> Result<u64, LogError> {
    let old_len = out.len();
    out.resize(old_len + want as usize, 0);
    let read = segment.file.read_exact_at(&mut out[old_len..], start);
    if let Err(e) = read {
        out.truncate(old_len);
        return Err(LogError::io(&segment.log_path, e));
    }
    let chunk = &out[old_len..];
    let mut kept = 0usize;
    while let Some(size) = batch_size_at(&chunk[kept..]) {
        if kept + size > chunk.len() {
            break;
        }
        let position = start + kept as u64;
        let h = BatchHeader::validate(&chunk[kept..kept + size], position).map_err(|_| LogError::SegmentCorrupt {
            path: segment.log_path.clone(),
            position,
            reason: "batch failed validation on read",
        })?;
        if h.base_offset >= upper_bound {
            break;
        }
        kept += size;
    }
    out.truncate(old_len + kept);
    Ok(kept as u64)
}

fn read_one_batch(segment: &Segment, position: u64, header: &BatchHeader) -> Result<Bytes, LogError> {
    let mut out = Vec::new();
    let kept = read_whole_batches(segment, position, header.size() as u64, i64::MAX, &mut out)?;
    assert_eq!(kept, header.size() as u64, "a located batch lies within its segment");
    Ok(Bytes::from(out))
}
