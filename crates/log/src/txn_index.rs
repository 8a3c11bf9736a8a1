//! The log's side of transaction state: `{base_offset:020}.txnindex` files, one per rolled
//! segment, rebuilding the state on open, and writing end-transaction markers.
//!
//! A `.txnindex` holds what a segment contributes: the aborted transactions whose abort marker
//! lies in it, and the transactions still open at its end (producer id and first offset). It is
//! derived data, like the offset index: written at roll without an fsync, covered by a CRC-32C
//! and by the segment's base and next offset, so a torn, stale or missing file is simply rebuilt
//! by scanning that segment's batch headers (and each control batch's first record key) — and
//! then rewritten. Opening therefore reads one small file per rolled segment and scans only the
//! active segment, as for the producer snapshot. Kafka keeps only aborted transactions in its
//! `.txnindex` and takes open ones from the producer snapshot; keeping both here leaves the
//! snapshot format alone. Byte layout: docs/ON_DISK_FORMAT.md.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::batch::{validate_batches, BATCH_HEADER_BYTES};
use crate::error::LogError;
use crate::log::{AppendInfo, Log};
use crate::segment::{segment_path, Segment};
use crate::storage::Storage;
use crate::transactions::{control_batch, parse_marker, AbortedTxn, ControlType, TxnState, MARKER_KEY_PROBE_BYTES};

pub(crate) const TXN_INDEX_SUFFIX: &str = "txnindex";
const MAGIC: &[u8; 4] = b"WTXI";
const VERSION: u16 = 1;
/// magic 4, version 2, crc 4, base offset 8, next offset 8, aborted count 4, ongoing count 4.
const HEADER_BYTES: usize = 34;
/// The CRC covers everything from here on.
const CRC_FROM: usize = 10;
const ABORTED_BYTES: usize = 24;
const ONGOING_BYTES: usize = 16;
/// A larger file is ignored without being read (and the segment rescanned): about 2.8 million
/// aborted transactions in one segment, far past anything a segment's worth of markers holds.
const MAX_TXN_INDEX_BYTES: u64 = 64 * 1024 * 1024;

fn index_path(segment: &Segment, dir: &std::path::Path) -> PathBuf {
    segment_path(dir, segment.base_offset, TXN_INDEX_SUFFIX)
}

fn encode(segment: &Segment, state: &TxnState) -> Vec<u8> {
    let aborted: Vec<&AbortedTxn> = state
        .aborted
        .iter()
        .filter(|a| a.last_offset >= segment.base_offset && a.last_offset < segment.next_offset)
        .collect();
    let mut b = Vec::with_capacity(HEADER_BYTES + aborted.len() * ABORTED_BYTES + state.ongoing.len() * ONGOING_BYTES);
    b.extend(MAGIC);
    b.extend(VERSION.to_be_bytes());
    b.extend(0u32.to_be_bytes());
    b.extend(segment.base_offset.to_be_bytes());
    b.extend(segment.next_offset.to_be_bytes());
    b.extend((aborted.len() as u32).to_be_bytes());
    b.extend((state.ongoing.len() as u32).to_be_bytes());
    for a in aborted {
        b.extend(a.producer_id.to_be_bytes());
        b.extend(a.first_offset.to_be_bytes());
        b.extend(a.last_offset.to_be_bytes());
    }
    for (pid, first) in &state.ongoing {
        b.extend(pid.to_be_bytes());
        b.extend(first.to_be_bytes());
    }
    let crc = crc32c::crc32c(&b[CRC_FROM..]);
    b[6..10].copy_from_slice(&crc.to_be_bytes());
    b
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Decodes a file written for `segment`: its aborted transactions and the open ones at its end.
/// `None` on any mismatch (wrong segment, stale end, bad CRC, counts that disagree with the size).
fn decode(b: &[u8], segment: &Segment) -> Option<(Vec<AbortedTxn>, BTreeMap<i64, i64>)> {
    if b.len() < HEADER_BYTES || &b[..4] != MAGIC || b[4..6] != VERSION.to_be_bytes() {
        return None;
    }
    if be_u32(b, 6) != crc32c::crc32c(&b[CRC_FROM..]) {
        return None;
    }
    if be_i64(b, 10) != segment.base_offset || be_i64(b, 18) != segment.next_offset {
        return None;
    }
    let (n_aborted, n_ongoing) = (be_u32(b, 26) as usize, be_u32(b, 30) as usize);
    let body = n_aborted
        .checked_mul(ABORTED_BYTES)?
        .checked_add(n_ongoing.checked_mul(ONGOING_BYTES)?)?;
    if b.len() - HEADER_BYTES != body {
        return None;
    }
    let mut at = HEADER_BYTES;
    let mut aborted = Vec::with_capacity(n_aborted);
    for _ in 0..n_aborted {
        aborted.push(AbortedTxn {
            producer_id: be_i64(b, at),
            first_offset: be_i64(b, at + 8),
            last_offset: be_i64(b, at + 16),
        });
        at += ABORTED_BYTES;
    }
    let mut ongoing = BTreeMap::new();
    for _ in 0..n_ongoing {
        ongoing.insert(be_i64(b, at), be_i64(b, at + 8));
        at += ONGOING_BYTES;
    }
    Some((aborted, ongoing))
}

fn read_index(storage: &dyn Storage, path: &std::path::Path, segment: &Segment) -> Result<Option<Vec<u8>>, LogError> {
    if !storage.exists(path).map_err(|e| LogError::io(path, e))? {
        return Ok(None);
    }
    let f = storage.open(path).map_err(|e| LogError::io(path, e))?;
    let len = f.file_len().map_err(|e| LogError::io(path, e))?;
    if len > MAX_TXN_INDEX_BYTES || len < HEADER_BYTES as u64 {
        tracing::warn!(path = %path.display(), base_offset = segment.base_offset, "ignoring transaction index of unexpected size");
        return Ok(None);
    }
    let mut buf = vec![0u8; len as usize];
    f.read_exact_at(&mut buf, 0).map_err(|e| LogError::io(path, e))?;
    Ok(Some(buf))
}

/// Applies every batch of `segment` to `state`, reading each control batch's marker type.
fn scan_segment(segment: &Segment, state: &mut TxnState) -> Result<(), LogError> {
    let mut position = 0u64;
    let mut failed: Option<LogError> = None;
    segment.for_each_batch_from(segment.base_offset, |h| {
        let at = position;
        position += h.size() as u64;
        if failed.is_some() {
            return;
        }
        if !(h.is_control() && h.is_transactional()) {
            state.record(h, None);
            return;
        }
        let probe = MARKER_KEY_PROBE_BYTES.min(h.size() - BATCH_HEADER_BYTES);
        let mut key = vec![0u8; probe];
        match segment.file.read_exact_at(&mut key, at + BATCH_HEADER_BYTES as u64) {
            Ok(()) => state.record(h, parse_marker(&key)),
            Err(e) => failed = Some(LogError::io(&segment.log_path, e)),
        }
    })?;
    failed.map_or(Ok(()), Err)
}

impl Log {
    /// This partition's open and aborted transactions.
    pub fn txn_state(&self) -> &TxnState {
        &self.txns
    }

    /// The high watermark (log end offset: one replica), or the first offset of the earliest
    /// open transaction if that is lower. read_committed consumers read only below it.
    pub fn last_stable_offset(&self) -> i64 {
        let high_watermark = self.log_end_offset();
        self.txns
            .first_unstable_offset()
            .map_or(high_watermark, |first| first.min(high_watermark))
    }

    /// Appends a commit or abort marker for `producer_id` (KIP-98), ending its transaction in
    /// this partition. The epoch may be newer than the producer's (an abort after a timeout
    /// bumps it), which fences the older one here too; an older one is refused.
    pub fn append_marker(
        &mut self,
        producer_id: i64,
        producer_epoch: i16,
        coordinator_epoch: i32,
        marker: ControlType,
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        self.check_not_failed()?;
        if let Some(e) = self.producers.get(producer_id) {
            if producer_epoch < e.producer_epoch {
                return Err(LogError::InvalidProducerEpoch {
                    producer_id,
                    producer_epoch,
                    current_epoch: e.producer_epoch,
                });
            }
        }
        let batch = control_batch(producer_id, producer_epoch, coordinator_epoch, marker, now_ms);
        let info = validate_batches(&batch, u32::MAX)?;
        self.write_validated(&batch, &info, now_ms, Some(marker))
    }

    /// Writes the closing segment's `.txnindex` (at roll; not fsynced: it is rebuilt if lost)
    /// and forgets aborted transactions below the log start offset.
    pub(crate) fn write_txn_index(&mut self) -> Result<(), LogError> {
        self.txns.forget_below(self.log_start_offset);
        let segment = self.active();
        let path = index_path(segment, &self.dir);
        let bytes = encode(segment, &self.txns);
        let written = self
            .storage
            .create(&path)
            .and_then(|f| f.write_all_at(&bytes, 0))
            .map_err(|e| LogError::io(&path, e));
        self.fail_on_io(written)
    }

    /// Rebuilds the transaction state on open: each rolled segment's `.txnindex` (rescanning and
    /// rewriting any that is missing or does not match), then the active segment's batches.
    pub(crate) fn load_txn_state(&mut self) -> Result<(), LogError> {
        let storage = Arc::clone(&self.storage);
        let mut state = TxnState::default();
        let (active, rolled) = self.segments.split_last().expect("a log always has an active segment");
        for segment in rolled {
            let path = index_path(segment, &self.dir);
            match read_index(&*storage, &path, segment)?.and_then(|b| decode(&b, segment)) {
                Some((aborted, ongoing)) => {
                    state.aborted.extend(aborted);
                    state.ongoing = ongoing;
                }
                None => {
                    scan_segment(segment, &mut state)?;
                    let bytes = encode(segment, &state);
                    storage
                        .create(&path)
                        .and_then(|f| f.write_all_at(&bytes, 0))
                        .map_err(|e| LogError::io(&path, e))?;
                }
            }
        }
        scan_segment(active, &mut state)?;
        state.forget_below(self.log_start_offset);
        tracing::debug!(dir = %self.dir.display(), ongoing = state.ongoing.len(), aborted = state.aborted.len(), "transaction state loaded");
        self.txns = state;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{tiny_config, BatchBuilder};
    use crate::transactions::ControlType;
    use crate::Log;

    fn txn(pid: i64, seq: i32) -> Vec<u8> {
        BatchBuilder::new(2).producer(pid, 0, seq).attributes(0x10).build()
    }

    #[test]
    fn last_stable_offset_without_transactions_is_log_end_offset() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = Log::open(dir.path(), tiny_config(), 0).expect("open");
        log.append(&BatchBuilder::new(3).build(), 0).expect("append");
        assert_eq!(log.last_stable_offset(), 3);
    }

    #[test]
    fn open_transaction_holds_last_stable_offset_until_marker_and_survives_reopen_and_rolls() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = Log::open(dir.path(), tiny_config(), 0).expect("open");
        log.append(&BatchBuilder::new(1).build(), 0).expect("plain");
        log.append(&txn(1, 0), 0).expect("txn 1");
        log.append(&txn(2, 0), 0).expect("txn 2");
        // Enough plain data to roll several tiny segments while both are open.
        for _ in 0..20 {
            log.append(&BatchBuilder::new(1).value_len(200).build(), 0)
                .expect("plain");
        }
        assert!(log.segment_count() > 2, "segments rolled");
        assert_eq!(log.last_stable_offset(), 1);
        let marker = log.append_marker(1, 0, 0, ControlType::Abort, 0).expect("abort");
        assert_eq!(log.last_stable_offset(), 3);
        for _ in 0..20 {
            log.append(&BatchBuilder::new(1).value_len(200).build(), 0)
                .expect("plain");
        }
        log.close_in_place().expect("close");
        drop(log);
        let mut log = Log::open(dir.path(), tiny_config(), 0).expect("reopen");
        assert_eq!(log.last_stable_offset(), 3, "producer 2 still open after reopen");
        let aborted = log.txn_state().aborted_overlapping(0, i64::MAX);
        assert_eq!(aborted.len(), 1);
        assert_eq!(
            (aborted[0].first_offset, aborted[0].last_offset),
            (1, marker.base_offset)
        );
        log.append_marker(2, 0, 0, ControlType::Commit, 0).expect("commit");
        assert_eq!(log.last_stable_offset(), log.log_end_offset());
        // Without the .txnindex files the same state is rebuilt by scanning.
        log.close_in_place().expect("close");
        drop(log);
        for e in std::fs::read_dir(dir.path()).expect("ls") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "txnindex") {
                std::fs::remove_file(&p).expect("rm");
            }
        }
        let log = Log::open(dir.path(), tiny_config(), 0).expect("reopen");
        assert_eq!(log.last_stable_offset(), log.log_end_offset());
        assert_eq!(log.txn_state().aborted_overlapping(0, i64::MAX), aborted);
    }

    #[test]
    fn decode_truncated_stale_or_flipped_file_is_none_never_panics() {
        use super::{decode, encode};
        use crate::transactions::{AbortedTxn, TxnState};
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = Log::open(dir.path(), tiny_config(), 0).expect("open");
        log.append(&BatchBuilder::new(5).build(), 0).expect("append");
        let segment = log.active();
        let mut state = TxnState::default();
        state.ongoing.insert(7, 3);
        state.aborted.push(AbortedTxn {
            producer_id: 5,
            first_offset: 0,
            last_offset: 4,
        });
        let bytes = encode(segment, &state);
        let (aborted, ongoing) = decode(&bytes, segment).expect("round trip");
        assert_eq!((aborted, ongoing), (state.aborted.clone(), state.ongoing.clone()));
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut], segment).is_none(), "cut {cut}");
        }
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x40;
            assert!(decode(&flipped, segment).is_none(), "flipped byte {i}");
        }
    }

    #[test]
    fn append_control_batch_from_client_is_invalid_record_and_old_epoch_marker_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = Log::open(dir.path(), tiny_config(), 0).expect("open");
        let forged = crate::transactions::control_batch(1, 0, 0, ControlType::Commit, 0);
        assert!(matches!(
            log.append(&forged, 0),
            Err(crate::LogError::InvalidRecord { .. })
        ));
        log.append(&BatchBuilder::new(1).producer(1, 2, 0).attributes(0x10).build(), 0)
            .expect("txn");
        assert!(matches!(
            log.append_marker(1, 1, 0, ControlType::Abort, 0),
            Err(crate::LogError::InvalidProducerEpoch { .. })
        ));
        // A bumped epoch (timeout abort) fences epoch 2 in this partition.
        log.append_marker(1, 3, 0, ControlType::Abort, 0).expect("abort");
        assert!(matches!(
            log.append(&BatchBuilder::new(1).producer(1, 2, 1).attributes(0x10).build(), 0),
            Err(crate::LogError::InvalidProducerEpoch { .. })
        ));
        // Also a producer that never wrote here: its late batch cannot open a transaction that no
        // marker would end — before and after a reopen (snapshot entry with no batches).
        log.append_marker(9, 4, 0, ControlType::Abort, 0).expect("abort");
        let late = BatchBuilder::new(1).producer(9, 3, 0).attributes(0x10).build();
        assert!(matches!(
            log.append(&late, 0),
            Err(crate::LogError::InvalidProducerEpoch { .. })
        ));
        log.close_in_place().expect("close");
        drop(log);
        let mut log = Log::open(dir.path(), tiny_config(), 0).expect("reopen");
        assert!(matches!(
            log.append(&late, 0),
            Err(crate::LogError::InvalidProducerEpoch { .. })
        ));
        assert_eq!(log.last_stable_offset(), log.log_end_offset());
    }
}
