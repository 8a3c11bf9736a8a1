//! Writing the compacted copies of the cleanable segments (no lock held).
//!
//! Consecutive segments are merged into one output while the output so far plus the whole next
//! input still fits segment.bytes, segment.index.bytes and one segment's u32 relative offsets,
//! so a pass does not leave a trail of tiny segments (Kafka groups by input sizes, which merges
//! only on the pass after).
//! Each output keeps the base offset of its first input, so the log start offset and every
//! surviving record's offset are unchanged. Batches are copied byte for byte unless a record
//! goes or a tombstone is stamped; then the kept records are copied into a new batch with the
//! original header fields (`record::build_batch`). A segment's last batch, emptied, is kept as
//! an empty batch so every output ends exactly where its inputs did.

use super::offset_map::{filterable_records, for_each_batch, OffsetMap};
use super::swap::{cleaned_index_paths, cleaned_path, swap_path};
use super::{CleanStats, Cleaned, CleanedGroup, CleaningPlan, SegmentRef};
use crate::batch::BatchHeader;
use crate::error::LogError;
use crate::record::{build_batch, DELETE_HORIZON_FLAG};
use crate::segment::Segment;
use crate::storage::StorageFile;
use std::path::PathBuf;
use std::sync::Arc;

/// Output bytes buffered before one positioned write.
const WRITE_CHUNK_BYTES: usize = 1024 * 1024;

impl CleaningPlan {
    /// Builds the key map and writes every output segment, synced. Nothing visible changes
    /// until [`crate::Log::install_cleaned`]; on error the partial outputs are removed.
    pub fn clean(self) -> Result<Cleaned, LogError> {
        let map = super::offset_map::build(&self)?;
        let mut stats = CleanStats {
            keys: map.len(),
            ..CleanStats::default()
        };
        let mut horizon = None;
        let inputs: Vec<&SegmentRef> = self.segments.iter().filter(|s| s.base_offset < map.end).collect();
        let mut groups = Vec::new();
        let mut current: Option<(Output, Vec<&SegmentRef>)> = None;
        let written = (|| {
            for &input in &inputs {
                if let Some((out, group)) = current.take() {
                    if self.fits(&out, group[0], input) {
                        current = Some((out, group));
                    } else {
                        groups.push(self.finish(out, &group, &mut stats)?);
                    }
                }
                let (out, group) = match &mut current {
                    Some(c) => c,
                    None => current.insert((self.start_output(input)?, Vec::new())),
                };
                group.push(input);
                self.copy_segment(input, out, &map, &mut stats, &mut horizon)?;
            }
            if let Some((out, group)) = current.take() {
                groups.push(self.finish(out, &group, &mut stats)?);
            }
            self.stage_swaps(&mut groups)
        })();
        if let Err(e) = written {
            // The failed output's index files may exist too (the sync after writing them failed).
            let failed = current.map_or_else(Vec::new, |(out, _)| {
                let [index, time_index] = cleaned_index_paths(&self.dir, out.segment.base_offset);
                vec![out.cleaned_path, index, time_index]
            });
            let written = groups
                .iter()
                .flat_map(|g| [&g.staged_path, &g.cleaned_index_paths[0], &g.cleaned_index_paths[1]]);
            self.discard(written.chain(failed.iter()));
            return Err(e);
        }
        Ok(Cleaned {
            groups,
            cleaned_up_to: map.end,
            next_tombstone_horizon_ms: horizon,
            stats,
        })
    }

    /// Step 2 of the swap (`swap.rs`): renames every output to its `.swap` name and fsyncs the
    /// directory once, still without the partition lock.
    fn stage_swaps(&self, groups: &mut [CleanedGroup]) -> Result<(), LogError> {
        for g in groups.iter_mut() {
            let swap = swap_path(&self.dir, g.segment.base_offset, g.end_offset);
            self.storage
                .rename(&g.staged_path, &swap)
                .map_err(|e| LogError::io(&swap, e))?;
            g.staged_path = swap;
        }
        self.storage.sync_dir(&self.dir).map_err(|e| LogError::io(&self.dir, e))
    }

    /// Whether `next` may join the output started at `first` without the output outgrowing
    /// segment.bytes, its indexes or its u32 relative offsets, even if nothing of `next` goes.
    fn fits(&self, out: &Output, first: &SegmentRef, next: &SegmentRef) -> bool {
        let c = &self.config;
        let max_entries = c
            .max_offset_index_entries()
            .min(c.max_time_index_entries().saturating_sub(1)) as u64;
        let per_entry = u64::from(c.index_interval_bytes) + 1;
        let size = out.segment.size + next.size;
        size <= c.segment_bytes
            && size / per_entry + 2 <= max_entries
            && next.next_offset - first.base_offset <= i64::from(u32::MAX)
    }

    fn start_output(&self, first: &SegmentRef) -> Result<Output, LogError> {
        let path = cleaned_path(&self.dir, first.base_offset);
        let file = self.storage.create(&path).map_err(|e| LogError::io(&path, e))?;
        Ok(Output {
            segment: Segment::empty(&self.dir, first.base_offset, Arc::clone(&file), first.last_modified_ms),
            file,
            buf: Vec::new(),
            written: 0,
            interval: self.config.index_interval_bytes,
            cleaned_path: path,
        })
    }

    fn finish(
        &self,
        mut out: Output,
        inputs: &[&SegmentRef],
        stats: &mut CleanStats,
    ) -> Result<CleanedGroup, LogError> {
        out.flush()?;
        out.file.sync_data().map_err(|e| LogError::io(&out.cleaned_path, e))?;
        let [index, time_index] = cleaned_index_paths(&self.dir, out.segment.base_offset);
        for file in out.segment.write_index_files_at(&*self.storage, &index, &time_index)? {
            file.sync_data().map_err(|e| LogError::io(&index, e))?;
        }
        stats.segments_written += 1;
        stats.bytes_written += out.segment.size;
        out.segment.last_modified_ms = inputs.iter().map(|s| s.last_modified_ms).max().unwrap_or(self.now_ms);
        Ok(CleanedGroup {
            replaced: inputs.iter().map(|s| (s.base_offset, s.size)).collect(),
            end_offset: inputs[inputs.len() - 1].next_offset,
            segment: out.segment,
            staged_path: out.cleaned_path,
            cleaned_index_paths: [index, time_index],
        })
    }

    /// Best-effort removal of outputs after a failed pass; the next open removes leftovers too.
    fn discard<'a>(&self, paths: impl Iterator<Item = &'a PathBuf>) {
        for path in paths {
            if let Err(e) = self.storage.remove(path) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(path = %path.display(), error = %e, "could not remove a partial cleaner output; the next open removes it");
                }
            }
        }
    }

    fn copy_segment(
        &self,
        segment: &SegmentRef,
        out: &mut Output,
        map: &OffsetMap,
        stats: &mut CleanStats,
        horizon: &mut Option<i64>,
    ) -> Result<(), LogError> {
        stats.segments_read += 1;
        stats.bytes_read += segment.size;
        for_each_batch(segment, |h, bytes| {
            stats.records_read += h.record_count as u64;
            match self.filter_batch(h, bytes, map, stats, horizon) {
                Kept::Whole => {
                    stats.records_kept += h.record_count as u64;
                    out.push(h, bytes)?;
                }
                Kept::Rebuilt(batch, kept) => {
                    stats.records_kept += kept;
                    let header = BatchHeader::parse(&batch)?;
                    out.push(&header, &batch)?;
                }
                // The segment's last batch stays as an empty batch, so the segment still
                // ends at its last offset: a consumer reading past the removed records then
                // reaches the high watermark instead of waiting below it for records that
                // will never come.
                Kept::Nothing if h.last_offset() + 1 == segment.next_offset => {
                    let empty = build_batch(h, h.attributes, h.base_timestamp, &[], 0);
                    out.push(&BatchHeader::parse(&empty)?, &empty)?;
                }
                Kept::Nothing => {}
            }
            Ok(true)
        })
    }

    /// Decides what of one batch survives.
    fn filter_batch(
        &self,
        h: &BatchHeader,
        bytes: &[u8],
        map: &OffsetMap,
        stats: &mut CleanStats,
        horizon: &mut Option<i64>,
    ) -> Kept {
        if h.base_offset >= map.end || self.producer_last_batches.contains(&h.base_offset) {
            return Kept::Whole;
        }
        let Some(records) = filterable_records(h, bytes) else {
            return Kept::Whole;
        };
        let stamped = h.attributes & DELETE_HORIZON_FLAG != 0;
        let batch_horizon = if stamped {
            h.base_timestamp
        } else {
            self.now_ms.saturating_add(self.config.delete_retention_ms)
        };
        let mut kept = Vec::with_capacity(records.len());
        let mut tombstones_kept = false;
        for r in &records {
            let offset = h.base_offset + i64::from(r.offset_delta);
            let keep = match r.key {
                _ if offset >= map.end => true,
                None => true,
                Some(key) => match map.newest(key) {
                    Some(newest) if newest > offset => false,
                    _ if r.value.is_none() && stamped && self.now_ms >= batch_horizon => {
                        stats.tombstones_removed += 1;
                        false
                    }
                    _ => true,
                },
            };
            if keep {
                tombstones_kept |= r.value.is_none() && r.key.is_some();
                kept.push(r);
            }
        }
        if tombstones_kept {
            *horizon = Some(horizon.map_or(batch_horizon, |x| x.min(batch_horizon)));
        }
        let restamp = tombstones_kept && !stamped;
        if kept.is_empty() {
            return Kept::Nothing;
        }
        if kept.len() == records.len() && !restamp {
            return Kept::Whole;
        }
        let (attributes, base_timestamp) = if restamp {
            (h.attributes | DELETE_HORIZON_FLAG, batch_horizon)
        } else {
            (h.attributes, h.base_timestamp)
        };
        let mut section = Vec::with_capacity(bytes.len());
        for r in &kept {
            r.write_rebased(&mut section, h.base_timestamp, base_timestamp);
        }
        let batch = build_batch(h, attributes, base_timestamp, &section, kept.len() as i32);
        Kept::Rebuilt(batch, kept.len() as u64)
    }
}

enum Kept {
    Whole,
    Rebuilt(Vec<u8>, u64),
    Nothing,
}

/// The output segment being written, with a write buffer.
struct Output {
    segment: Segment,
    file: Arc<dyn StorageFile>,
    buf: Vec<u8>,
    /// Bytes already written to the file.
    written: u64,
    interval: u32,
    /// Where the file is until it is swapped in.
    cleaned_path: PathBuf,
}

impl Output {
    fn push(&mut self, h: &BatchHeader, bytes: &[u8]) -> Result<(), LogError> {
        let position = self.written + self.buf.len() as u64;
        self.segment.track_batch(h, position, self.interval);
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= WRITE_CHUNK_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), LogError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.file
            .write_all_at(&self.buf, self.written)
            .map_err(|e| LogError::io(&self.cleaned_path, e))?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }
}
