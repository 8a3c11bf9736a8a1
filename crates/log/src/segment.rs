//! One log segment: the `.log` file of raw batches plus its in-memory indexes.
//!
//! Invariants: `size` is the length of valid batch data in the file (the file is
//! never longer once recovery has run, except after a failed write, which fails the
//! whole log); `next_offset` is one past the last offset of the last batch, or
//! `base_offset` when empty; batch offsets ascend from `base_offset`, contiguous
//! unless the segment was compacted; every relative offset fits in u32 and every position in u32.
//! This file does not decide when to roll or delete; `Log` does.

use crate::batch::BatchHeader;
use crate::config::LogConfig;
use crate::error::LogError;
use crate::index::{OffsetIndex, TimeIndex};
use crate::scan::{BatchScanner, Scanned, LOOKUP_CHUNK_BYTES, RECOVERY_CHUNK_BYTES};
use crate::storage::{Storage, StorageFile};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(crate) const LOG_SUFFIX: &str = "log";
pub(crate) const INDEX_SUFFIX: &str = "index";
pub(crate) const TIME_INDEX_SUFFIX: &str = "timeindex";

/// `{base_offset:020}.{suffix}`, Kafka's file naming, so names sort by offset.
pub(crate) fn segment_path(dir: &Path, base_offset: i64, suffix: &str) -> PathBuf {
    dir.join(format!("{base_offset:020}.{suffix}"))
}

/// Index files larger than this cannot have been written by us (the config bound
/// is below it); refusing to read them bounds the allocation.
const MAX_INDEX_FILE_BYTES: u64 = crate::config::MAX_SEGMENT_INDEX_BYTES as u64 + 12;

#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) base_offset: i64,
    pub(crate) log_path: PathBuf,
    index_path: PathBuf,
    time_index_path: PathBuf,
    pub(crate) file: Arc<dyn StorageFile>,
    pub(crate) size: u64,
    pub(crate) next_offset: i64,
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    bytes_since_index_entry: u64,
    /// Largest batch maxTimestamp, -1 if empty.
    pub(crate) max_timestamp: i64,
    /// Base offset of the first batch carrying `max_timestamp`.
    pub(crate) offset_of_max_timestamp: i64,
    /// Wall clock of the first append, for `segment_ms`. After a reopen it is the
    /// first batch's maxTimestamp (Kafka's rule), clamped to `now`.
    pub(crate) rolling_base_ms: Option<i64>,
    /// Wall clock of the last append (or of open); retention falls back to it when
    /// no batch carries a timestamp.
    pub(crate) last_modified_ms: i64,
    /// In-memory indexes differ from the files on disk.
    pub(crate) index_dirty: bool,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LogError + '_ {
    move |e| LogError::io(path, e)
}

impl Segment {
    pub(crate) fn empty(dir: &Path, base_offset: i64, file: Arc<dyn StorageFile>, now_ms: i64) -> Segment {
        Segment {
            base_offset,
            log_path: segment_path(dir, base_offset, LOG_SUFFIX),
            index_path: segment_path(dir, base_offset, INDEX_SUFFIX),
            time_index_path: segment_path(dir, base_offset, TIME_INDEX_SUFFIX),
            file,
            size: 0,
            next_offset: base_offset,
            offset_index: OffsetIndex::default(),
            time_index: TimeIndex::default(),
            bytes_since_index_entry: 0,
            max_timestamp: -1,
            offset_of_max_timestamp: base_offset,
            rolling_base_ms: None,
            last_modified_ms: now_ms,
            index_dirty: true,
        }
    }

    /// Creates a new, empty segment file.
    pub(crate) fn create(
        storage: &dyn Storage,
        dir: &Path,
        base_offset: i64,
        now_ms: i64,
    ) -> Result<Segment, LogError> {
        let path = segment_path(dir, base_offset, LOG_SUFFIX);
        let file = storage.create(&path).map_err(io_err(&path))?;
        Ok(Segment::empty(dir, base_offset, file, now_ms))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Offset relative to `base_offset`; callers guarantee it is in range.
    fn relative(&self, offset: i64) -> u32 {
        let rel = offset - self.base_offset;
        assert!(
            (0..=i64::from(u32::MAX)).contains(&rel),
            "offset {offset} outside segment {}",
            self.base_offset
        );
        rel as u32
    }

    /// The timestamp retention compares against: the largest batch maxTimestamp,
    /// or the last append time when no batch carries one (Kafka uses the file's
    /// mtime there).
    pub(crate) fn largest_timestamp(&self) -> i64 {
        if self.max_timestamp >= 0 {
            self.max_timestamp
        } else {
            self.last_modified_ms
        }
    }

    /// Whether offsets up to `last_offset` still fit the u32 relative offsets.
    pub(crate) fn can_hold_offset(&self, last_offset: i64) -> bool {
        last_offset - self.base_offset <= i64::from(u32::MAX)
    }

    /// Whether either index has no room for another entry. One time index slot is
    /// kept for the final entry written at roll/close.
    pub(crate) fn is_index_full(&self, config: &LogConfig) -> bool {
        self.offset_index.len() >= config.max_offset_index_entries()
            || self.time_index.len() + 1 >= config.max_time_index_entries()
    }

    /// Records a batch that now lives at `position` (already written or scanned):
    /// advances size and next offset, the max timestamp, and adds sparse index
    /// entries every `index_interval_bytes` (Kafka's LogSegment.append rule).
    pub(crate) fn track_batch(&mut self, header: &BatchHeader, position: u64, index_interval_bytes: u32) {
        assert_eq!(position, self.size, "batches are tracked in file order");
        assert!(header.base_offset >= self.next_offset, "offsets must increase");
        if header.max_timestamp > self.max_timestamp {
            self.max_timestamp = header.max_timestamp;
            self.offset_of_max_timestamp = header.base_offset;
        }
        if self.bytes_since_index_entry > u64::from(index_interval_bytes) {
            let rel = self.relative(header.base_offset);
            self.offset_index.push(rel, position as u32);
            self.time_index
                .maybe_push(self.max_timestamp, self.relative(self.offset_of_max_timestamp));
            self.bytes_since_index_entry = 0;
        }
        let size = header.size() as u64;
        self.bytes_since_index_entry += size;
        self.size += size;
        self.next_offset = header.last_offset() + 1;
        self.index_dirty = true;
    }

    /// Writes both index files (not synced; returns the handles so the caller can
    /// sync them before advancing the recovery point). Adds the final time index
    /// entry so a reopened segment knows its max timestamp without scanning.
    pub(crate) fn write_index_files(&mut self, storage: &dyn Storage) -> Result<Vec<Arc<dyn StorageFile>>, LogError> {
        let (index, time_index) = (self.index_path.clone(), self.time_index_path.clone());
        self.write_index_files_at(storage, &index, &time_index)
    }

    /// Where the index files live once the segment is in place.
    pub(crate) fn index_paths(&self) -> [&Path; 2] {
        [&self.index_path, &self.time_index_path]
    }

    /// Like [`Segment::write_index_files`], to other paths (the cleaner writes them beside its
    /// output and renames them into place at the swap).
    pub(crate) fn write_index_files_at(
        &mut self,
        storage: &dyn Storage,
        index_path: &Path,
        time_index_path: &Path,
    ) -> Result<Vec<Arc<dyn StorageFile>>, LogError> {
        if !self.is_empty() {
            self.time_index
                .maybe_push(self.max_timestamp, self.relative(self.offset_of_max_timestamp));
        }
        let mut handles = Vec::with_capacity(2);
        for (path, bytes) in [
            (index_path, self.offset_index.encode()),
            (time_index_path, self.time_index.encode()),
        ] {
            let f = storage.create(path).map_err(io_err(path))?;
            f.write_all_at(&bytes, 0).map_err(io_err(path))?;
            handles.push(f);
        }
        self.index_dirty = false;
        Ok(handles)
    }

    /// Removes the segment's files; the `.log` last so a crash midway leaves a
    /// segment whose indexes are merely rebuilt.
    pub(crate) fn delete_files(&self, storage: &dyn Storage) -> Result<(), LogError> {
        let dir = self.log_path.parent().unwrap_or(Path::new(""));
        let txn_index_path = segment_path(dir, self.base_offset, crate::txn_index::TXN_INDEX_SUFFIX);
        for path in [&self.index_path, &self.time_index_path, &txn_index_path] {
            match storage.remove(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(LogError::io(path, e)),
            }
        }
        storage.remove(&self.log_path).map_err(io_err(&self.log_path))
    }

    /// Opens a segment whose data is trusted (clean shutdown, or below the
    /// recovery point). Adopts the index files if they pass their checks and the
    /// last offset index entry names a real batch, scanning only the tail after it;
    /// otherwise rebuilds both indexes from batch headers. Returns `None` if the
    /// batch structure itself is inconsistent, so the caller recovers from here.
    pub(crate) fn load_trusted(
        storage: &dyn Storage,
        dir: &Path,
        base_offset: i64,
        config: &LogConfig,
        now_ms: i64,
    ) -> Result<Option<Segment>, LogError> {
        let path = segment_path(dir, base_offset, LOG_SUFFIX);
        let file = storage.open(&path).map_err(io_err(&path))?;
        let file_len = file.file_len().map_err(io_err(&path))?;
        let mut seg = Segment::empty(dir, base_offset, Arc::clone(&file), now_ms);
        if seg.adopt_index_files(storage, file_len, config)? {
            seg.rolling_base_ms = seg.first_batch_timestamp(now_ms)?;
            return Ok(Some(seg));
        }
        let mut seg = Segment::empty(dir, base_offset, file, now_ms);
        if !seg.scan_to_end(file_len, false, config)? {
            return Ok(None);
        }
        seg.rolling_base_ms = seg.first_batch_timestamp(now_ms)?;
        Ok(Some(seg))
    }

    /// Tries to use the on-disk indexes; false means "rebuild instead".
    fn adopt_index_files(
        &mut self,
        storage: &dyn Storage,
        file_len: u64,
        config: &LogConfig,
    ) -> Result<bool, LogError> {
        let offset_index = self
            .read_index_file(storage, &self.index_path)?
            .and_then(|b| OffsetIndex::decode(&b, file_len));
        let time_index = self
            .read_index_file(storage, &self.time_index_path)?
            .and_then(|b| TimeIndex::decode(&b, u32::MAX));
        let (Some(offset_index), Some(time_index)) = (offset_index, time_index) else {
            return Ok(false);
        };
        // An empty offset index is valid for a small segment, but then the tail scan
        // is the whole (small) segment anyway, so rebuilding costs nothing extra.
        let (Some((rel, position)), Some((max_ts, max_rel))) = (offset_index.last(), time_index.last()) else {
            return Ok(false);
        };
        let indexed_offset = self.base_offset + i64::from(rel);
        let mut scanner = BatchScanner::new(&*self.file, file_len, LOOKUP_CHUNK_BYTES);
        let first = scanner
            .batch_at(u64::from(position), false)
            .map_err(io_err(&self.log_path))?;
        if !matches!(first, Scanned::Batch(h) if h.base_offset == indexed_offset) {
            return Ok(false);
        }
        self.offset_index = offset_index;
        self.size = u64::from(position);
        self.next_offset = indexed_offset;
        self.index_dirty = false;
        // The tail after the last offset index entry is scanned with its own timestamp
        // tracking, then checked against the adopted time index before that is trusted: a
        // well-formed but wrong time index (one naming a tail offset that a tail batch with a
        // larger timestamp precedes) would otherwise break the ascending-entries invariant at
        // the next roll.
        if !self.scan_to_end(file_len, false, config)? {
            return Ok(false);
        }
        let (tail_max, tail_offset) = (self.max_timestamp, self.offset_of_max_timestamp);
        let adopted_offset = self.base_offset + i64::from(max_rel);
        // Written by roll or close, the last entry is the segment's largest timestamp: either in
        // the indexed part, with nothing larger in the tail, or the tail's own maximum.
        let consistent = adopted_offset < self.next_offset
            && ((adopted_offset < indexed_offset && tail_max <= max_ts)
                || (tail_max == max_ts && tail_offset == adopted_offset));
        if !consistent {
            return Ok(false);
        }
        self.time_index = time_index;
        self.max_timestamp = max_ts;
        self.offset_of_max_timestamp = adopted_offset;
        Ok(true)
    }

    /// Opens a segment that may have a torn or corrupt tail: validates every batch
    /// (lengths, CRC, contiguous offsets) and truncates the file after the last
    /// valid one. Returns the segment and whether anything was cut off.
    pub(crate) fn recover(
        storage: &dyn Storage,
        dir: &Path,
        base_offset: i64,
        config: &LogConfig,
        now_ms: i64,
    ) -> Result<(Segment, bool), LogError> {
        let path = segment_path(dir, base_offset, LOG_SUFFIX);
        let file = storage.open(&path).map_err(io_err(&path))?;
        let file_len = file.file_len().map_err(io_err(&path))?;
        let mut seg = Segment::empty(dir, base_offset, file, now_ms);
        let complete = seg.scan_to_end(file_len, true, config)?;
        if !complete {
            tracing::warn!(path = %path.display(), valid_bytes = seg.size, file_bytes = file_len, "truncating torn or corrupt segment tail");
            seg.file.set_len(seg.size).map_err(io_err(&path))?;
            seg.file.sync_data().map_err(io_err(&path))?;
        }
        seg.rolling_base_ms = seg.first_batch_timestamp(now_ms)?;
        Ok((seg, !complete))
    }

    /// Tracks every batch from `self.size` to `file_len`. Returns false if it stopped
    /// at an invalid batch (`self.size` is then the end of the valid data).
    fn scan_to_end(&mut self, file_len: u64, verify_crc: bool, config: &LogConfig) -> Result<bool, LogError> {
        let file = Arc::clone(&self.file);
        let mut scanner = BatchScanner::new(&*file, file_len, RECOVERY_CHUNK_BYTES);
        loop {
            let position = self.size;
            match scanner.batch_at(position, verify_crc).map_err(io_err(&self.log_path))? {
                Scanned::End => return Ok(true),
                Scanned::Invalid(reason) => {
                    tracing::debug!(path = %self.log_path.display(), position, reason, "segment scan stopped");
                    return Ok(false);
                }
                Scanned::Batch(h) => {
                    // Offsets ascend; compaction may leave gaps between batches. A batch
                    // going backwards is stale or foreign data.
                    if h.base_offset < self.next_offset
                        || !self.can_hold_offset(h.last_offset())
                        || position + h.size() as u64 > u64::from(u32::MAX)
                    {
                        return Ok(false);
                    }
                    self.track_batch(&h, position, config.index_interval_bytes);
                }
            }
        }
    }

    fn read_index_file(&self, storage: &dyn Storage, path: &Path) -> Result<Option<Vec<u8>>, LogError> {
        if !storage.exists(path).map_err(io_err(path))? {
            return Ok(None);
        }
        let f = storage.open(path).map_err(io_err(path))?;
        let len = f.file_len().map_err(io_err(path))?;
        if len > MAX_INDEX_FILE_BYTES {
            return Ok(None);
        }
        let mut buf = vec![0u8; len as usize];
        f.read_exact_at(&mut buf, 0).map_err(io_err(path))?;
        Ok(Some(buf))
    }

    fn first_batch_timestamp(&self, now_ms: i64) -> Result<Option<i64>, LogError> {
        if self.is_empty() {
            return Ok(None);
        }
        let mut scanner = BatchScanner::new(&*self.file, self.size, crate::batch::BATCH_HEADER_BYTES);
        match scanner.batch_at(0, false).map_err(io_err(&self.log_path))? {
            Scanned::Batch(h) if h.max_timestamp >= 0 => Ok(Some(h.max_timestamp.min(now_ms))),
            _ => Ok(Some(now_ms)),
        }
    }

    /// Position and header of the batch containing `offset` (or the first batch
    /// after it), or `None` if the segment holds nothing at or after `offset`.
    pub(crate) fn locate(&self, offset: i64) -> Result<Option<(u64, BatchHeader)>, LogError> {
        if offset >= self.next_offset {
            return Ok(None);
        }
        let start = self.verified_start(offset.max(self.base_offset))?;
        self.scan_from(start, |h| h.last_offset() >= offset)
    }

    /// Where to start scanning for `offset`: the offset index's entry at or below it, once the
    /// batch at that position is checked to start at the entry's offset. Indexes are derived
    /// data and, after a clean shutdown, adopted from disk without reading every entry; an entry
    /// that names the wrong place (a damaged file) would otherwise return the wrong batch or
    /// report the segment corrupt. A bad entry costs a scan from the segment start instead.
    fn verified_start(&self, offset: i64) -> Result<u64, LogError> {
        let Some((rel, position)) = self.offset_index.lookup_entry(self.relative(offset)) else {
            return Ok(0);
        };
        let mut scanner = BatchScanner::new(&*self.file, self.size, LOOKUP_CHUNK_BYTES);
        let at = scanner
            .batch_at(u64::from(position), false)
            .map_err(io_err(&self.log_path))?;
        if matches!(at, Scanned::Batch(h) if h.base_offset == self.base_offset + i64::from(rel)) {
            return Ok(u64::from(position));
        }
        tracing::warn!(
            segment = %self.log_path.display(),
            relative_offset = rel,
            position,
            "offset index entry does not point at its batch; scanning the segment from its start"
        );
        Ok(0)
    }

    /// First batch with maxTimestamp >= `timestamp` and last offset >=
    /// `min_offset` (the log start offset), found via the time index.
    pub(crate) fn first_at_timestamp(
        &self,
        timestamp: i64,
        min_offset: i64,
    ) -> Result<Option<(u64, BatchHeader)>, LogError> {
        if self.is_empty() || self.max_timestamp < timestamp || self.next_offset <= min_offset {
            return Ok(None);
        }
        let from_time = match self.time_index.lookup(timestamp) {
            Some(rel) => self.verified_start(self.base_offset + i64::from(rel))?,
            None => 0,
        };
        let from_offset = self.verified_start(min_offset.max(self.base_offset))?;
        let start = from_time.max(from_offset);
        self.scan_from(start, |h| h.max_timestamp >= timestamp && h.last_offset() >= min_offset)
    }

    /// The earliest batch carrying the segment's largest maxTimestamp among batches
    /// whose last offset is >= `min_offset`. Uses the tracked maximum unless the
    /// log start offset has moved past it, in which case it scans.
    pub(crate) fn max_timestamp_batch(&self, min_offset: i64) -> Result<Option<(u64, BatchHeader)>, LogError> {
        if self.is_empty() || self.next_offset <= min_offset {
            return Ok(None);
        }
        if self.offset_of_max_timestamp >= min_offset {
            return self.locate(self.offset_of_max_timestamp);
        }
        let start = self.verified_start(min_offset.max(self.base_offset))?;
        let mut best: Option<(u64, BatchHeader)> = None;
        let mut scanner = BatchScanner::new(&*self.file, self.size, LOOKUP_CHUNK_BYTES);
        let mut position = start;
        loop {
            match scanner.batch_at(position, false).map_err(io_err(&self.log_path))? {
                Scanned::End => return Ok(best),
                Scanned::Invalid(reason) => {
                    return Err(LogError::SegmentCorrupt {
                        path: self.log_path.clone(),
                        position,
                        reason,
                    });
                }
                Scanned::Batch(h) => {
                    let better = match &best {
                        Some((_, b)) => h.max_timestamp > b.max_timestamp,
                        None => true,
                    };
                    if h.last_offset() >= min_offset && better {
                        best = Some((position, h));
                    }
                    position += h.size() as u64;
                }
            }
        }
    }

    /// Calls `f` with the header of every batch whose base offset is >= `offset`, in order.
    /// Headers only: the data was validated on append, or by recovery before the log opened.
    pub(crate) fn for_each_batch_from(&self, offset: i64, mut f: impl FnMut(&BatchHeader)) -> Result<(), LogError> {
        if offset >= self.next_offset {
            return Ok(());
        }
        let start = self.verified_start(offset.max(self.base_offset))?;
        let found = self.scan_chunked(start, RECOVERY_CHUNK_BYTES, |h| {
            if h.base_offset >= offset {
                f(h);
            }
            false
        })?;
        debug_assert!(found.is_none());
        Ok(())
    }

    fn scan_from(
        &self,
        start: u64,
        found: impl FnMut(&BatchHeader) -> bool,
    ) -> Result<Option<(u64, BatchHeader)>, LogError> {
        self.scan_chunked(start, LOOKUP_CHUNK_BYTES, found)
    }

    fn scan_chunked(
        &self,
        start: u64,
        chunk: usize,
        mut found: impl FnMut(&BatchHeader) -> bool,
    ) -> Result<Option<(u64, BatchHeader)>, LogError> {
        let mut scanner = BatchScanner::new(&*self.file, self.size, chunk);
        let mut position = start;
        loop {
            match scanner.batch_at(position, false).map_err(io_err(&self.log_path))? {
                Scanned::End => return Ok(None),
                Scanned::Invalid(reason) => {
                    return Err(LogError::SegmentCorrupt {
                        path: self.log_path.clone(),
                        position,
                        reason,
                    });
                }
                Scanned::Batch(h) if found(&h) => return Ok(Some((position, h))),
                Scanned::Batch(h) => position += h.size() as u64,
            }
        }
    }
}
