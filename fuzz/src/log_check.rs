//! Invariants of an opened `Log` that hold whatever was on disk before it was opened, shared by
//! the `log_recovery` and `index_rebuild` targets.
//!
//! Reading is done the way a consumer fetches: from `log_start_offset`, each read starting one
//! past the last offset of the previous one, with a byte budget below the tiny config's segment
//! size so reads end inside segments and cross segment boundaries.

use wharf_log::testing::BatchBuilder;
use wharf_log::{batch_size_at, BatchHeader, Log, LogError};

/// Per-read byte budget: under `tiny_config`'s 1024-byte segments, over one small batch.
const FETCH_BYTES: usize = 700;

/// The clock the targets run at: after every timestamp the builders write, so nothing is in the
/// future, and before `i64::MAX` so no time arithmetic saturates.
pub(crate) const NOW_MS: i64 = 1_700_000_000_000;

/// One batch as the log returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReadBatch {
    pub(crate) header: BatchHeader,
    pub(crate) bytes: Vec<u8>,
}

/// Reads every batch from `log_start_offset` to `log_end_offset` and checks: every read
/// succeeds and returns whole batches that validate (CRC included); offsets ascend, skipping
/// only what a batch inside a segment skips (compaction); the last batch ends exactly at `log_end_offset`; a read at `log_end_offset` is
/// empty and one past it is out of range.
pub(crate) fn read_all(log: &Log) -> Vec<ReadBatch> {
    let start = log.log_start_offset();
    let end = log.log_end_offset();
    assert!(
        0 <= start && start <= end,
        "log_start_offset {start}, log_end_offset {end}"
    );
    let mut batches: Vec<ReadBatch> = Vec::new();
    let mut next = start;
    while next < end {
        let bytes = log
            .read(next, FETCH_BYTES, true, i64::MAX)
            .unwrap_or_else(|e| panic!("read at {next} (log_end_offset {end}) failed: {e}"));
        assert!(
            !bytes.is_empty(),
            "read at {next} returned nothing below log_end_offset {end}"
        );
        let mut position = 0usize;
        for header in stored_batches(&bytes, next) {
            if batches.is_empty() {
                // log_start_offset may lie inside the first batch (DeleteRecords), or before
                // it when compaction removed the segment's first batches.
                assert!(
                    next <= header.last_offset(),
                    "read at {next} returned the batch holding {}..={}, which ends before it",
                    header.base_offset,
                    header.last_offset()
                );
            } else {
                // A compacted segment may skip offsets, never go back.
                assert!(header.base_offset >= next, "offsets go backwards at {next}");
            }
            let bytes = bytes[position..position + header.size()].to_vec();
            position += header.size();
            next = header.last_offset() + 1;
            batches.push(ReadBatch { header, bytes });
        }
    }
    assert_eq!(next, end, "the last batch does not end at log_end_offset");
    let at_end = log.read(end, FETCH_BYTES, true, i64::MAX);
    assert!(
        matches!(&at_end, Ok(b) if b.is_empty()),
        "read at log_end_offset: {at_end:?}"
    );
    if let Some(past) = end.checked_add(1) {
        let past_end = log.read(past, FETCH_BYTES, true, i64::MAX);
        assert!(
            matches!(past_end, Err(LogError::OffsetOutOfRange { .. })),
            "read past log_end_offset: {past_end:?}"
        );
    }
    batches
}

/// Splits what a read returned into whole batches that each validate (CRC included). Unlike the
/// produce path's `validate_batches`, an empty batch (which only compaction writes) is allowed.
fn stored_batches(bytes: &[u8], read_at: i64) -> Vec<BatchHeader> {
    let mut out = Vec::new();
    let mut position = 0usize;
    while position < bytes.len() {
        let size = batch_size_at(&bytes[position..])
            .filter(|s| position + s <= bytes.len())
            .unwrap_or_else(|| panic!("read at {read_at} returned a partial batch"));
        let header = BatchHeader::validate(&bytes[position..position + size], position as u64)
            .unwrap_or_else(|e| panic!("read at {read_at} returned a batch that does not validate: {e}"));
        out.push(header);
        position += size;
    }
    out
}

/// Appends one valid batch at the end of `log` and checks it reads back byte for byte, with
/// the offsets the append reported.
pub(crate) fn append_and_read_back(log: &mut Log) {
    let end = log.log_end_offset();
    let mut batch = BatchBuilder::new(3).timestamp(NOW_MS - 5).fill(b'z').build();
    let info = log
        .append(&batch, NOW_MS)
        .unwrap_or_else(|e| panic!("append after open failed: {e}"));
    assert_eq!((info.base_offset, info.last_offset), (end, end + 2));
    assert_eq!(log.log_end_offset(), end + 3);
    batch[..8].copy_from_slice(&end.to_be_bytes());
    let read = log
        .read(end, FETCH_BYTES, true, i64::MAX)
        .unwrap_or_else(|e| panic!("reading the appended batch at {end} failed: {e}"));
    assert_eq!(&read[..], &batch[..], "the appended batch reads back differently");
}
