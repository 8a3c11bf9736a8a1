//! Building produce record batches (v2) quickly, and the layout of each record value.
//!
//! Every value starts with a 16-byte prefix: the send time in microseconds since the Unix epoch
//! (u64, big-endian) then the record's sequence number within its producer (u64, big-endian);
//! filler makes up the rest of `--message-size`. The consumer reads the prefix back for
//! end-to-end latency, so producer and consumer must agree on the wall clock (same machine).
//!
//! Speed: one `RecordBatchEncoder::encode` call per batch. All values of a batch are written
//! into one buffer and handed to records as zero-copy slices; the `Record` structs, the value
//! buffer and the output buffer are reused from batch to batch, so steady state allocates
//! nothing per record.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions};
use wharf_client::records::plain_record;

use crate::error::BenchError;

/// Bytes of the value prefix: send time (8) and sequence number (8).
pub const VALUE_PREFIX_BYTES: usize = 16;

/// Fixed header of a v2 record batch, from base offset through record count.
pub const BATCH_HEADER_BYTES: usize = wharf_client::batches::BATCH_HEADER_BYTES;

/// Worst-case bytes a record adds besides its value in a v2 batch: length varint (5),
/// attributes (1), timestamp delta (3; all records of a batch share one timestamp, so it is 0),
/// offset delta (5), null key length (1), value length (5), header count (1).
const RECORD_OVERHEAD_BYTES_MAX: usize = 21;

/// Builds record batches for one producer connection.
pub struct BatchBuilder {
    message_size: usize,
    records_per_batch: usize,
    compression: Compression,
    filler: Vec<u8>,
    records: Vec<Record>,
    values: BytesMut,
    out: BytesMut,
    /// Producer id and epoch for idempotent batches (`--idempotent`); None for plain ones.
    producer: Option<(i64, i16)>,
}

impl BatchBuilder {
    /// `batch_bytes` bounds the uncompressed size of one batch; at least one record is always
    /// placed in a batch, even when a single record exceeds it.
    pub fn new(message_size: usize, batch_bytes: usize, compression: Compression) -> Self {
        let per_record = message_size + RECORD_OVERHEAD_BYTES_MAX;
        let records_per_batch = (batch_bytes.saturating_sub(BATCH_HEADER_BYTES) / per_record).max(1);
        BatchBuilder {
            message_size,
            records_per_batch,
            compression,
            filler: filler(message_size.saturating_sub(VALUE_PREFIX_BYTES)),
            records: Vec::new(),
            values: BytesMut::new(),
            out: BytesMut::new(),
            producer: None,
        }
    }

    /// Makes every later batch idempotent: this producer id and epoch, with the base sequence
    /// given to [`BatchBuilder::build_sequenced`].
    pub fn set_producer(&mut self, producer_id: i64, producer_epoch: i16) {
        self.producer = Some((producer_id, producer_epoch));
    }

    /// Most records one batch holds.
    pub fn records_per_batch(&self) -> usize {
        self.records_per_batch
    }

    /// Encodes `count` records (sequence numbers from `first_sequence`) into one batch.
    #[cfg(test)]
    pub fn build(&mut self, count: usize, first_sequence: u64) -> Result<Bytes, BenchError> {
        self.build_sequenced(count, first_sequence, 0)
    }

    /// As [`BatchBuilder::build`]; with a producer set, the batch is idempotent and its records
    /// carry producer sequences from `base_sequence` (the partition's next sequence).
    pub fn build_sequenced(
        &mut self,
        count: usize,
        first_sequence: u64,
        base_sequence: i32,
    ) -> Result<Bytes, BenchError> {
        let count = count.clamp(1, self.records_per_batch);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let now_us = now.as_micros() as u64;
        let now_ms = now.as_millis() as i64;

        self.values.reserve(count * self.message_size);
        for i in 0..count as u64 {
            self.values.put_u64(now_us);
            self.values.put_u64(first_sequence + i);
            self.values.put_slice(&self.filler);
        }
        let values = self.values.split().freeze();

        while self.records.len() < count {
            let i = self.records.len();
            self.records.push(template_record(i));
        }
        for (i, record) in self.records[..count].iter_mut().enumerate() {
            record.timestamp = now_ms;
            if let Some((producer_id, producer_epoch)) = self.producer {
                record.producer_id = producer_id;
                record.producer_epoch = producer_epoch;
                record.sequence = base_sequence.wrapping_add(i as i32);
            }
            let start = i * self.message_size;
            record.value = Some(values.slice(start..start + self.message_size));
        }

        let options = RecordEncodeOptions {
            version: 2,
            compression: self.compression,
        };
        let result = RecordBatchEncoder::encode(&mut self.out, &self.records[..count], &options)
            .map_err(|e| BenchError::RecordBatch(format!("{e:#}")));
        // Drop the slices so the value buffer's allocation is unique again and `reserve` above
        // can reuse it for the next batch instead of allocating.
        for record in &mut self.records[..count] {
            record.value = None;
        }
        result?;
        Ok(self.out.split().freeze())
    }
}

/// A record whose fields never change between batches: no producer id, no key, no headers.
fn template_record(index: usize) -> Record {
    plain_record(index, 0, None, None)
}

/// Filler bytes: pseudo-random letters, so compression codecs get realistic (not trivially
/// compressible) input, as Kafka's own perf tool does.
fn filler(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            // xorshift64: fast, deterministic, good enough to defeat run-length compression.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            b'A' + (state % 26) as u8
        })
        .collect()
}

/// Reads the (send time in µs, sequence number) prefix of a record value.
pub fn read_prefix(value: &[u8]) -> Option<(u64, u64)> {
    let prefix: &[u8; VALUE_PREFIX_BYTES] = value.get(..VALUE_PREFIX_BYTES)?.try_into().ok()?;
    let (time, seq) = prefix.split_at(8);
    let time = u64::from_be_bytes(time.try_into().ok()?);
    let seq = u64::from_be_bytes(seq.try_into().ok()?);
    Some((time, seq))
}

/// Microseconds since the Unix epoch, the clock of the value prefix.
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::records::{RecordBatchDecoder, NO_PRODUCER_ID};

    fn round_trip(compression: Compression) {
        let mut builder = BatchBuilder::new(100, 1_000_000, compression);
        for (first, count) in [(0u64, 500usize), (500, 1), (501, 37)] {
            let mut batch = builder.build(count, first).expect("encodes");
            let len = batch.len();
            let set = RecordBatchDecoder::decode(&mut batch).expect("decodes");
            assert!(batch.is_empty(), "exactly one batch of {len} bytes");
            assert_eq!(set.records.len(), count);
            assert_eq!(set.compression, compression);
            for (i, record) in set.records.iter().enumerate() {
                assert_eq!(record.offset, i as i64);
                assert_eq!(record.sequence, if i == 0 { -1 } else { i as i32 - 1 });
                assert_eq!(record.producer_id, NO_PRODUCER_ID);
                let value = record.value.as_ref().expect("value present");
                assert_eq!(value.len(), 100);
                let (_, seq) = read_prefix(value).expect("prefix");
                assert_eq!(seq, first + i as u64);
                assert_eq!(&value[VALUE_PREFIX_BYTES..], &builder.filler[..]);
            }
        }
    }

    #[test]
    fn build_then_decode_round_trips_uncompressed() {
        round_trip(Compression::None);
    }

    #[test]
    fn build_then_decode_round_trips_every_codec() {
        for codec in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            round_trip(codec);
        }
    }

    #[test]
    fn build_full_batch_stays_within_batch_bytes() {
        let mut builder = BatchBuilder::new(100, 10_000, Compression::None);
        let n = builder.records_per_batch();
        assert!(n > 50, "{n}");
        let batch = builder.build(usize::MAX, 0).expect("encodes");
        assert!(batch.len() <= 10_000, "{}", batch.len());
        let mut copy = batch.clone();
        let info = RecordBatchDecoder::decode_batch_info(&mut copy).expect("header");
        assert_eq!(info.len(), 1);
        assert_eq!(info[0].record_count as usize, n);
    }

    #[test]
    fn build_record_larger_than_batch_still_sends_one() {
        let mut builder = BatchBuilder::new(5_000, 1_000, Compression::None);
        assert_eq!(builder.records_per_batch(), 1);
        let mut batch = builder.build(3, 0).expect("encodes");
        let set = RecordBatchDecoder::decode(&mut batch).expect("decodes");
        assert_eq!(set.records.len(), 1);
    }

    #[test]
    fn read_prefix_short_value_is_none() {
        assert_eq!(read_prefix(&[0u8; 15]), None);
        let mut v = vec![0u8; 16];
        v[7] = 1;
        v[15] = 2;
        assert_eq!(read_prefix(&v), Some((1, 2)));
    }
}
