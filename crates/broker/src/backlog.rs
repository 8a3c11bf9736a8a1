//! Bounded backlog per partition — peak shaving (issue #4). A topic may cap how far its log end
//! runs ahead of its consumers: `max.backlog.messages` and/or `max.backlog.bytes`, measured from
//! the committed offset of `backlog.group` (by default the slowest group with a commit on the
//! partition; the log start when there is none). Past the cap, `backlog.overflow.policy` decides:
//!
//! - `reject` (RabbitMQ's reject-publish, JetStream's DiscardNew): the produce fails at once for
//!   that partition with POLICY_VIOLATION and a message naming the cap; nothing of it is
//!   written. POLICY_VIOLATION is non-retriable in the Java client, librdkafka and
//!   kafka-python, so the application sees the error in its delivery report instead of the
//!   producer retrying until its timeout.
//! - `drop-oldest` (RabbitMQ's drop-head): the log start offset moves forward so the partition
//!   keeps the newest records within the cap. The move is in memory until whole segments fall
//!   below it (then it is persisted, as DeleteRecords does), so a crash may bring back records
//!   dropped from the oldest segment — never lose accepted ones.
//!
//! The check runs under the partition's log lock, so concurrent producers cannot overshoot the
//! cap together. Topics without a cap pay one `Option` check per partition.

use wharf_log::{batch_size_at, BatchHeader, Log, LogError, SequenceCheck};

use crate::topic_config::TopicOverrides;

pub const MAX_BACKLOG_MESSAGES: &str = "max.backlog.messages";
pub const MAX_BACKLOG_BYTES: &str = "max.backlog.bytes";
pub const BACKLOG_GROUP: &str = "backlog.group";
pub const BACKLOG_OVERFLOW_POLICY: &str = "backlog.overflow.policy";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverflowPolicy {
    Reject,
    DropOldest,
}

impl OverflowPolicy {
    pub const NAMES: [&'static str; 2] = ["reject", "drop-oldest"];

    fn parse(v: &str) -> Option<OverflowPolicy> {
        match v {
            "reject" => Some(OverflowPolicy::Reject),
            "drop-oldest" => Some(OverflowPolicy::DropOldest),
            _ => None,
        }
    }
}

/// A topic's backlog cap; absent when neither max is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacklogPolicy {
    pub max_messages: Option<i64>,
    pub max_bytes: Option<i64>,
    /// None: the slowest group with a commit on the partition.
    pub group: Option<String>,
    pub overflow: OverflowPolicy,
}

impl BacklogPolicy {
    /// From a topic's (already validated) overrides; None when the topic has no cap.
    pub fn from_overrides(o: &TopicOverrides) -> Option<BacklogPolicy> {
        let max = |k: &str| o.get(k).and_then(|v| v.trim().parse::<i64>().ok()).filter(|n| *n >= 0);
        let (max_messages, max_bytes) = (max(MAX_BACKLOG_MESSAGES), max(MAX_BACKLOG_BYTES));
        if max_messages.is_none() && max_bytes.is_none() {
            return None;
        }
        Some(BacklogPolicy {
            max_messages,
            max_bytes,
            group: o.get(BACKLOG_GROUP).filter(|g| !g.is_empty()).cloned(),
            overflow: o
                .get(BACKLOG_OVERFLOW_POLICY)
                .and_then(|v| OverflowPolicy::parse(v))
                .unwrap_or(OverflowPolicy::Reject),
        })
    }
}

/// What a produce would add to a partition: offsets and bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incoming {
    pub messages: i64,
    pub bytes: u64,
}

impl Incoming {
    /// Reads only the batch headers. Malformed input counts what parses; the append that
    /// follows rejects it with the precise error.
    pub fn of(records: &[u8]) -> Incoming {
        let mut messages = 0;
        let mut pos = 0;
        while let Some(size) = records.get(pos..).and_then(batch_size_at) {
            let Some(batch) = records.get(pos..pos + size) else {
                break;
            };
            if let Ok(h) = BatchHeader::parse(batch) {
                messages += h.offset_count();
            }
            pos += size;
        }
        Incoming {
            messages,
            bytes: records.len() as u64,
        }
    }
}

/// The partition's backlog as measured for its cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    /// The offset the backlog is measured from (the reference commit, at least the log start).
    pub from_offset: i64,
    pub messages: i64,
    /// Only measured when the topic caps bytes (it costs an index lookup); else 0.
    pub bytes: u64,
}

pub fn measure(policy: &BacklogPolicy, log: &Log, reference: Option<i64>) -> Result<Backlog, LogError> {
    let from_offset = reference.unwrap_or(0).max(log.log_start_offset());
    let messages = (log.log_end_offset() - from_offset).max(0);
    let bytes = match policy.max_bytes {
        Some(_) => log.bytes_from(from_offset)?,
        None => 0,
    };
    Ok(Backlog {
        from_offset,
        messages,
        bytes,
    })
}

/// Admits `incoming` under `policy`: Ok(None) to append, Ok(Some(reason)) to refuse with
/// POLICY_VIOLATION. Under drop-oldest it first moves the log start to make room.
pub fn admit(
    policy: &BacklogPolicy,
    log: &mut Log,
    records: &[u8],
    reference: Option<i64>,
) -> Result<Option<String>, LogError> {
    let incoming = Incoming::of(records);
    let backlog = measure(policy, log, reference)?;
    let over_messages = policy
        .max_messages
        .filter(|m| backlog.messages + incoming.messages > *m);
    let over_bytes = policy.max_bytes.filter(|m| backlog.bytes + incoming.bytes > *m as u64);
    if over_messages.is_none() && over_bytes.is_none() || is_duplicate_retry(log, records) {
        return Ok(None);
    }
    let refusal = || {
        let mut why = Vec::new();
        if let Some(m) = over_messages {
            why.push(format!(
                "{} messages + {} new > {MAX_BACKLOG_MESSAGES}={m}",
                backlog.messages, incoming.messages
            ));
        }
        if let Some(m) = over_bytes {
            why.push(format!(
                "{} bytes + {} new > {MAX_BACKLOG_BYTES}={m}",
                backlog.bytes, incoming.bytes
            ));
        }
        format!("backlog full: {}; retry once consumers catch up", why.join(", "))
    };
    let too_big_alone = policy.max_messages.is_some_and(|m| incoming.messages > m)
        || policy.max_bytes.is_some_and(|m| incoming.bytes > m as u64);
    if policy.overflow == OverflowPolicy::Reject || too_big_alone {
        return Ok(Some(refusal()));
    }
    let mut keep_from = backlog.from_offset;
    if let Some(m) = policy.max_messages {
        keep_from = keep_from.max(log.log_end_offset() + incoming.messages - m);
    }
    if let Some(m) = policy.max_bytes {
        keep_from = first_offset_fitting(log, keep_from, m as u64 - incoming.bytes)?;
    }
    log.drop_before(keep_from)?;
    Ok(None)
}

/// An idempotent producer's retry of a batch already in the log is answered with its original
/// offset by the append and writes nothing, so a full backlog must not refuse it: the first
/// attempt was accepted, and refusing the retry would tell the producer it was not.
fn is_duplicate_retry(log: &Log, records: &[u8]) -> bool {
    let Some(batch) = batch_size_at(records).and_then(|size| records.get(..size)) else {
        return false;
    };
    let Ok(header) = BatchHeader::parse(batch) else {
        return false;
    };
    matches!(
        log.producer_state().check_append(&[header]),
        Ok(SequenceCheck::Duplicate(_))
    )
}

/// The smallest offset >= `from` whose bytes to the log end are at most `budget` (binary
/// search: bytes_from only shrinks as the offset grows).
fn first_offset_fitting(log: &Log, from: i64, budget: u64) -> Result<i64, LogError> {
    let (mut lo, mut hi) = (from, log.log_end_offset());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if log.bytes_from(mid)? <= budget {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(lo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_log::testing::{tiny_config, BatchBuilder};

    fn policy(max_messages: Option<i64>, max_bytes: Option<i64>, overflow: OverflowPolicy) -> BacklogPolicy {
        BacklogPolicy {
            max_messages,
            max_bytes,
            group: None,
            overflow,
        }
    }

    /// Appends `batches` batches of 2 records each; returns the size of one batch.
    fn fill(log: &mut Log, batches: usize) -> u64 {
        let batch = BatchBuilder::new(2).value_len(100).build();
        for _ in 0..batches {
            log.append(&batch, 0).expect("append");
        }
        batch.len() as u64
    }

    fn two_records() -> Vec<u8> {
        BatchBuilder::new(2).value_len(100).build()
    }

    #[test]
    fn from_overrides_without_a_max_is_no_policy() {
        let mut o = TopicOverrides::new();
        o.insert(BACKLOG_OVERFLOW_POLICY.into(), "drop-oldest".into());
        assert_eq!(BacklogPolicy::from_overrides(&o), None);
        o.insert(MAX_BACKLOG_MESSAGES.into(), "-1".into());
        assert_eq!(BacklogPolicy::from_overrides(&o), None);
        o.insert(MAX_BACKLOG_BYTES.into(), "4096".into());
        o.insert(BACKLOG_GROUP.into(), "billing".into());
        assert_eq!(
            BacklogPolicy::from_overrides(&o),
            Some(BacklogPolicy {
                max_messages: None,
                max_bytes: Some(4096),
                group: Some("billing".into()),
                overflow: OverflowPolicy::DropOldest,
            })
        );
    }

    #[test]
    fn admit_reject_exactly_at_cap_passes_one_more_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = Log::open(dir.path(), tiny_config(), 0).expect("open");
        fill(&mut log, 4); // 8 records
        let p = policy(Some(10), None, OverflowPolicy::Reject);
        let incoming = Incoming::of(&two_records());
        assert_eq!(incoming.messages, 2);
        assert_eq!(
            admit(&p, &mut log, &two_records(), None).expect("admit"),
            None,
            "8 + 2 = 10"
        );
        log.append(&two_records(), 0).expect("append");
        let why = admit(&p, &mut log, &two_records(), None)
            .expect("admit")
            .expect("refused");
        assert!(why.contains("10 messages + 2 new > max.backlog.messages=10"), "{why}");
        // The group has read 4: the backlog is 6, so 2 more fit.
        assert_eq!(admit(&p, &mut log, &two_records(), Some(4)).expect("admit"), None);
    }

    #[test]
    fn admit_reject_by_bytes_counts_from_reference_batch() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = Log::open(dir.path(), tiny_config(), 0).expect("open");
        let size = fill(&mut log, 3);
        let p = policy(None, Some(4 * size as i64), OverflowPolicy::Reject);
        assert_eq!(admit(&p, &mut log, &two_records(), None).expect("admit"), None);
        log.append(&two_records(), 0).expect("append");
        assert!(admit(&p, &mut log, &two_records(), None).expect("admit").is_some());
        // Offset 3 lies in the second batch: three batches left to read, so one more fits.
        assert_eq!(admit(&p, &mut log, &two_records(), Some(3)).expect("admit"), None);
    }

    #[test]
    fn admit_drop_oldest_moves_log_start_to_keep_newest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = Log::open(dir.path(), tiny_config(), 0).expect("open");
        fill(&mut log, 5); // offsets 0..10
        let p = policy(Some(6), None, OverflowPolicy::DropOldest);
        assert_eq!(admit(&p, &mut log, &two_records(), None).expect("admit"), None);
        assert_eq!(log.log_start_offset(), 6, "10 + 2 - 6");
        // A single produce larger than the cap can never fit: refused, nothing dropped.
        let big = BatchBuilder::new(7).value_len(1).build();
        assert!(admit(&p, &mut log, &big, None).expect("admit").is_some());
        assert_eq!(log.log_start_offset(), 6);
    }

    #[test]
    fn admit_full_backlog_lets_idempotent_retry_through_as_duplicate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = Log::open(dir.path(), tiny_config(), 0).expect("open");
        let p = policy(Some(2), None, OverflowPolicy::Reject);
        let first = BatchBuilder::new(2).producer(7, 0, 0).build();
        assert_eq!(admit(&p, &mut log, &first, None).expect("admit"), None);
        let info = log.append(&first, 0).expect("append");
        // The acknowledgement was lost; the producer retries into a now-full backlog.
        assert_eq!(admit(&p, &mut log, &first, None).expect("admit"), None);
        let retry = log.append(&first, 0).expect("append");
        assert!(retry.is_duplicate);
        assert_eq!((retry.base_offset, log.log_end_offset()), (info.base_offset, 2));
        let next = BatchBuilder::new(2).producer(7, 0, 2).build();
        assert!(admit(&p, &mut log, &next, None).expect("admit").is_some());
    }

    #[test]
    fn admit_drop_oldest_by_bytes_keeps_whole_batches_within_cap() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = Log::open(dir.path(), tiny_config(), 0).expect("open");
        let size = fill(&mut log, 5);
        let p = policy(None, Some(3 * size as i64), OverflowPolicy::DropOldest);
        assert_eq!(admit(&p, &mut log, &two_records(), None).expect("admit"), None);
        assert_eq!(log.bytes_from(log.log_start_offset()).expect("bytes"), 2 * size);
        assert_eq!(log.log_start_offset(), 6);
    }
}
