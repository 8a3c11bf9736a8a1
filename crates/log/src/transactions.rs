//! Transaction state of one partition (KIP-98): which producers have a transaction open here
//! (and the offset of its first batch), and which transactions ended in an abort marker.
//!
//! From these come the last stable offset (the high watermark, or the first offset of the
//! earliest open transaction if lower) and the aborted-transaction list a read_committed Fetch
//! carries, so the consumer can drop aborted records. Like the producer state this is derived
//! data: `record` is applied to every batch that reaches the log, live or while rebuilding on
//! open (`txn_index.rs`), so the same log always yields the same state.
//!
//! A transactional batch opens (or continues) its producer's transaction; a control batch — a
//! commit or abort marker, written only by the broker (`Log::append_marker`) — ends it. A marker
//! for a producer with nothing open here ends nothing (the coordinator may repeat markers after
//! a restart). Control batches are never accepted from clients.

use std::collections::BTreeMap;

use crate::batch::{BatchHeader, BATCH_HEADER_BYTES, LOG_OVERHEAD_BYTES, MAGIC_V2};

/// attributes bit 4 (transactional) and bit 5 (control), per the protocol guide "Control Batches".
pub const CONTROL_BATCH_ATTRIBUTES: i16 = 0x10 | 0x20;

/// The control record type in a marker's key (protocol guide: 0 abort, 1 commit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlType {
    Abort,
    Commit,
}

impl ControlType {
    fn code(self) -> i16 {
        match self {
            ControlType::Abort => 0,
            ControlType::Commit => 1,
        }
    }

    fn from_code(code: i16) -> Option<ControlType> {
        match code {
            0 => Some(ControlType::Abort),
            1 => Some(ControlType::Commit),
            _ => None,
        }
    }
}

/// One aborted transaction: its producer, first offset, and the offset of its abort marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    pub last_offset: i64,
}

/// Open transactions and aborted ones of one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxnState {
    /// producer id -> offset of the first batch of its open transaction.
    pub(crate) ongoing: BTreeMap<i64, i64>,
    /// Ascending by `last_offset` (markers are appended in offset order).
    pub(crate) aborted: Vec<AbortedTxn>,
}

impl TxnState {
    /// Applies one batch now in the log; `marker` is the control type of a control batch.
    pub fn record(&mut self, h: &BatchHeader, marker: Option<ControlType>) {
        if h.producer_id < 0 || !h.is_transactional() {
            return;
        }
        if !h.is_control() {
            self.ongoing.entry(h.producer_id).or_insert(h.base_offset);
            return;
        }
        let Some(first_offset) = self.ongoing.remove(&h.producer_id) else {
            return;
        };
        if marker == Some(ControlType::Abort) {
            debug_assert!(self.aborted.last().is_none_or(|a| a.last_offset < h.base_offset));
            self.aborted.push(AbortedTxn {
                producer_id: h.producer_id,
                first_offset,
                last_offset: h.base_offset,
            });
        }
    }

    /// First offset of the earliest open transaction, if any.
    pub fn first_unstable_offset(&self) -> Option<i64> {
        self.ongoing.values().min().copied()
    }

    /// Producers with a transaction open here, and each one's first offset.
    pub fn ongoing(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.ongoing.iter().map(|(p, o)| (*p, *o))
    }

    /// Aborted transactions that overlap `[from, to)`: what a Fetch reading that range must list.
    pub fn aborted_overlapping(&self, from: i64, to: i64) -> Vec<AbortedTxn> {
        let start = self.aborted.partition_point(|a| a.last_offset < from);
        self.aborted[start..]
            .iter()
            .filter(|a| a.first_offset < to)
            .copied()
            .collect()
    }

    /// Forgets aborted transactions wholly below `offset` (deleted by retention or DeleteRecords),
    /// so the list is bounded by what the log still holds.
    pub(crate) fn forget_below(&mut self, offset: i64) {
        let keep_from = self.aborted.partition_point(|a| a.last_offset < offset);
        self.aborted.drain(..keep_from);
    }
}

fn put_varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// Reads one zigzag varint from `b` at `*at`; `None` if it runs past the end or past 10 bytes.
fn get_varint(b: &[u8], at: &mut usize) -> Option<i64> {
    let mut z = 0u64;
    for shift in (0..70).step_by(7) {
        let byte = *b.get(*at)?;
        *at += 1;
        z |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(((z >> 1) as i64) ^ -((z & 1) as i64));
        }
    }
    None
}

/// A control batch holding one end-transaction marker (protocol guide "Control Batches"): key
/// version 0 and the control type, value version 0 and the coordinator epoch. The base offset
/// is 0; the log assigns the real one.
pub fn control_batch(
    producer_id: i64,
    producer_epoch: i16,
    coordinator_epoch: i32,
    marker: ControlType,
    now_ms: i64,
) -> Vec<u8> {
    let mut record = vec![0u8]; // attributes
    put_varint(&mut record, 0); // timestamp delta
    put_varint(&mut record, 0); // offset delta
    put_varint(&mut record, 4);
    record.extend(0i16.to_be_bytes());
    record.extend(marker.code().to_be_bytes());
    put_varint(&mut record, 6);
    record.extend(0i16.to_be_bytes());
    record.extend(coordinator_epoch.to_be_bytes());
    put_varint(&mut record, 0); // headers
    let mut body = Vec::with_capacity(record.len() + 2);
    put_varint(&mut body, record.len() as i64);
    body.extend(record);

    let mut b = Vec::with_capacity(BATCH_HEADER_BYTES + body.len());
    b.extend(0i64.to_be_bytes());
    b.extend(((BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES + body.len()) as i32).to_be_bytes());
    b.extend(0i32.to_be_bytes()); // partition leader epoch
    b.push(MAGIC_V2 as u8);
    b.extend(0u32.to_be_bytes()); // crc, set below
    b.extend(CONTROL_BATCH_ATTRIBUTES.to_be_bytes());
    b.extend(0i32.to_be_bytes()); // last offset delta
    b.extend(now_ms.to_be_bytes());
    b.extend(now_ms.to_be_bytes());
    b.extend(producer_id.to_be_bytes());
    b.extend(producer_epoch.to_be_bytes());
    b.extend((-1i32).to_be_bytes()); // base sequence: markers carry none
    b.extend(1i32.to_be_bytes());
    b.extend(body);
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

/// Bytes after the header that hold a marker's key: a record header is at most 1 + 1 + 10 + 5
/// + 5 varint bytes, then the 4-byte key.
pub(crate) const MARKER_KEY_PROBE_BYTES: usize = 26;

/// The control type in the first record of a control batch, given the bytes right after its
/// 61-byte header (at least the record's start). `None` if they do not hold a known marker key.
pub(crate) fn parse_marker(after_header: &[u8]) -> Option<ControlType> {
    let mut at = 0usize;
    get_varint(after_header, &mut at)?; // record length
    at += 1; // attributes
    get_varint(after_header, &mut at)?; // timestamp delta
    get_varint(after_header, &mut at)?; // offset delta
    if get_varint(after_header, &mut at)? < 4 {
        return None;
    }
    let key = after_header.get(at..at + 4)?;
    ControlType::from_code(i16::from_be_bytes([key[2], key[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::validate_batches;
    use crate::testing::BatchBuilder;

    fn txn_batch(pid: i64, base_offset: i64) -> BatchHeader {
        let bytes = BatchBuilder::new(2).producer(pid, 0, 0).attributes(0x10).build();
        BatchHeader {
            base_offset,
            ..BatchHeader::parse(&bytes).expect("header")
        }
    }

    fn marker(pid: i64, base_offset: i64) -> BatchHeader {
        let bytes = control_batch(pid, 0, 0, ControlType::Abort, 5);
        BatchHeader {
            base_offset,
            ..BatchHeader::parse(&bytes).expect("header")
        }
    }

    #[test]
    fn control_batch_is_a_valid_control_batch_with_its_marker_readable() {
        for t in [ControlType::Abort, ControlType::Commit] {
            let bytes = control_batch(7, 3, 1, t, 99);
            let info = validate_batches(&bytes, 1 << 20).expect("valid");
            let h = info.batches[0];
            assert!(h.is_control() && h.is_transactional());
            assert_eq!((h.producer_id, h.producer_epoch, h.base_sequence), (7, 3, -1));
            assert_eq!(parse_marker(&bytes[BATCH_HEADER_BYTES..]), Some(t));
        }
    }

    #[test]
    fn record_abort_marker_ends_transaction_and_lists_it_commit_does_not() {
        let mut s = TxnState::default();
        s.record(&txn_batch(1, 10), None);
        s.record(&txn_batch(2, 12), None);
        s.record(&txn_batch(1, 14), None);
        assert_eq!(s.first_unstable_offset(), Some(10));
        s.record(&marker(1, 16), Some(ControlType::Abort));
        assert_eq!(s.first_unstable_offset(), Some(12));
        s.record(&marker(2, 17), Some(ControlType::Commit));
        assert_eq!(s.first_unstable_offset(), None);
        let aborted = AbortedTxn {
            producer_id: 1,
            first_offset: 10,
            last_offset: 16,
        };
        assert_eq!(s.aborted, vec![aborted]);
        assert_eq!(s.aborted_overlapping(0, 10), vec![]);
        assert_eq!(s.aborted_overlapping(16, 100), vec![aborted]);
        assert_eq!(s.aborted_overlapping(17, 100), vec![]);
        // A repeated marker (coordinator retry) ends nothing.
        s.record(&marker(1, 18), Some(ControlType::Abort));
        assert_eq!(s.aborted.len(), 1);
        s.forget_below(17);
        assert!(s.aborted.is_empty());
    }

    #[test]
    fn parse_marker_truncated_or_unknown_type_is_none() {
        let bytes = control_batch(7, 3, 1, ControlType::Commit, 99);
        let after = &bytes[BATCH_HEADER_BYTES..];
        for cut in 0..8 {
            assert_eq!(parse_marker(&after[..cut]), None, "cut {cut}");
        }
        let mut unknown = after.to_vec();
        unknown[8] = 9;
        assert_eq!(parse_marker(&unknown), None);
    }
}
