//! Producer state snapshots: `{offset:020}.snapshot` files, like Kafka's, holding the producer
//! state of every batch below `offset`, so opening a log replays only the batches after it.
//!
//! A snapshot is derived data. It is written to `<name>.tmp` and renamed into place; at a roll it
//! is not fsynced (the append path never fsyncs under the partition lock), at a clean close it is.
//! A torn or stale file is therefore possible after a power loss, and harmless: the CRC-32C
//! covers every byte after its own field, a file that fails it (or any bound) is ignored, and the
//! state is rebuilt from an older snapshot or from the segments. Only the newest
//! [`SNAPSHOTS_KEPT`] files are kept. Byte layout: docs/ON_DISK_FORMAT.md.

use crate::config::MAX_PRODUCERS_CEILING;
use crate::error::LogError;
use crate::producer_state::{BatchMetadata, ProducerEntry, ProducerState, BATCHES_PER_PRODUCER};
use crate::storage::Storage;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};

pub(crate) const SNAPSHOT_SUFFIX: &str = "snapshot";
const MAGIC: &[u8; 4] = b"WPST";
const VERSION: u16 = 1;
/// magic 4, version 2, crc 4, offset 8, entry count 4.
const HEADER_BYTES: usize = 22;
/// The CRC covers everything from here on.
const CRC_FROM: usize = 10;
/// producer id 8, epoch 2, last append ms 8, batch count 1.
const ENTRY_HEADER_BYTES: usize = 19;
/// first sequence 4, last sequence 4, base offset 8, last offset 8, max timestamp 8.
const BATCH_BYTES: usize = 32;
const MAX_ENTRY_BYTES: usize = ENTRY_HEADER_BYTES + BATCHES_PER_PRODUCER * BATCH_BYTES;
/// No snapshot we write is larger; a larger file is ignored without being read.
pub(crate) const MAX_SNAPSHOT_BYTES: u64 = (HEADER_BYTES + MAX_PRODUCERS_CEILING * MAX_ENTRY_BYTES) as u64;
/// Snapshots kept: the newest, and one older in case the newest was torn by a power loss.
pub(crate) const SNAPSHOTS_KEPT: usize = 2;

pub(crate) fn snapshot_path(dir: &Path, offset: i64) -> PathBuf {
    crate::segment::segment_path(dir, offset, SNAPSHOT_SUFFIX)
}

/// Serialises `state` as of `offset`.
pub(crate) fn encode(state: &ProducerState, offset: i64) -> Vec<u8> {
    let mut ids: Vec<(&i64, &ProducerEntry)> = state.entries().collect();
    ids.sort_by_key(|(id, _)| **id);
    let mut out = Vec::with_capacity(HEADER_BYTES + ids.len() * MAX_ENTRY_BYTES);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_be_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&offset.to_be_bytes());
    out.extend_from_slice(&(ids.len() as u32).to_be_bytes());
    for (id, e) in ids {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&e.producer_epoch.to_be_bytes());
        out.extend_from_slice(&e.last_append_ms.to_be_bytes());
        out.push(e.batches.len() as u8);
        for b in &e.batches {
            out.extend_from_slice(&b.first_sequence.to_be_bytes());
            out.extend_from_slice(&b.last_sequence.to_be_bytes());
            out.extend_from_slice(&b.base_offset.to_be_bytes());
            out.extend_from_slice(&b.last_offset.to_be_bytes());
            out.extend_from_slice(&b.max_timestamp.to_be_bytes());
        }
    }
    let crc = crc32c::crc32c(&out[CRC_FROM..]);
    out[6..10].copy_from_slice(&crc.to_be_bytes());
    out
}

/// Checked big-endian reads over a byte slice.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let end = self.at.checked_add(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes.get(self.at..end)?);
        self.at = end;
        Some(a)
    }
    fn i64(&mut self) -> Option<i64> {
        self.take().map(i64::from_be_bytes)
    }
    fn i32(&mut self) -> Option<i32> {
        self.take().map(i32::from_be_bytes)
    }
    fn i16(&mut self) -> Option<i16> {
        self.take().map(i16::from_be_bytes)
    }
}

/// Parses a snapshot: `(offset, state)`, or `None` if anything is off (torn, foreign, corrupt,
/// or an entry that breaks an invariant the live path keeps).
pub(crate) fn decode(bytes: &[u8], max_producers: usize, expiration_ms: i64) -> Option<(i64, ProducerState)> {
    if bytes.len() < HEADER_BYTES || &bytes[..4] != MAGIC || bytes[4..6] != VERSION.to_be_bytes() {
        return None;
    }
    let crc = u32::from_be_bytes(bytes[6..10].try_into().ok()?);
    if crc32c::crc32c(&bytes[CRC_FROM..]) != crc {
        return None;
    }
    let mut r = Reader { bytes, at: CRC_FROM };
    let offset = r.i64().filter(|o| *o >= 0)?;
    let count = r.take::<4>().map(u32::from_be_bytes)? as usize;
    if count > MAX_PRODUCERS_CEILING {
        return None;
    }
    // Decoded with the ceiling, then cut to the configured limit (which may have shrunk).
    let mut state = ProducerState::new(MAX_PRODUCERS_CEILING, expiration_ms);
    for _ in 0..count {
        let id = r.i64().filter(|id| *id >= 0)?;
        let producer_epoch = r.i16()?;
        let last_append_ms = r.i64()?;
        let n = usize::from(r.take::<1>()?[0]);
        // 0: known only by its epoch (a transaction marker moved it and cleared its batches).
        if n > BATCHES_PER_PRODUCER {
            return None;
        }
        let mut batches = VecDeque::with_capacity(n);
        for _ in 0..n {
            let b = BatchMetadata {
                first_sequence: r.i32()?,
                last_sequence: r.i32()?,
                base_offset: r.i64()?,
                last_offset: r.i64()?,
                max_timestamp: r.i64()?,
            };
            if b.base_offset > b.last_offset || b.last_offset >= offset {
                return None;
            }
            batches.push_back(b);
        }
        state.insert(
            id,
            ProducerEntry {
                producer_epoch,
                batches,
                last_append_ms,
            },
        );
    }
    if r.at != bytes.len() || state.len() != count {
        return None;
    }
    state.set_limits(max_producers, expiration_ms);
    Some((offset, state))
}

/// Offsets of the snapshot files in `dir`, ascending.
pub(crate) fn list_snapshots(storage: &dyn Storage, dir: &Path) -> Result<Vec<i64>, LogError> {
    let names = storage.list_dir(dir).map_err(|e| LogError::io(dir, e))?;
    let mut offsets: Vec<i64> = names
        .iter()
        .filter_map(|n| crate::open::parse_segment_name(n, SNAPSHOT_SUFFIX))
        .collect();
    offsets.sort_unstable();
    Ok(offsets)
}

/// Reads and decodes the snapshot at `offset`; `Ok(None)` if it is unusable.
pub(crate) fn read_snapshot(
    storage: &dyn Storage,
    dir: &Path,
    offset: i64,
    max_producers: usize,
    expiration_ms: i64,
) -> Result<Option<ProducerState>, LogError> {
    let path = snapshot_path(dir, offset);
    let f = storage.open(&path).map_err(|e| LogError::io(&path, e))?;
    let len = f.file_len().map_err(|e| LogError::io(&path, e))?;
    if len > MAX_SNAPSHOT_BYTES {
        return Ok(None);
    }
    let mut buf = vec![0u8; len as usize];
    f.read_exact_at(&mut buf, 0).map_err(|e| LogError::io(&path, e))?;
    Ok(decode(&buf, max_producers, expiration_ms)
        .filter(|(o, _)| *o == offset)
        .map(|(_, s)| s))
}

/// Writes the snapshot of `state` at `offset` (tmp + rename; fsynced when `durable`), then removes
/// all but the newest [`SNAPSHOTS_KEPT`].
pub(crate) fn write_snapshot(
    storage: &dyn Storage,
    dir: &Path,
    state: &ProducerState,
    offset: i64,
    durable: bool,
) -> Result<(), LogError> {
    let path = snapshot_path(dir, offset);
    let tmp = dir.join(format!(
        "{offset:020}.{SNAPSHOT_SUFFIX}{}",
        crate::checkpoint::TEMP_SUFFIX
    ));
    let f = storage.create(&tmp).map_err(|e| LogError::io(&tmp, e))?;
    f.write_all_at(&encode(state, offset), 0)
        .map_err(|e| LogError::io(&tmp, e))?;
    if durable {
        f.sync_data().map_err(|e| LogError::io(&tmp, e))?;
    }
    storage.rename(&tmp, &path).map_err(|e| LogError::io(&path, e))?;
    let offsets = list_snapshots(storage, dir)?;
    for old in offsets.iter().rev().skip(SNAPSHOTS_KEPT) {
        let p = snapshot_path(dir, *old);
        storage.remove(&p).map_err(|e| LogError::io(&p, e))?;
    }
    if durable {
        storage.sync_dir(dir).map_err(|e| LogError::io(dir, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::BatchBuilder;
    use crate::BatchHeader;

    fn sample() -> ProducerState {
        let mut s = ProducerState::new(10, 1000);
        for (pid, seq, offset) in [(3, 0, 0), (3, 1, 1), (7, 10, 2), (3, 2, 3)] {
            let bytes = BatchBuilder::new(1).producer(pid, 2, seq).build();
            let h = BatchHeader {
                base_offset: offset,
                ..BatchHeader::parse(&bytes).expect("header")
            };
            s.record(&h, 500 + offset);
        }
        s
    }

    #[test]
    fn decode_encoded_snapshot_returns_same_state() {
        let s = sample();
        let bytes = encode(&s, 4);
        assert_eq!(decode(&bytes, 10, 1000), Some((4, s)));
    }

    #[test]
    fn decode_any_cut_or_flipped_byte_is_rejected() {
        let bytes = encode(&sample(), 4);
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut], 10, 1000).is_none(), "cut at {cut}");
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x40;
            assert!(decode(&b, 10, 1000).is_none(), "flipped byte {i}");
        }
    }

    #[test]
    fn decode_batch_at_or_past_offset_is_rejected() {
        // A snapshot claiming state as of offset 3 cannot name a batch ending at offset 3.
        assert!(decode(&encode(&sample(), 3), 10, 1000).is_none());
    }

    proptest::proptest! {
        #[test]
        fn decode_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = decode(&bytes, 10, 1000);
        }

        #[test]
        fn decode_valid_header_with_arbitrary_body_never_panics(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            // A body behind a correct CRC reaches the field checks.
            let mut bytes = encode(&ProducerState::new(10, 1000), 1 << 40);
            bytes.truncate(HEADER_BYTES - 4);
            bytes.extend_from_slice(&((body.len() / 40) as u32).to_be_bytes());
            bytes.extend_from_slice(&body);
            let crc = crc32c::crc32c(&bytes[CRC_FROM..]);
            bytes[6..10].copy_from_slice(&crc.to_be_bytes());
            if let Some((_, state)) = decode(&bytes, 10, 1000) {
                proptest::prop_assert!(state.len() <= 10);
            }
        }
    }

    #[test]
    fn decode_with_smaller_limit_evicts_down_to_it() {
        let (_, s) = decode(&encode(&sample(), 4), 1, 1000).expect("valid");
        assert_eq!(s.len(), 1);
        assert!(s.get(3).is_some(), "the most recently appended producer stays");
    }
}
