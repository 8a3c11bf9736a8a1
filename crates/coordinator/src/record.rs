//! Records of the internal `__consumer_offsets` log: committed offsets and group metadata, as
//! key/value bytes (docs/ON_DISK_FORMAT.md has the byte layout). A record with no value is a
//! tombstone. The caller wraps records in RecordBatch v2; this module owns only keys and values.
//!
//! Decoding never trusts a length: each is checked against the bytes that remain before use.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::offsets::CommittedOffset;

/// Key type of an offset commit record (Kafka's own offset key versions are 0 and 1).
pub const OFFSET_KEY_TYPE: i16 = 1;
/// Key type of a group metadata record (as in Kafka).
pub const GROUP_KEY_TYPE: i16 = 2;
/// Version of the value layouts written by this code.
pub const VALUE_VERSION: i16 = 0;

/// One internal log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Offset {
        group_id: String,
        topic: String,
        partition: i32,
        /// `None`: the offset was deleted.
        offset: Option<CommittedOffset>,
    },
    Group {
        group_id: String,
        /// `None`: the group was deleted.
        snapshot: Option<GroupSnapshot>,
    },
}

/// A group after a completed rebalance (or after it became Empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSnapshot {
    pub protocol_type: String,
    pub generation_id: i32,
    pub protocol_name: Option<String>,
    pub leader: Option<String>,
    pub members: Vec<MemberSnapshot>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSnapshot {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub subscription: Bytes,
    pub assignment: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record has no key")]
    MissingKey,
    #[error("unknown key type {0}")]
    UnknownKeyType(i16),
    #[error("unknown value version {0}")]
    UnknownValueVersion(i16),
    #[error("record truncated reading {0}")]
    Truncated(&'static str),
    #[error("string is not UTF-8 in {0}")]
    NotUtf8(&'static str),
    #[error("{0} trailing bytes")]
    Trailing(usize),
}

impl Record {
    pub fn group_id(&self) -> &str {
        match self {
            Record::Offset { group_id, .. } | Record::Group { group_id, .. } => group_id,
        }
    }

    pub fn key(&self) -> Bytes {
        let mut b = BytesMut::new();
        match self {
            Record::Offset {
                group_id,
                topic,
                partition,
                ..
            } => {
                b.put_i16(OFFSET_KEY_TYPE);
                put_str(&mut b, group_id);
                put_str(&mut b, topic);
                b.put_i32(*partition);
            }
            Record::Group { group_id, .. } => {
                b.put_i16(GROUP_KEY_TYPE);
                put_str(&mut b, group_id);
            }
        }
        b.freeze()
    }

    pub fn value(&self) -> Option<Bytes> {
        let mut b = BytesMut::new();
        b.put_i16(VALUE_VERSION);
        match self {
            Record::Offset { offset: None, .. } | Record::Group { snapshot: None, .. } => return None,
            Record::Offset { offset: Some(o), .. } => {
                b.put_i64(o.offset);
                b.put_i32(o.leader_epoch);
                put_str(&mut b, &o.metadata);
                b.put_i64(o.commit_timestamp_ms);
            }
            Record::Group { snapshot: Some(s), .. } => {
                put_str(&mut b, &s.protocol_type);
                b.put_i32(s.generation_id);
                put_opt_str(&mut b, s.protocol_name.as_deref());
                put_opt_str(&mut b, s.leader.as_deref());
                b.put_i32(s.members.len() as i32);
                for m in &s.members {
                    put_str(&mut b, &m.member_id);
                    put_opt_str(&mut b, m.group_instance_id.as_deref());
                    put_str(&mut b, &m.client_id);
                    put_str(&mut b, &m.client_host);
                    b.put_i32(m.session_timeout_ms);
                    b.put_i32(m.rebalance_timeout_ms);
                    put_bytes(&mut b, &m.subscription);
                    put_bytes(&mut b, &m.assignment);
                }
            }
        }
        Some(b.freeze())
    }

    pub fn decode(key: Option<&Bytes>, value: Option<&Bytes>) -> Result<Record, RecordError> {
        let mut k = key.ok_or(RecordError::MissingKey)?.clone();
        let key_type = get_i16(&mut k, "key type")?;
        let record = match key_type {
            OFFSET_KEY_TYPE => {
                let group_id = get_str(&mut k, "group id")?;
                let topic = get_str(&mut k, "topic")?;
                let partition = get_i32(&mut k, "partition")?;
                let offset = value.map(|v| decode_offset(v.clone())).transpose()?;
                Record::Offset {
                    group_id,
                    topic,
                    partition,
                    offset,
                }
            }
            GROUP_KEY_TYPE => {
                let group_id = get_str(&mut k, "group id")?;
                let snapshot = value.map(|v| decode_group(v.clone())).transpose()?;
                Record::Group { group_id, snapshot }
            }
            other => return Err(RecordError::UnknownKeyType(other)),
        };
        if k.has_remaining() {
            return Err(RecordError::Trailing(k.remaining()));
        }
        Ok(record)
    }
}

fn decode_offset(mut v: Bytes) -> Result<CommittedOffset, RecordError> {
    check_version(&mut v)?;
    let o = CommittedOffset {
        offset: get_i64(&mut v, "offset")?,
        leader_epoch: get_i32(&mut v, "leader epoch")?,
        metadata: get_str(&mut v, "metadata")?,
        commit_timestamp_ms: get_i64(&mut v, "commit timestamp")?,
    };
    no_trailing(&v)?;
    Ok(o)
}

fn decode_group(mut v: Bytes) -> Result<GroupSnapshot, RecordError> {
    check_version(&mut v)?;
    let protocol_type = get_str(&mut v, "protocol type")?;
    let generation_id = get_i32(&mut v, "generation id")?;
    let protocol_name = get_opt_str(&mut v, "protocol name")?;
    let leader = get_opt_str(&mut v, "leader")?;
    let count = get_i32(&mut v, "member count")?;
    // Each member takes at least 28 bytes, so a count the value cannot hold is refused before
    // anything is allocated for it.
    let count = usize::try_from(count).map_err(|_| RecordError::Truncated("member count"))?;
    if count > v.remaining() / 28 {
        return Err(RecordError::Truncated("members"));
    }
    let mut members = Vec::with_capacity(count);
    for _ in 0..count {
        members.push(MemberSnapshot {
            member_id: get_str(&mut v, "member id")?,
            group_instance_id: get_opt_str(&mut v, "group instance id")?,
            client_id: get_str(&mut v, "client id")?,
            client_host: get_str(&mut v, "client host")?,
            session_timeout_ms: get_i32(&mut v, "session timeout")?,
            rebalance_timeout_ms: get_i32(&mut v, "rebalance timeout")?,
            subscription: get_bytes(&mut v, "subscription")?,
            assignment: get_bytes(&mut v, "assignment")?,
        });
    }
    no_trailing(&v)?;
    Ok(GroupSnapshot {
        protocol_type,
        generation_id,
        protocol_name,
        leader,
        members,
    })
}

fn check_version(v: &mut Bytes) -> Result<(), RecordError> {
    match get_i16(v, "value version")? {
        VALUE_VERSION => Ok(()),
        other => Err(RecordError::UnknownValueVersion(other)),
    }
}

fn no_trailing(v: &Bytes) -> Result<(), RecordError> {
    if v.has_remaining() {
        return Err(RecordError::Trailing(v.remaining()));
    }
    Ok(())
}

pub(crate) fn put_str(b: &mut BytesMut, s: &str) {
    // Strings come from Kafka STRING fields, which are i16-length-prefixed on the wire too.
    let s = &s.as_bytes()[..s.len().min(i16::MAX as usize)];
    b.put_i16(s.len() as i16);
    b.put_slice(s);
}

fn put_opt_str(b: &mut BytesMut, s: Option<&str>) {
    match s {
        Some(s) => put_str(b, s),
        None => b.put_i16(-1),
    }
}

fn put_bytes(b: &mut BytesMut, v: &Bytes) {
    b.put_i32(v.len() as i32);
    b.put_slice(v);
}

pub(crate) fn get_i16(b: &mut Bytes, what: &'static str) -> Result<i16, RecordError> {
    if b.remaining() < 2 {
        return Err(RecordError::Truncated(what));
    }
    Ok(b.get_i16())
}

pub(crate) fn get_i32(b: &mut Bytes, what: &'static str) -> Result<i32, RecordError> {
    if b.remaining() < 4 {
        return Err(RecordError::Truncated(what));
    }
    Ok(b.get_i32())
}

pub(crate) fn get_i64(b: &mut Bytes, what: &'static str) -> Result<i64, RecordError> {
    if b.remaining() < 8 {
        return Err(RecordError::Truncated(what));
    }
    Ok(b.get_i64())
}

fn get_opt_str(b: &mut Bytes, what: &'static str) -> Result<Option<String>, RecordError> {
    let mut peek = b.clone();
    if get_i16(&mut peek, what)? < 0 {
        b.advance(2);
        return Ok(None);
    }
    get_str(b, what).map(Some)
}

pub(crate) fn get_str(b: &mut Bytes, what: &'static str) -> Result<String, RecordError> {
    let len = usize::try_from(get_i16(b, what)?).map_err(|_| RecordError::Truncated(what))?;
    if b.remaining() < len {
        return Err(RecordError::Truncated(what));
    }
    let raw = b.split_to(len);
    String::from_utf8(raw.to_vec()).map_err(|_| RecordError::NotUtf8(what))
}

fn get_bytes(b: &mut Bytes, what: &'static str) -> Result<Bytes, RecordError> {
    let len = usize::try_from(get_i32(b, what)?).map_err(|_| RecordError::Truncated(what))?;
    if b.remaining() < len {
        return Err(RecordError::Truncated(what));
    }
    Ok(b.split_to(len))
}
