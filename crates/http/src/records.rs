//! Records between JSON and Kafka record batches: the value formats (`json`, `text`,
//! `base64`), building one batch per partition for Produce, decoding fetched batches into
//! JSON records, and librdkafka's default partitioner so a keyed record sent over HTTP lands
//! where a Kafka client would have put it.

use std::sync::atomic::{AtomicU32, Ordering};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use bytes::{Bytes, BytesMut};
use indexmap::IndexMap;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wharf_client::records::plain_record;

use crate::error::ApiError;

/// How record keys and values are written in JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Produce: any JSON value, stored as its compact text. Read: parsed when the bytes are
    /// JSON, else shown as text.
    #[default]
    Json,
    /// UTF-8 text (invalid sequences shown as U+FFFD on read).
    Text,
    /// Binary, base64-encoded (RFC 4648 with padding).
    Base64,
}

/// One record in a produce request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProduceRecord {
    /// A string: its UTF-8 bytes, or for `base64` the decoded bytes. Absent or null: no key.
    #[serde(default)]
    pub key: Option<String>,
    /// Absent or null: a null value (a tombstone on a compacted topic).
    #[serde(default)]
    pub value: Option<Value>,
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    /// Absent: by key (librdkafka's partitioner), keyless records round-robin.
    #[serde(default)]
    pub partition: Option<i32>,
}

/// One record as the gateway shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RecordJson {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
    pub key: Value,
    pub value: Value,
    pub headers: IndexMap<String, Value>,
}

/// Decodes a JSON key or value into the bytes stored in the log.
pub fn encode_value(format: Format, value: Option<&Value>) -> Result<Option<Bytes>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    if value.is_null() {
        return Ok(None);
    }
    match (format, value) {
        (Format::Json, v) => Ok(Some(Bytes::from(v.to_string()))),
        (Format::Text, Value::String(s)) => Ok(Some(Bytes::from(s.clone()))),
        (Format::Base64, Value::String(s)) => BASE64
            .decode(s)
            .map(|b| Some(Bytes::from(b)))
            .map_err(|e| ApiError::invalid(format!("value is not valid base64: {e}"))),
        (f, _) => Err(ApiError::invalid(format!("a {f:?} value must be a JSON string"))),
    }
}

/// The bytes of a key: UTF-8, or decoded base64.
pub fn encode_key(format: Format, key: Option<&str>) -> Result<Option<Bytes>, ApiError> {
    match (format, key) {
        (_, None) => Ok(None),
        (Format::Base64, Some(k)) => BASE64
            .decode(k)
            .map(|b| Some(Bytes::from(b)))
            .map_err(|e| ApiError::invalid(format!("key is not valid base64: {e}"))),
        (_, Some(k)) => Ok(Some(Bytes::copy_from_slice(k.as_bytes()))),
    }
}

/// Shows stored bytes in `format`.
pub fn show(format: Format, bytes: Option<&Bytes>) -> Value {
    let Some(bytes) = bytes else { return Value::Null };
    match format {
        Format::Base64 => Value::String(BASE64.encode(bytes)),
        Format::Text => Value::String(String::from_utf8_lossy(bytes).into_owned()),
        Format::Json => {
            serde_json::from_slice(bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
        }
    }
}

/// librdkafka's default partitioner (`consistent_random`): zlib's CRC-32 of the key, modulo
/// the partition count; keyless records are spread (round-robin here, random there).
pub struct Partitioner {
    next_keyless: AtomicU32,
}

impl Partitioner {
    pub const fn new() -> Partitioner {
        Partitioner {
            next_keyless: AtomicU32::new(0),
        }
    }

    pub fn partition(&self, key: Option<&[u8]>, partitions: i32) -> i32 {
        let n = partitions.max(1) as u32;
        match key {
            Some(k) => (crc32fast::hash(k) % n) as i32,
            None => (self.next_keyless.fetch_add(1, Ordering::Relaxed) % n) as i32,
        }
    }
}

impl Default for Partitioner {
    fn default() -> Self {
        Partitioner::new()
    }
}

/// A record ready for a batch: key, value and headers.
pub type Row<'a> = (Option<Bytes>, Option<Bytes>, &'a IndexMap<String, String>);

/// One v2 batch of plain records (no idempotence: the gateway is not a producer session).
pub fn build_batch(records: &[Row<'_>], now_ms: i64) -> Result<Bytes, ApiError> {
    let encoded: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (key, value, headers))| {
            let mut r = plain_record(i, now_ms, key.clone(), value.clone());
            for (name, v) in headers.iter() {
                r.headers.insert(
                    StrBytes::from_string(name.clone()),
                    Some(Bytes::copy_from_slice(v.as_bytes())),
                );
            }
            r
        })
        .collect();
    let mut out = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut out, &encoded, &options)
        .map_err(|e| ApiError::invalid(format!("cannot encode the records: {e:#}")))?;
    Ok(out.freeze())
}

/// Transactions the broker reported aborted in a fetched range: (producer id, first offset),
/// as Fetch's aborted_transactions lists them for read_committed.
pub type Aborted = [(i64, i64)];

/// The data records of fetched batches at or after `from`, at most `max`, shown in `format`,
/// and the offset to fetch next: after the last record returned, or past every batch read
/// when none was cut short (so a batch holding only a transaction marker is stepped over).
///
/// Read committed, as a Kafka consumer with isolation.level=read_committed: control records are
/// skipped, and so are the batches of aborted transactions — a producer's transactional batches
/// from the first offset the broker lists for it up to its ABORT marker.
pub fn decode_fetched(
    topic: &str,
    partition: i32,
    mut records: Bytes,
    aborted: &Aborted,
    from: i64,
    max: usize,
    format: Format,
) -> Result<(Vec<RecordJson>, i64), ApiError> {
    let mut pending: Vec<(i64, i64)> = aborted.to_vec();
    pending.sort_by_key(|&(_, first)| std::cmp::Reverse(first));
    let mut aborting: std::collections::HashSet<i64> = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut next = from;
    while out.len() < max {
        let batch = match wharf_client::batches::next_batch(&mut records) {
            Ok(Some(b)) => b,
            Ok(None) => break,
            Err(e) => return Err(ApiError::new(crate::error::codes::CORRUPT_MESSAGE, e)),
        };
        let set = RecordBatchDecoder::decode(&mut batch.clone())
            .map_err(|e| ApiError::new(crate::error::codes::CORRUPT_MESSAGE, format!("{e:#}")))?;
        let (_, last) = wharf_client::batches::batch_offsets(&batch)
            .map_err(|e| ApiError::new(crate::error::codes::CORRUPT_MESSAGE, e))?;
        // Aborted transactions that have begun by the end of this batch.
        while let Some(&(pid, first)) = pending.last() {
            if first > last {
                break;
            }
            aborting.insert(pid);
            pending.pop();
        }
        for r in set.records {
            if r.control {
                if is_abort_marker(r.key.as_ref()) {
                    aborting.remove(&r.producer_id);
                }
            } else if r.offset >= from && !(r.transactional && aborting.contains(&r.producer_id)) {
                if out.len() == max {
                    return Ok((out, next));
                }
                out.push(RecordJson {
                    topic: topic.to_owned(),
                    partition,
                    offset: r.offset,
                    timestamp: r.timestamp,
                    key: show(format, r.key.as_ref()),
                    value: show(format, r.value.as_ref()),
                    headers: r
                        .headers
                        .iter()
                        .map(|(k, v)| (k.to_string(), show(Format::Text, v.as_ref())))
                        .collect(),
                });
            }
            next = next.max(r.offset + 1);
        }
        next = next.max(last + 1);
    }
    Ok((out, next))
}

/// A control record's key is (version i16, type i16); type 0 is ABORT, 1 COMMIT.
fn is_abort_marker(key: Option<&Bytes>) -> bool {
    matches!(key, Some(k) if k.len() >= 4 && k[2] == 0 && k[3] == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_for_key_matches_librdkafka_consistent() {
        // zlib crc32("user-1") = 0x2b6b1fd9... computed independently by Python's zlib.crc32.
        let p = Partitioner::new();
        for key in ["user-1", "a", "order-42"] {
            let expected = (crc32fast::hash(key.as_bytes()) % 6) as i32;
            assert_eq!(p.partition(Some(key.as_bytes()), 6), expected);
        }
        assert_eq!(p.partition(None, 3), 0);
        assert_eq!(p.partition(None, 3), 1);
    }

    #[test]
    fn encode_value_json_is_compact_text_and_null_is_tombstone() {
        let v: Value = serde_json::json!({"a": [1, 2]});
        assert_eq!(
            encode_value(Format::Json, Some(&v)).unwrap(),
            Some(Bytes::from_static(b"{\"a\":[1,2]}"))
        );
        assert_eq!(encode_value(Format::Json, Some(&Value::Null)).unwrap(), None);
        assert!(encode_value(Format::Text, Some(&serde_json::json!(5))).is_err());
        assert_eq!(
            encode_value(Format::Base64, Some(&serde_json::json!("AAE="))).unwrap(),
            Some(Bytes::from_static(&[0, 1]))
        );
    }

    #[test]
    fn batch_round_trips_through_decode_fetched() {
        let mut headers = IndexMap::new();
        headers.insert("h".to_owned(), "v".to_owned());
        let rows = vec![
            (
                Some(Bytes::from_static(b"k")),
                Some(Bytes::from_static(b"{\"x\":1}")),
                &headers,
            ),
            (None, Some(Bytes::from_static(b"plain")), &headers),
        ];
        let batch = build_batch(&rows, 1_000).unwrap();
        let (got, next) = decode_fetched("t", 0, batch, &[], 1, 10, Format::Json).unwrap();
        assert_eq!(next, 2);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].offset, 1);
        assert_eq!(got[0].value, Value::String("plain".into()));
        assert_eq!(got[0].headers["h"], Value::String("v".into()));
    }
}
