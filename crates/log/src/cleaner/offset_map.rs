//! The key → newest offset map of one cleaning pass, bounded by the dedupe buffer.
//!
//! Built from the dirty range (cleaner checkpoint to the end of the cleanable segments). Keys are
//! stored whole, not hashed as Kafka does, so a collision can never remove a live record; the
//! bound counts key bytes plus a fixed per-entry overhead. When the budget is spent the map stops
//! at a batch boundary and the pass cleans only up to there (`end`); keys a partly indexed batch
//! already added point at records at or past `end`, which the pass keeps, so they only remove
//! older records that really are superseded.

use super::{CleaningPlan, SegmentRef};
use crate::batch::BatchHeader;
use crate::error::LogError;
use crate::record::{parse_records, RawRecord};
use crate::scan::{BatchScanner, Scanned, RECOVERY_CHUNK_BYTES};
use crate::BATCH_HEADER_BYTES;
use std::collections::HashMap;

/// Bytes charged per map entry beyond the key: the hash table slot, the boxed key's pointer and
/// length, the offset, and allocator rounding.
pub(crate) const MAP_ENTRY_OVERHEAD_BYTES: usize = 64;

pub(crate) struct OffsetMap {
    newest: HashMap<Box<[u8]>, i64>,
    used_bytes: usize,
    /// The map covers offsets below this.
    pub(crate) end: i64,
}

impl OffsetMap {
    /// Newest offset of `key` in the dirty range, if the key occurs there.
    pub(crate) fn newest(&self, key: &[u8]) -> Option<i64> {
        self.newest.get(key).copied()
    }

    pub(crate) fn len(&self) -> usize {
        self.newest.len()
    }

    fn insert(&mut self, key: &[u8], offset: i64) {
        match self.newest.get_mut(key) {
            Some(o) => *o = (*o).max(offset),
            None => {
                self.used_bytes += key.len() + MAP_ENTRY_OVERHEAD_BYTES;
                self.newest.insert(key.into(), offset);
            }
        }
    }
}

/// Calls `f` with every CRC-checked batch of `segment`, in order. An invalid batch in a segment
/// that recovery or the append path already validated means the disk changed under us: an error.
pub(crate) fn for_each_batch(
    segment: &SegmentRef,
    mut f: impl FnMut(&BatchHeader, &[u8]) -> Result<bool, LogError>,
) -> Result<(), LogError> {
    let mut scanner = BatchScanner::new(&*segment.file, segment.size, RECOVERY_CHUNK_BYTES);
    let mut position = 0u64;
    loop {
        let io = |e| LogError::io(&segment.log_path, e);
        match scanner.batch_at(position, true).map_err(io)? {
            Scanned::End => return Ok(()),
            Scanned::Invalid(reason) => {
                return Err(LogError::SegmentCorrupt {
                    path: segment.log_path.clone(),
                    position,
                    reason,
                })
            }
            Scanned::Batch(h) => {
                let bytes = scanner.bytes(position, h.size()).map_err(io)?;
                if !f(&h, bytes)? {
                    return Ok(());
                }
                position += h.size() as u64;
            }
        }
    }
}

/// The records of a batch the cleaner may filter: uncompressed plain data whose records parse
/// and whose offset deltas strictly ascend within the batch's offset span. Anything else is kept
/// whole and contributes no keys: the append path validates batches, not records, so a record
/// claiming an offset outside its batch must never be able to supersede real records.
pub(crate) fn filterable_records<'a>(h: &BatchHeader, bytes: &'a [u8]) -> Option<Vec<RawRecord<'a>>> {
    if h.compression_codec() != 0 || h.is_control() || h.is_transactional() {
        return None;
    }
    let records = parse_records(bytes.get(BATCH_HEADER_BYTES..)?, h.record_count).ok()?;
    let mut previous = -1i64;
    for r in &records {
        let delta = i64::from(r.offset_delta);
        if delta <= previous || delta > i64::from(h.last_offset_delta) {
            return None;
        }
        previous = delta;
    }
    Some(records)
}

pub(crate) fn build(plan: &CleaningPlan) -> Result<OffsetMap, LogError> {
    let mut map = OffsetMap {
        newest: HashMap::new(),
        used_bytes: 0,
        end: plan.segments.last().map_or(plan.first_dirty, |s| s.next_offset),
    };
    for segment in plan.segments.iter().filter(|s| s.next_offset > plan.first_dirty) {
        let mut full = false;
        for_each_batch(segment, |h, bytes| {
            if h.last_offset() < plan.first_dirty {
                return Ok(true);
            }
            if map.used_bytes >= plan.dedupe_buffer_bytes {
                map.end = h.base_offset;
                full = true;
                return Ok(false);
            }
            let Some(records) = filterable_records(h, bytes) else {
                return Ok(true);
            };
            for r in records {
                let offset = h.base_offset + i64::from(r.offset_delta);
                if let (Some(key), true) = (r.key, offset >= plan.first_dirty) {
                    map.insert(key, offset);
                }
            }
            Ok(true)
        })?;
        if full {
            break;
        }
    }
    Ok(map)
}
