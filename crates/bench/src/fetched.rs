//! Counting the records of one fetched partition, and reading their send times.
//!
//! A Fetch response carries a partition's records as concatenated v2 record batches. The
//! broker may cut the last one short at the size limit (KIP-74), so a trailing partial batch is
//! not an error: it is left for the next fetch, which starts at the offset after the last whole
//! batch. A fetch offset inside a batch returns the whole batch; records before the offset are
//! skipped. Control batches (transaction markers) occupy offsets but are not counted.
//!
//! The batch framing is split by `wharf_client::batches`; headers are decoded by `RecordBatchDecoder::decode_batch_info`, which also checks the CRC,
//! and records are decoded by `RecordBatchDecoder::decode` only when latency is wanted.

use bytes::Bytes;
use hdrhistogram::Histogram;
use kafka_protocol::records::RecordBatchDecoder;
use wharf_client::batches::{batch_offsets, next_batch};

use crate::batch::read_prefix;

/// What one partition's records added up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Data records at or after the fetch offset.
    pub records: u64,
    /// Without latency: bytes of the batches that held them, as received (compressed if
    /// compressed), since records are not decoded. With latency: bytes of the record values,
    /// comparable with what producers report.
    pub bytes: u64,
    /// Where the next fetch of this partition starts.
    pub next_offset: i64,
}

/// Counts the records in `records` from `fetch_offset` on. With `latency`, each record's
/// value prefix is read and `now_us` minus its send time is recorded, in microseconds.
pub fn tally(
    mut records: Bytes,
    fetch_offset: i64,
    mut latency: Option<(&mut Histogram<u64>, u64)>,
) -> Result<Tally, String> {
    let mut tally = Tally {
        records: 0,
        bytes: 0,
        next_offset: fetch_offset,
    };
    while let Some(batch) = next_batch(&mut records)? {
        let (base_offset, last_offset) = batch_offsets(&batch)?;
        if last_offset < fetch_offset {
            continue;
        }
        let info = RecordBatchDecoder::decode_batch_info(&mut batch.clone())
            .map_err(|e| format!("batch at offset {base_offset}: {e:#}"))?;
        let Some(info) = info.first() else {
            return Err(format!("batch at offset {base_offset} has no header"));
        };
        tally.next_offset = last_offset + 1;
        if info.control {
            continue;
        }
        if base_offset >= fetch_offset && latency.is_none() {
            tally.records += info.record_count as u64;
            tally.bytes += batch.len() as u64;
            continue;
        }
        let set = RecordBatchDecoder::decode(&mut batch.clone())
            .map_err(|e| format!("batch at offset {base_offset}: {e:#}"))?;
        for record in set.records.iter().filter(|r| r.offset >= fetch_offset) {
            tally.records += 1;
            if let Some((histogram, now_us)) = latency.as_mut() {
                let value = record.value.as_deref().unwrap_or_default();
                tally.bytes += value.len() as u64;
                if let Some((sent_us, _)) = read_prefix(value) {
                    histogram.saturating_record(now_us.saturating_sub(sent_us));
                }
            }
        }
        if latency.is_none() {
            // A batch straddling the fetch offset: its wire bytes count, like whole batches.
            tally.bytes += batch.len() as u64;
        }
    }
    Ok(tally)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::BatchBuilder;
    use crate::stats::latency_histogram;
    use bytes::{BufMut, BytesMut};
    use kafka_protocol::records::Compression;

    /// Two batches of 10 and 5 records as a broker would store them: base offsets 0 and 10.
    fn log() -> Bytes {
        let mut builder = BatchBuilder::new(50, 1_000_000, Compression::None);
        let mut out = BytesMut::new();
        for (base, count) in [(0i64, 10usize), (10, 5)] {
            let batch = builder.build(count, base as u64).expect("encodes");
            let mut batch = BytesMut::from(&batch[..]);
            // Rewrite the base offset as the broker does on append; the CRC does not cover it.
            batch[..8].copy_from_slice(&base.to_be_bytes());
            out.put_slice(&batch);
        }
        out.freeze()
    }

    #[test]
    fn tally_counts_all_records_from_zero() {
        let t = tally(log(), 0, None).expect("valid");
        assert_eq!((t.records, t.next_offset), (15, 15));
        assert_eq!(t.bytes, log().len() as u64);
    }

    #[test]
    fn tally_skips_records_before_fetch_offset() {
        let t = tally(log(), 4, None).expect("valid");
        assert_eq!((t.records, t.next_offset), (11, 15));
        let t = tally(log(), 12, None).expect("valid");
        assert_eq!((t.records, t.next_offset), (3, 15));
    }

    #[test]
    fn tally_leaves_trailing_partial_batch_for_next_fetch() {
        let full = log();
        let cut = full.slice(..full.len() - 3);
        let t = tally(cut, 0, None).expect("partial tail is fine");
        assert_eq!((t.records, t.next_offset), (10, 10));
    }

    #[test]
    fn tally_with_latency_records_each_record() {
        let mut h = latency_histogram();
        let records = log();
        let now = crate::batch::now_micros() + 1_000;
        let t = tally(records, 0, Some((&mut h, now))).expect("valid");
        assert_eq!(t.records, 15);
        assert_eq!(t.bytes, 15 * 50, "value bytes when records are decoded");
        assert_eq!(h.len(), 15);
        assert!(h.min() >= 1_000);
    }

    #[test]
    fn tally_rejects_corrupt_batch() {
        let mut bytes = BytesMut::from(&log()[..]);
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        assert!(tally(bytes.freeze(), 0, None).is_err(), "CRC mismatch is reported");
    }

    #[test]
    fn tally_rejects_negative_length() {
        let mut bytes = BytesMut::new();
        bytes.put_i64(0);
        bytes.put_i32(-5);
        assert!(tally(bytes.freeze(), 0, None).is_err());
    }
}
