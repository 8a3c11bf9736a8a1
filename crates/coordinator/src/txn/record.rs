//! Records of the internal `__transaction_state` log: one per state change of a transactional
//! id, holding its whole metadata (the newest record of an id wins on replay, as in Kafka's
//! TransactionLog; a record with no value is the tombstone of an expired id).
//! docs/ON_DISK_FORMAT.md has the byte layout. Every length is checked against
//! the bytes that remain before use.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::record::{get_i16, get_i32, get_i64, get_str, put_str, RecordError};
use crate::txn::state::{PendingOffset, TxnMetadata, TxnStatus};

/// Key type of a transaction metadata record.
pub const TXN_KEY_TYPE: i16 = 0;
/// Version of the value layout written by this code.
pub const TXN_VALUE_VERSION: i16 = 0;

impl TxnStatus {
    fn code(self) -> i8 {
        match self {
            TxnStatus::Empty => 0,
            TxnStatus::Ongoing => 1,
            TxnStatus::PrepareCommit => 2,
            TxnStatus::PrepareAbort => 3,
            TxnStatus::CompleteCommit => 4,
            TxnStatus::CompleteAbort => 5,
        }
    }

    fn from_code(c: i8) -> Option<TxnStatus> {
        Some(match c {
            0 => TxnStatus::Empty,
            1 => TxnStatus::Ongoing,
            2 => TxnStatus::PrepareCommit,
            3 => TxnStatus::PrepareAbort,
            4 => TxnStatus::CompleteCommit,
            5 => TxnStatus::CompleteAbort,
            _ => return None,
        })
    }
}

impl TxnMetadata {
    pub fn record_key(&self) -> Bytes {
        record_key(&self.transactional_id)
    }

    pub fn record_value(&self) -> Bytes {
        let mut b = BytesMut::new();
        b.put_i16(TXN_VALUE_VERSION);
        b.put_i64(self.producer_id);
        b.put_i16(self.producer_epoch);
        b.put_i32(self.timeout_ms);
        b.put_i8(self.status.code());
        b.put_i64(self.start_ms);
        b.put_i64(self.last_update_ms);
        b.put_i32(self.partitions.len() as i32);
        for (topic, partition) in &self.partitions {
            put_str(&mut b, topic);
            b.put_i32(*partition);
        }
        b.put_i32(self.groups.len() as i32);
        for g in &self.groups {
            put_str(&mut b, g);
        }
        b.put_i32(self.offsets.len() as i32);
        for o in &self.offsets {
            put_str(&mut b, &o.group_id);
            put_str(&mut b, &o.topic);
            b.put_i32(o.partition);
            b.put_i64(o.offset);
            b.put_i32(o.leader_epoch);
            put_str(&mut b, &o.metadata);
        }
        b.freeze()
    }

    /// Decodes a metadata record; a tombstone (no value) is `Ok(Err(transactional id))`.
    pub fn decode_record(
        key: Option<&Bytes>,
        value: Option<&Bytes>,
    ) -> Result<Result<TxnMetadata, String>, RecordError> {
        let mut k = key.ok_or(RecordError::MissingKey)?.clone();
        let key_type = get_i16(&mut k, "key type")?;
        if key_type != TXN_KEY_TYPE {
            return Err(RecordError::UnknownKeyType(key_type));
        }
        let transactional_id = get_str(&mut k, "transactional id")?;
        let Some(value) = value else {
            return Ok(Err(transactional_id));
        };
        let mut v = value.clone();
        let version = get_i16(&mut v, "value version")?;
        if version != TXN_VALUE_VERSION {
            return Err(RecordError::UnknownValueVersion(version));
        }
        let producer_id = get_i64(&mut v, "producer id")?;
        let producer_epoch = get_i16(&mut v, "producer epoch")?;
        let timeout_ms = get_i32(&mut v, "timeout")?;
        if !v.has_remaining() {
            return Err(RecordError::Truncated("status"));
        }
        let status = TxnStatus::from_code(v.get_i8()).ok_or(RecordError::Truncated("status"))?;
        let start_ms = get_i64(&mut v, "start")?;
        let last_update_ms = get_i64(&mut v, "last update")?;
        let mut meta = TxnMetadata::new(transactional_id, producer_id, producer_epoch, timeout_ms);
        meta.status = status;
        meta.start_ms = start_ms;
        meta.last_update_ms = last_update_ms;
        // Counts are not trusted for allocation: each element is read (and checked) one by one.
        for _ in 0..get_i32(&mut v, "partition count")?.max(0) {
            let topic = get_str(&mut v, "topic")?;
            meta.partitions.insert((topic, get_i32(&mut v, "partition")?));
        }
        for _ in 0..get_i32(&mut v, "group count")?.max(0) {
            meta.groups.insert(get_str(&mut v, "group")?);
        }
        for _ in 0..get_i32(&mut v, "offset count")?.max(0) {
            meta.offsets.push(PendingOffset {
                group_id: get_str(&mut v, "group")?,
                topic: get_str(&mut v, "topic")?,
                partition: get_i32(&mut v, "partition")?,
                offset: get_i64(&mut v, "offset")?,
                leader_epoch: get_i32(&mut v, "leader epoch")?,
                metadata: get_str(&mut v, "metadata")?,
            });
        }
        if v.has_remaining() {
            return Err(RecordError::Trailing(v.remaining()));
        }
        Ok(Ok(meta))
    }
}

/// The key of `transactional_id`'s records (also of its tombstone, which has no value).
pub fn record_key(transactional_id: &str) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(TXN_KEY_TYPE);
    put_str(&mut b, transactional_id);
    b.freeze()
}
