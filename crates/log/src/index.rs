//! In-memory sparse offset index and time index of one segment, and their file encoding.
//!
//! Both are derived data: they are rebuilt from the `.log` whenever a file is
//! missing or fails `decode`'s checks, and they are written to disk only at roll,
//! flush and close, never per append.
//!
//! Offset index entry (8 bytes, BE): relative base offset u32, file position u32.
//! An entry says "the batch with this base offset starts at this position".
//! Invariant: relative offsets and positions strictly ascending.
//!
//! Time index entry (12 bytes, BE): timestamp i64, relative offset u32. An entry
//! (T, r) says "the largest maxTimestamp among batches with base offset <= base + r
//! is T, and batch r is the first to reach it" (Kafka's maxTimestampSoFar /
//! offsetOfMaxTimestampSoFar). Invariant: timestamps and offsets strictly ascending.

/// Bytes per offset index entry.
pub const OFFSET_INDEX_ENTRY_BYTES: usize = 8;
/// Bytes per time index entry.
pub const TIME_INDEX_ENTRY_BYTES: usize = 12;

/// Sparse map from relative offset to file position.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct OffsetIndex {
    entries: Vec<(u32, u32)>,
}

impl OffsetIndex {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn last(&self) -> Option<(u32, u32)> {
        self.entries.last().copied()
    }

    pub(crate) fn push(&mut self, relative_offset: u32, position: u32) {
        if let Some(&(r, p)) = self.entries.last() {
            assert!(r < relative_offset && p < position, "offset index entries must ascend");
        }
        self.entries.push((relative_offset, position));
    }

    /// Position of the last indexed batch whose base offset is <= `relative_offset`,
    /// or 0 (the segment start) if there is none.
    #[cfg(test)]
    pub(crate) fn lookup(&self, relative_offset: u32) -> u32 {
        self.lookup_entry(relative_offset).map_or(0, |(_, position)| position)
    }

    /// The last entry whose relative offset is <= `relative_offset`, as (relative offset,
    /// position), so a caller can check that the batch at that position really starts there.
    pub(crate) fn lookup_entry(&self, relative_offset: u32) -> Option<(u32, u32)> {
        let i = self.entries.partition_point(|&(r, _)| r <= relative_offset);
        i.checked_sub(1).map(|i| self.entries[i])
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entries.len() * OFFSET_INDEX_ENTRY_BYTES);
        for &(r, p) in &self.entries {
            out.extend_from_slice(&r.to_be_bytes());
            out.extend_from_slice(&p.to_be_bytes());
        }
        out
    }

    /// Decodes an index file; `None` if it is not a whole number of entries, not
    /// strictly ascending, or points at or past `segment_size`.
    pub(crate) fn decode(bytes: &[u8], segment_size: u64) -> Option<OffsetIndex> {
        let entries = bytes.chunks_exact(OFFSET_INDEX_ENTRY_BYTES);
        if !entries.remainder().is_empty() {
            return None;
        }
        let mut index = OffsetIndex::default();
        for e in entries {
            let r = u32::from_be_bytes([e[0], e[1], e[2], e[3]]);
            let p = u32::from_be_bytes([e[4], e[5], e[6], e[7]]);
            if u64::from(p) >= segment_size {
                return None;
            }
            if let Some((lr, lp)) = index.last() {
                if r <= lr || p <= lp {
                    return None;
                }
            }
            index.entries.push((r, p));
        }
        Some(index)
    }
}

/// Sparse map from timestamp to relative offset.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct TimeIndex {
    entries: Vec<(i64, u32)>,
}

impl TimeIndex {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn last(&self) -> Option<(i64, u32)> {
        self.entries.last().copied()
    }

    /// Appends (timestamp, relative offset) if the timestamp is larger than the last
    /// entry's; otherwise the entry would add nothing.
    pub(crate) fn maybe_push(&mut self, timestamp: i64, relative_offset: u32) {
        if let Some(&(t, r)) = self.entries.last() {
            if timestamp <= t {
                // The existing entry already covers this timestamp.
                return;
            }
            assert!(r < relative_offset, "time index offsets must ascend");
        }
        self.entries.push((timestamp, relative_offset));
    }

    /// Relative offset from which to scan for the first batch with maxTimestamp >=
    /// `timestamp`: the offset of the last entry whose timestamp is < `timestamp`
    /// (every batch up to it is too old), or `None` to scan from the segment start.
    pub(crate) fn lookup(&self, timestamp: i64) -> Option<u32> {
        let i = self.entries.partition_point(|&(t, _)| t < timestamp);
        if i == 0 {
            None
        } else {
            Some(self.entries[i - 1].1)
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entries.len() * TIME_INDEX_ENTRY_BYTES);
        for &(t, r) in &self.entries {
            out.extend_from_slice(&t.to_be_bytes());
            out.extend_from_slice(&r.to_be_bytes());
        }
        out
    }

    /// Decodes a time index file; `None` if it is not a whole number of entries,
    /// not strictly ascending, or names an offset beyond `max_relative_offset`.
    pub(crate) fn decode(bytes: &[u8], max_relative_offset: u32) -> Option<TimeIndex> {
        let entries = bytes.chunks_exact(TIME_INDEX_ENTRY_BYTES);
        if !entries.remainder().is_empty() {
            return None;
        }
        let mut index = TimeIndex::default();
        for e in entries {
            let mut t = [0u8; 8];
            t.copy_from_slice(&e[..8]);
            let t = i64::from_be_bytes(t);
            let r = u32::from_be_bytes([e[8], e[9], e[10], e[11]]);
            if r > max_relative_offset {
                return None;
            }
            if let Some((lt, lr)) = index.last() {
                if t <= lt || r <= lr {
                    return None;
                }
            }
            index.entries.push((t, r));
        }
        Some(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_index_lookup_returns_floor_entry_or_zero() {
        let mut idx = OffsetIndex::default();
        idx.push(10, 100);
        idx.push(20, 200);
        assert_eq!(idx.lookup(5), 0);
        assert_eq!(idx.lookup(10), 100);
        assert_eq!(idx.lookup(19), 100);
        assert_eq!(idx.lookup(25), 200);
    }

    #[test]
    fn offset_index_decode_round_trips_and_rejects_garbage() {
        let mut idx = OffsetIndex::default();
        idx.push(1, 10);
        idx.push(2, 20);
        let bytes = idx.encode();
        assert_eq!(OffsetIndex::decode(&bytes, 21), Some(idx));
        assert_eq!(OffsetIndex::decode(&bytes, 20), None, "position past segment end");
        assert_eq!(OffsetIndex::decode(&bytes[..7], 100), None, "partial entry");
        assert_eq!(OffsetIndex::decode(&[0u8; 16], 100), None, "not ascending");
    }

    #[test]
    fn time_index_lookup_finds_last_entry_strictly_older() {
        let mut idx = TimeIndex::default();
        idx.maybe_push(100, 0);
        idx.maybe_push(100, 3); // not larger: ignored
        idx.maybe_push(200, 5);
        assert_eq!(idx.len(), 2);
        assert_eq!(idx.lookup(100), None);
        assert_eq!(idx.lookup(101), Some(0));
        assert_eq!(idx.lookup(201), Some(5));
    }

    #[test]
    fn time_index_decode_rejects_offsets_past_segment() {
        let mut idx = TimeIndex::default();
        idx.maybe_push(1, 0);
        idx.maybe_push(2, 4);
        let bytes = idx.encode();
        assert_eq!(TimeIndex::decode(&bytes, 4), Some(idx));
        assert_eq!(TimeIndex::decode(&bytes, 3), None);
        assert_eq!(TimeIndex::decode(&bytes[..11], 4), None);
    }
}
