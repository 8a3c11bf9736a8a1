//! Building plain (non-idempotent, non-transactional) records for
//! `kafka_protocol::records::RecordBatchEncoder`, and Kafka's default partitioner for keys.
//!
//! The encoder starts a new batch whenever offset minus sequence changes and takes the batch's
//! base sequence from its first record, so a plain record carries sequence = offset - 1: the
//! difference stays constant across a batch and the base sequence is -1 (NO_SEQUENCE), which is
//! what a producer without idempotence sends.

use bytes::Bytes;
use indexmap::IndexMap;
use kafka_protocol::records::{Record, TimestampType, NO_PARTITION_LEADER_EPOCH, NO_PRODUCER_EPOCH, NO_PRODUCER_ID};

/// The `index`th record of a batch (offsets are relative; the broker assigns real ones).
pub fn plain_record(index: usize, timestamp_ms: i64, key: Option<Bytes>, value: Option<Bytes>) -> Record {
    Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
        producer_id: NO_PRODUCER_ID,
        producer_epoch: NO_PRODUCER_EPOCH,
        timestamp_type: TimestampType::Creation,
        offset: index as i64,
        sequence: index as i32 - 1,
        timestamp: timestamp_ms,
        key,
        value,
        headers: IndexMap::new(),
    }
}

/// The partition Kafka's default partitioner (Java client, librdkafka's `murmur2_random`)
/// picks for `key`: murmur2 of the key bytes, sign bit cleared, modulo the partition count.
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    debug_assert!(partitions > 0);
    ((murmur2(key) & 0x7fff_ffff) as i32) % partitions.max(1)
}

/// Kafka's murmur2 (Utils.murmur2): 32-bit MurmurHash2 with seed 0x9747b28c.
pub fn murmur2(data: &[u8]) -> u32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use kafka_protocol::records::{Compression, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions};

    #[test]
    fn murmur2_matches_kafka_test_vectors() {
        // From Kafka's UtilsTest.testMurmur2 (Java ints).
        let cases: [(&str, i32); 6] = [
            ("21", -973_932_308),
            ("foobar", -790_332_482),
            ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
            ("abc", 479_470_107),
        ];
        for (input, expected) in cases {
            assert_eq!(murmur2(input.as_bytes()) as i32, expected, "{input}");
        }
    }

    #[test]
    fn plain_records_encode_as_one_batch_without_a_sequence() {
        let records: Vec<Record> = (0..3)
            .map(|i| plain_record(i, 5, None, Some(Bytes::from(format!("v{i}")))))
            .collect();
        let mut buf = BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        };
        RecordBatchEncoder::encode(&mut buf, &records, &options).expect("encodes");
        let mut bytes = buf.freeze();
        let info = RecordBatchDecoder::decode_batch_info(&mut bytes.clone()).expect("header");
        assert_eq!(info.len(), 1, "one batch");
        assert_eq!(info[0].record_count, 3);
        let set = RecordBatchDecoder::decode(&mut bytes).expect("decodes");
        assert_eq!(set.records[2].value.as_deref(), Some(&b"v2"[..]));
        assert_eq!(set.records[0].sequence, -1);
    }
}
