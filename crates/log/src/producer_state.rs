//! Idempotent-producer state of one partition: for each producer id, its epoch and the last
//! [`BATCHES_PER_PRODUCER`] batches it wrote, so a retried batch is recognised and a gap refused.
//!
//! Follows Kafka's ProducerStateManager / ProducerAppendInfo (KIP-98, with KIP-360's relaxation):
//! - an exact repeat (same epoch, same first and last sequence) of one of the cached batches is a
//!   duplicate: nothing is written and the append answers with the original offsets;
//! - an older epoch is refused (INVALID_PRODUCER_EPOCH; Kafka answers that rather than
//!   PRODUCER_FENCED since 2.7 so clients may retry);
//! - a newer epoch must start at sequence 0; the same epoch must continue at last sequence + 1
//!   (wrapping after i32::MAX); anything else is OUT_OF_ORDER_SEQUENCE_NUMBER;
//! - an unknown producer (never seen, expired, evicted, or whose batches were all deleted) is
//!   accepted at any sequence. Since KIP-360 Kafka no longer answers UNKNOWN_PRODUCER_ID here,
//!   because retention can legitimately remove a live producer's state.
//!
//! The state is derived data: `record` is applied to every batch that reaches the log, live or
//! while rebuilding from segment headers on open (`producer_recovery.rs`), so the same log
//! always yields the same state. Pure and deterministic: time is passed in. Transaction markers move
//! only the epoch; open and aborted transactions are tracked in `transactions.rs`.

use crate::batch::BatchHeader;
use crate::error::LogError;
use std::collections::{HashMap, VecDeque};

/// Batches remembered per producer: Kafka's NUM_BATCHES_TO_RETAIN, the most a client keeps in
/// flight per partition with idempotence (max.in.flight.requests.per.connection <= 5).
pub const BATCHES_PER_PRODUCER: usize = 5;
/// producerEpoch of a batch or entry that has none.
pub const NO_PRODUCER_EPOCH: i16 = -1;

/// What the log remembers of one appended batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMetadata {
    pub first_sequence: i32,
    pub last_sequence: i32,
    pub base_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
}

/// One producer id's state in this partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerEntry {
    pub producer_epoch: i16,
    /// Oldest first, at most [`BATCHES_PER_PRODUCER`], all of `producer_epoch`.
    pub batches: VecDeque<BatchMetadata>,
    /// Broker clock (ms) of the last append; idle expiry counts from here.
    pub last_append_ms: i64,
}

impl ProducerEntry {
    /// Last sequence of the newest batch, if any.
    pub fn last_sequence(&self) -> Option<i32> {
        self.batches.back().map(|b| b.last_sequence)
    }
}

/// How an idempotent batch relates to what the partition already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceCheck {
    /// Not idempotent, or the next batch in sequence: write it.
    Append,
    /// Already written: answer with these offsets and write nothing.
    Duplicate(BatchMetadata),
}

/// The last sequence of a batch starting at `base` with `last_offset_delta` (Kafka's
/// DefaultRecordBatch.incrementSequence: sequences wrap from i32::MAX to 0).
pub fn last_sequence(base: i32, last_offset_delta: i32) -> i32 {
    if base > i32::MAX - last_offset_delta {
        last_offset_delta - (i32::MAX - base) - 1
    } else {
        base + last_offset_delta
    }
}

fn is_in_sequence(last: i32, next: i32) -> bool {
    i64::from(next) == i64::from(last) + 1 || (next == 0 && last == i32::MAX)
}

/// Every producer's state in one partition, bounded by `max_producers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerState {
    producers: HashMap<i64, ProducerEntry>,
    max_producers: usize,
    expiration_ms: i64,
}

impl ProducerState {
    pub fn new(max_producers: usize, expiration_ms: i64) -> ProducerState {
        ProducerState {
            producers: HashMap::new(),
            max_producers,
            expiration_ms,
        }
    }

    pub fn len(&self) -> usize {
        self.producers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }

    pub fn get(&self, producer_id: i64) -> Option<&ProducerEntry> {
        self.producers.get(&producer_id)
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = (&i64, &ProducerEntry)> {
        self.producers.iter()
    }

    pub(crate) fn insert(&mut self, producer_id: i64, entry: ProducerEntry) {
        self.producers.insert(producer_id, entry);
    }

    /// New bounds (a config change); evicts down to the new maximum at once.
    pub fn set_limits(&mut self, max_producers: usize, expiration_ms: i64) {
        self.max_producers = max_producers;
        self.expiration_ms = expiration_ms;
        while self.producers.len() > self.max_producers {
            self.evict_least_recent(None);
        }
    }

    /// Checks the batches of one append. An append holding an idempotent batch must hold exactly
    /// that one batch (Kafka requires one batch per partition from Produce v3 on), so a duplicate
    /// is a whole-append answer.
    pub fn check_append(&self, batches: &[BatchHeader]) -> Result<SequenceCheck, LogError> {
        match batches {
            [only] => self.check(only),
            _ if batches.iter().any(|h| h.producer_id >= 0) => Err(LogError::InvalidRecord {
                reason: "an idempotent produce must carry exactly one batch per partition",
            }),
            _ => Ok(SequenceCheck::Append),
        }
    }

    /// Checks one batch against the producer's state (duplicate first, then epoch, then sequence,
    /// in Kafka's order).
    pub fn check(&self, h: &BatchHeader) -> Result<SequenceCheck, LogError> {
        if h.producer_id < 0 {
            return Ok(SequenceCheck::Append);
        }
        let Some(entry) = self.producers.get(&h.producer_id) else {
            return Ok(SequenceCheck::Append);
        };
        let last_seq = last_sequence(h.base_sequence, h.last_offset_delta);
        if h.producer_epoch == entry.producer_epoch {
            if let Some(b) = entry
                .batches
                .iter()
                .find(|b| b.first_sequence == h.base_sequence && b.last_sequence == last_seq)
            {
                return Ok(SequenceCheck::Duplicate(*b));
            }
        }
        let out_of_order = || LogError::OutOfOrderSequence {
            producer_id: h.producer_id,
            producer_epoch: h.producer_epoch,
            sequence: h.base_sequence,
            last_sequence: entry.last_sequence().unwrap_or(-1),
        };
        if h.producer_epoch < entry.producer_epoch {
            return Err(LogError::InvalidProducerEpoch {
                producer_id: h.producer_id,
                producer_epoch: h.producer_epoch,
                current_epoch: entry.producer_epoch,
            });
        }
        if h.producer_epoch > entry.producer_epoch {
            if h.base_sequence != 0 && entry.producer_epoch != NO_PRODUCER_EPOCH {
                return Err(out_of_order());
            }
            return Ok(SequenceCheck::Append);
        }
        match entry.last_sequence() {
            Some(last) if !is_in_sequence(last, h.base_sequence) => Err(out_of_order()),
            _ => Ok(SequenceCheck::Append),
        }
    }

    /// Records a batch now in the log (`h.base_offset` is its assigned offset), at broker time
    /// `now_ms`. No validation: the live path checked it, and recovery replays what the log holds.
    /// A new producer beyond `max_producers` evicts the one idle longest.
    pub fn record(&mut self, h: &BatchHeader, now_ms: i64) {
        if h.producer_id < 0 {
            return;
        }
        let is_new = !self.producers.contains_key(&h.producer_id);
        if h.is_control() {
            // A transaction marker carries no sequence; it only moves the epoch forward (an abort
            // after a timeout or a fencing bumps it), fencing the older one here — also for a
            // producer that never wrote here, whose late batch would otherwise open a
            // transaction no marker ever ends.
            let entry = self.producers.entry(h.producer_id).or_insert_with(|| ProducerEntry {
                producer_epoch: h.producer_epoch,
                batches: VecDeque::with_capacity(BATCHES_PER_PRODUCER),
                last_append_ms: now_ms,
            });
            if h.producer_epoch > entry.producer_epoch {
                entry.producer_epoch = h.producer_epoch;
                entry.batches.clear();
            }
            entry.last_append_ms = entry.last_append_ms.max(now_ms);
            if is_new && self.producers.len() > self.max_producers {
                self.evict_least_recent(Some(h.producer_id));
            }
            return;
        }
        let meta = BatchMetadata {
            first_sequence: h.base_sequence,
            last_sequence: last_sequence(h.base_sequence, h.last_offset_delta),
            base_offset: h.base_offset,
            last_offset: h.last_offset(),
            max_timestamp: h.max_timestamp,
        };
        let entry = self.producers.entry(h.producer_id).or_insert_with(|| ProducerEntry {
            producer_epoch: h.producer_epoch,
            batches: VecDeque::with_capacity(BATCHES_PER_PRODUCER),
            last_append_ms: now_ms,
        });
        if entry.producer_epoch != h.producer_epoch {
            entry.producer_epoch = h.producer_epoch;
            entry.batches.clear();
        }
        if entry.batches.len() == BATCHES_PER_PRODUCER {
            entry.batches.pop_front();
        }
        entry.batches.push_back(meta);
        entry.last_append_ms = entry.last_append_ms.max(now_ms);
        if is_new && self.producers.len() > self.max_producers {
            self.evict_least_recent(Some(h.producer_id));
        }
        debug_assert!(self.producers.len() <= self.max_producers);
    }

    /// Removes the entry appended to longest ago (lowest producer id on ties, so replay is
    /// deterministic), never `keep`.
    fn evict_least_recent(&mut self, keep: Option<i64>) {
        let victim = self
            .producers
            .iter()
            .filter(|(id, _)| Some(**id) != keep)
            .min_by_key(|(id, e)| (e.last_append_ms, **id))
            .map(|(id, _)| *id);
        if let Some(id) = victim {
            tracing::debug!(
                producer_id = id,
                "producer state full; evicting the longest idle producer"
            );
            self.producers.remove(&id);
        }
    }

    /// Forgets producers idle for at least `expiration_ms` (producer.id.expiration.ms). Returns
    /// how many were removed.
    pub fn expire(&mut self, now_ms: i64) -> usize {
        let before = self.producers.len();
        let limit = self.expiration_ms;
        self.producers
            .retain(|_, e| now_ms.saturating_sub(e.last_append_ms) < limit);
        before - self.producers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::BatchBuilder;

    fn header(pid: i64, epoch: i16, seq: i32, records: u32, base_offset: i64) -> BatchHeader {
        let bytes = BatchBuilder::new(records).producer(pid, epoch, seq).build();
        BatchHeader {
            base_offset,
            ..BatchHeader::parse(&bytes).expect("header")
        }
    }

    fn state() -> ProducerState {
        ProducerState::new(3, 1000)
    }

    #[test]
    fn check_unknown_producer_any_sequence_appends() {
        let s = state();
        assert_eq!(s.check(&header(1, 0, 42, 1, 0)).expect("ok"), SequenceCheck::Append);
    }

    #[test]
    fn check_next_sequence_appends_and_gap_is_out_of_order() {
        let mut s = state();
        s.record(&header(1, 0, 0, 3, 0), 0);
        assert_eq!(s.check(&header(1, 0, 3, 1, 0)).expect("ok"), SequenceCheck::Append);
        assert!(matches!(
            s.check(&header(1, 0, 4, 1, 0)),
            Err(LogError::OutOfOrderSequence {
                sequence: 4,
                last_sequence: 2,
                ..
            })
        ));
        // A sequence already written but not an exact cached batch is out of order too.
        assert!(matches!(
            s.check(&header(1, 0, 1, 1, 0)),
            Err(LogError::OutOfOrderSequence { .. })
        ));
    }

    #[test]
    fn check_exact_repeat_of_last_five_is_duplicate_with_original_offsets() {
        let mut s = state();
        for i in 0..7 {
            s.record(&header(1, 0, i * 2, 2, 100 + i64::from(i) * 2), 0);
        }
        // Batches 2..=6 are cached; batch 1 (seq 2-3) fell out.
        assert!(matches!(
            s.check(&header(1, 0, 2, 2, 0)),
            Err(LogError::OutOfOrderSequence { .. })
        ));
        for i in 2..7 {
            match s.check(&header(1, 0, i * 2, 2, 0)).expect("dup") {
                SequenceCheck::Duplicate(b) => {
                    assert_eq!(
                        (b.base_offset, b.last_offset),
                        (100 + i64::from(i) * 2, 101 + i64::from(i) * 2)
                    )
                }
                other => panic!("expected duplicate, got {other:?}"),
            }
        }
    }

    #[test]
    fn check_epochs_older_refused_newer_must_start_at_zero() {
        let mut s = state();
        s.record(&header(1, 3, 0, 1, 0), 0);
        assert!(matches!(
            s.check(&header(1, 2, 1, 1, 0)),
            Err(LogError::InvalidProducerEpoch { current_epoch: 3, .. })
        ));
        assert!(matches!(
            s.check(&header(1, 4, 5, 1, 0)),
            Err(LogError::OutOfOrderSequence { .. })
        ));
        assert_eq!(s.check(&header(1, 4, 0, 1, 0)).expect("ok"), SequenceCheck::Append);
        s.record(&header(1, 4, 0, 1, 1), 0);
        assert_eq!(
            s.get(1).expect("entry").batches.len(),
            1,
            "a new epoch clears the cache"
        );
    }

    #[test]
    fn last_sequence_wraps_after_i32_max() {
        assert_eq!(last_sequence(i32::MAX, 0), i32::MAX);
        assert_eq!(last_sequence(i32::MAX, 1), 0);
        assert_eq!(last_sequence(i32::MAX - 1, 3), 1);
        let mut s = state();
        s.record(&header(1, 0, i32::MAX - 1, 2, 0), 0);
        assert_eq!(s.check(&header(1, 0, 0, 1, 2)).expect("wraps"), SequenceCheck::Append);
    }

    #[test]
    fn check_append_idempotent_batch_among_several_is_invalid_record() {
        let s = state();
        let plain = header(-1, -1, -1, 1, 0);
        let idem = header(1, 0, 0, 1, 0);
        assert!(matches!(
            s.check_append(&[plain, idem]),
            Err(LogError::InvalidRecord { .. })
        ));
        assert_eq!(s.check_append(&[plain, plain]).expect("ok"), SequenceCheck::Append);
    }

    #[test]
    fn record_at_max_producers_evicts_longest_idle_and_max_is_kept() {
        let mut s = state();
        for pid in 0..3 {
            s.record(&header(pid, 0, 0, 1, pid), pid * 10);
        }
        assert_eq!(s.len(), 3, "exactly the maximum is held");
        s.record(&header(9, 0, 0, 1, 3), 100);
        assert_eq!(s.len(), 3);
        assert!(
            s.get(0).is_none() && s.get(9).is_some(),
            "the longest idle producer was evicted"
        );
        // An evicted producer is unknown: accepted at any sequence.
        assert_eq!(s.check(&header(0, 0, 7, 1, 0)).expect("ok"), SequenceCheck::Append);
    }

    #[test]
    fn expire_removes_exactly_those_idle_for_expiration_ms() {
        let mut s = state();
        s.record(&header(1, 0, 0, 1, 0), 0);
        s.record(&header(2, 0, 0, 1, 1), 1);
        assert_eq!(s.expire(999), 0);
        assert_eq!(s.expire(1000), 1);
        assert!(s.get(1).is_none() && s.get(2).is_some());
    }
}
