//! Builds valid, uncompressed RecordBatch v2 bytes with a correct CRC-32C.
//!
//! Records are encoded per the Kafka protocol guide ("Record"): zigzag varint
//! lengths, timestamp and offset deltas, a null key, the value, no headers; or, with
//! `keyed`, the given keys and values (for compaction, the one place the log looks
//! inside records).

use crate::record::put_varlong;

/// A record's key and value; `None` is null.
type KeyValue = (Option<Vec<u8>>, Option<Vec<u8>>);

/// Builder for one record batch with base offset 0.
#[derive(Debug, Clone)]
pub struct BatchBuilder {
    records: u32,
    value_len: usize,
    timestamp: i64,
    timestamp_step: i64,
    attributes: i16,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    record_count_override: Option<i32>,
    fill: u8,
    /// Keys and values (None = null) replacing the generated records.
    keyed: Option<Vec<KeyValue>>,
}

impl BatchBuilder {
    /// A batch of `records` records (at least 1) with 10-byte values at timestamp 1000.
    pub fn new(records: u32) -> BatchBuilder {
        BatchBuilder {
            records: records.max(1),
            value_len: 10,
            timestamp: 1000,
            timestamp_step: 0,
            attributes: 0,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            record_count_override: None,
            fill: b'x',
            keyed: None,
        }
    }

    /// Base timestamp; all records share it unless `timestamp_step` is set.
    pub fn timestamp(mut self, ts: i64) -> Self {
        self.timestamp = ts;
        self
    }

    /// Each record's timestamp is the previous one's plus `step`.
    pub fn timestamp_step(mut self, step: i64) -> Self {
        self.timestamp_step = step;
        self
    }

    pub fn value_len(mut self, len: usize) -> Self {
        self.value_len = len;
        self
    }

    /// Byte every value is filled with, to tell batches apart.
    pub fn fill(mut self, byte: u8) -> Self {
        self.fill = byte;
        self
    }

    pub fn attributes(mut self, attributes: i16) -> Self {
        self.attributes = attributes;
        self
    }

    pub fn producer(mut self, producer_id: i64, producer_epoch: i16, base_sequence: i32) -> Self {
        self.producer_id = producer_id;
        self.producer_epoch = producer_epoch;
        self.base_sequence = base_sequence;
        self
    }

    /// Writes this recordCount instead of the real one (for invalid-input tests).
    pub fn record_count_override(mut self, count: i32) -> Self {
        self.record_count_override = Some(count);
        self
    }

    /// One record per pair, with these keys and values (`None` is null: a value of `None` is a
    /// tombstone). Replaces the record count and value settings.
    pub fn keyed<K: AsRef<[u8]>, V: AsRef<[u8]>>(mut self, pairs: &[(Option<K>, Option<V>)]) -> Self {
        let pairs: Vec<_> = pairs
            .iter()
            .map(|(k, v)| {
                (
                    k.as_ref().map(|k| k.as_ref().to_vec()),
                    v.as_ref().map(|v| v.as_ref().to_vec()),
                )
            })
            .collect();
        self.records = pairs.len().max(1) as u32;
        self.keyed = Some(pairs);
        self
    }

    pub fn build(&self) -> Vec<u8> {
        let mut buf = vec![0u8; crate::BATCH_HEADER_BYTES];
        let mut body = Vec::new();
        if let Some(pairs) = &self.keyed {
            for (i, (k, v)) in pairs.iter().enumerate() {
                let ts = i as i64 * self.timestamp_step;
                crate::record::encode_record(&mut buf, ts, i as i32, k.as_deref(), v.as_deref());
            }
        }
        for i in 0..self.records {
            if self.keyed.is_some() {
                break;
            }
            body.clear();
            body.push(0); // record attributes
            put_varlong(&mut body, i64::from(i) * self.timestamp_step);
            put_varlong(&mut body, i64::from(i));
            put_varlong(&mut body, -1); // null key
            put_varlong(&mut body, self.value_len as i64);
            body.resize(body.len() + self.value_len, self.fill);
            put_varlong(&mut body, 0); // no headers
            put_varlong(&mut buf, body.len() as i64);
            buf.extend_from_slice(&body);
        }
        let last_delta = self.records as i32 - 1;
        let max_ts = self.timestamp + i64::from(last_delta) * self.timestamp_step.max(0);
        let batch_length = (buf.len() - crate::LOG_OVERHEAD_BYTES) as i32;
        buf[8..12].copy_from_slice(&batch_length.to_be_bytes());
        buf[16] = crate::MAGIC_V2 as u8;
        buf[21..23].copy_from_slice(&self.attributes.to_be_bytes());
        buf[23..27].copy_from_slice(&last_delta.to_be_bytes());
        buf[27..35].copy_from_slice(&self.timestamp.to_be_bytes());
        buf[35..43].copy_from_slice(&max_ts.to_be_bytes());
        buf[43..51].copy_from_slice(&self.producer_id.to_be_bytes());
        buf[51..53].copy_from_slice(&self.producer_epoch.to_be_bytes());
        buf[53..57].copy_from_slice(&self.base_sequence.to_be_bytes());
        let count = self.record_count_override.unwrap_or(self.records as i32);
        buf[57..61].copy_from_slice(&count.to_be_bytes());
        let crc = crc32c::crc32c(&buf[21..]);
        buf[17..21].copy_from_slice(&crc.to_be_bytes());
        buf
    }
}
