//! `TxnCoordinator`: Kafka's transaction coordinator (KIP-98) as a pure state machine.
//!
//! Every call that changes state takes `now_ms` (stamped on the metadata) and pushes the metadata of each transactional id it changed onto
//! `out`; the caller appends those to `__transaction_state` and makes them durable before it
//! answers (and before it writes any marker), so the log always knows at least as much as any
//! client or partition. Finishing a transaction is a [`Completion`] the caller carries out
//! (markers, offsets) before calling [`TxnCoordinator::complete`]. After a restart, replay the
//! log and carry out [`TxnCoordinator::pending_completions`]: a transaction that reached
//! Prepare{Commit,Abort} is finished the same way; one still Ongoing is aborted by its timeout.
//!
//! Epochs follow Kafka: InitProducerId bumps the epoch (a newer producer fences an older one,
//! whose requests then get PRODUCER_FENCED), aborting an open transaction of the old epoch first;
//! a transaction timeout aborts with a bumped epoch too, so the stalled producer is fenced.
//! Producer ids come from the caller (its durable allocator), for a new transactional id or when
//! the epoch would overflow.

use std::collections::HashMap;

use crate::txn::state::{Completion, PendingOffset, TxnError, TxnLimits, TxnMetadata, TxnStatus};

/// The answer to InitProducerId.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitResult {
    Ready {
        producer_id: i64,
        producer_epoch: i16,
    },
    /// The previous epoch's transaction was open: it is now PrepareAbort under a bumped epoch.
    /// Carry out the completion, call `complete`, then InitProducerId again.
    AbortFirst(Completion),
}

/// The answer to EndTxn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndResult {
    /// The transaction already ended this way (a retried EndTxn).
    AlreadyDone,
    /// Carry this out, then call `complete`.
    Complete(Completion),
}

#[derive(Debug, Default)]
pub struct TxnCoordinator {
    txns: HashMap<String, TxnMetadata>,
    /// producer id -> its transactional id, for checking produced batches.
    by_producer: HashMap<i64, String>,
    limits: TxnLimits,
}

impl TxnCoordinator {
    pub fn new(limits: TxnLimits) -> TxnCoordinator {
        TxnCoordinator {
            txns: HashMap::new(),
            by_producer: HashMap::new(),
            limits,
        }
    }

    pub fn limits(&self) -> &TxnLimits {
        &self.limits
    }

    pub fn get(&self, transactional_id: &str) -> Option<&TxnMetadata> {
        self.txns.get(transactional_id)
    }

    /// Every transactional id, sorted by id.
    pub fn all(&self) -> Vec<&TxnMetadata> {
        let mut all: Vec<&TxnMetadata> = self.txns.values().collect();
        all.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
        all
    }

    /// InitProducerId with a transactional id. `expected` is the (producer id, epoch) a v3+
    /// client names when it re-initialises (KIP-360), `None` for a fresh start. `fresh_id`
    /// allocates a producer id durably.
    pub fn init_producer_id(
        &mut self,
        transactional_id: &str,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
        fresh_id: impl FnOnce() -> Option<i64>,
        now_ms: i64,
        out: &mut Vec<TxnMetadata>,
    ) -> Result<InitResult, TxnError> {
        if transactional_id.is_empty() {
            return Err(TxnError::InvalidRequest("empty transactional id"));
        }
        if timeout_ms <= 0 || timeout_ms > self.limits.max_timeout_ms {
            return Err(TxnError::InvalidTransactionTimeout {
                timeout_ms,
                max_ms: self.limits.max_timeout_ms,
            });
        }
        let Some(meta) = self.txns.get_mut(transactional_id) else {
            if self.txns.len() >= self.limits.max_transactional_ids {
                return Err(TxnError::TransactionalIdLimit(self.limits.max_transactional_ids));
            }
            let producer_id = fresh_id().ok_or(TxnError::CoordinatorNotAvailable)?;
            let mut meta = TxnMetadata::new(transactional_id.to_string(), producer_id, 0, timeout_ms);
            meta.last_update_ms = now_ms;
            out.push(meta.clone());
            self.by_producer.insert(producer_id, transactional_id.to_string());
            self.txns.insert(transactional_id.to_string(), meta);
            return Ok(InitResult::Ready {
                producer_id,
                producer_epoch: 0,
            });
        };
        match meta.status {
            TxnStatus::PrepareCommit | TxnStatus::PrepareAbort => return Err(TxnError::ConcurrentTransactions),
            TxnStatus::Ongoing => {
                // Fence the old epoch before anything else can happen, then abort its transaction.
                let completion = prepare(meta, false, true);
                meta.last_update_ms = now_ms;
                out.push(meta.clone());
                return Ok(InitResult::AbortFirst(completion));
            }
            TxnStatus::Empty | TxnStatus::CompleteCommit | TxnStatus::CompleteAbort => {}
        }
        if let Some((pid, epoch)) = expected {
            if pid != meta.producer_id || epoch != meta.producer_epoch {
                return Err(TxnError::ProducerFenced {
                    epoch,
                    current: meta.producer_epoch,
                });
            }
        }
        if meta.producer_epoch >= i16::MAX - 1 {
            // Epoch exhausted (the last value is kept for fencing): start over on a new id.
            let old = meta.producer_id;
            meta.producer_id = fresh_id().ok_or(TxnError::CoordinatorNotAvailable)?;
            meta.producer_epoch = 0;
            self.by_producer.remove(&old);
            self.by_producer.insert(meta.producer_id, transactional_id.to_string());
        } else {
            meta.producer_epoch += 1;
        }
        meta.timeout_ms = timeout_ms;
        meta.status = TxnStatus::Empty;
        clear(meta);
        meta.last_update_ms = now_ms;
        out.push(meta.clone());
        Ok(InitResult::Ready {
            producer_id: meta.producer_id,
            producer_epoch: meta.producer_epoch,
        })
    }

    /// The transaction of `transactional_id`, if `producer_id` and `producer_epoch` are current
    /// and it is not finishing a previous transaction; an Ongoing transaction starts here.
    fn ongoing(
        &mut self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        now_ms: i64,
    ) -> Result<&mut TxnMetadata, TxnError> {
        let meta = self
            .txns
            .get_mut(transactional_id)
            .ok_or(TxnError::InvalidProducerIdMapping)?;
        check_producer(meta, producer_id, producer_epoch)?;
        if meta.status.is_preparing() {
            return Err(TxnError::ConcurrentTransactions);
        }
        if meta.status != TxnStatus::Ongoing {
            clear(meta);
            meta.status = TxnStatus::Ongoing;
            meta.start_ms = now_ms;
        }
        Ok(meta)
    }

    /// AddPartitionsToTxn. All or nothing: past the partition limit none is added.
    pub fn add_partitions(
        &mut self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[(String, i32)],
        now_ms: i64,
        out: &mut Vec<TxnMetadata>,
    ) -> Result<(), TxnError> {
        let max = self.limits.max_partitions_per_txn;
        let meta = self
            .txns
            .get(transactional_id)
            .ok_or(TxnError::InvalidProducerIdMapping)?;
        check_producer(meta, producer_id, producer_epoch)?;
        let new = partitions.iter().filter(|p| !meta.partitions.contains(*p)).count();
        let held = if meta.status == TxnStatus::Ongoing {
            meta.partitions.len() + meta.offsets.len()
        } else {
            0
        };
        if held + new > max {
            return Err(TxnError::PartitionLimit(max));
        }
        let before = meta.clone();
        let meta = self.ongoing(transactional_id, producer_id, producer_epoch, now_ms)?;
        meta.partitions.extend(partitions.iter().cloned());
        if *meta != before {
            meta.last_update_ms = now_ms;
            out.push(meta.clone());
        }
        Ok(())
    }

    /// AddOffsetsToTxn: the group's offsets committed in this transaction become part of it.
    pub fn add_offsets(
        &mut self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        group_id: &str,
        now_ms: i64,
        out: &mut Vec<TxnMetadata>,
    ) -> Result<(), TxnError> {
        let before = self.txns.get(transactional_id).cloned();
        let meta = self.ongoing(transactional_id, producer_id, producer_epoch, now_ms)?;
        meta.groups.insert(group_id.to_string());
        if Some(&*meta) != before.as_ref() {
            meta.last_update_ms = now_ms;
            out.push(meta.clone());
        }
        Ok(())
    }

    /// TxnOffsetCommit: offsets held pending until the transaction ends. The group must have been
    /// added with AddOffsetsToTxn (INVALID_TXN_STATE otherwise, as the offsets would never be
    /// made visible). Group membership is checked by the caller, against the group coordinator.
    pub fn commit_offsets(
        &mut self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        offsets: Vec<PendingOffset>,
        now_ms: i64,
        out: &mut Vec<TxnMetadata>,
    ) -> Result<(), TxnError> {
        let max = self.limits.max_partitions_per_txn;
        let meta = self
            .txns
            .get_mut(transactional_id)
            .ok_or(TxnError::InvalidProducerIdMapping)?;
        check_producer(meta, producer_id, producer_epoch)?;
        if meta.status.is_preparing() {
            return Err(TxnError::ConcurrentTransactions);
        }
        if meta.status != TxnStatus::Ongoing || offsets.iter().any(|o| !meta.groups.contains(&o.group_id)) {
            return Err(TxnError::InvalidTxnState(
                "commit offsets of a group not added to the transaction",
            ));
        }
        for o in offsets {
            let same = |p: &PendingOffset| p.group_id == o.group_id && p.topic == o.topic && p.partition == o.partition;
            match meta.offsets.iter().position(same) {
                Some(i) => meta.offsets[i] = o,
                None if meta.partitions.len() + meta.offsets.len() >= max => return Err(TxnError::PartitionLimit(max)),
                None => meta.offsets.push(o),
            }
        }
        meta.last_update_ms = now_ms;
        out.push(meta.clone());
        Ok(())
    }

    /// EndTxn.
    pub fn end_txn(
        &mut self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        now_ms: i64,
        out: &mut Vec<TxnMetadata>,
    ) -> Result<EndResult, TxnError> {
        let meta = self
            .txns
            .get_mut(transactional_id)
            .ok_or(TxnError::InvalidProducerIdMapping)?;
        check_producer(meta, producer_id, producer_epoch)?;
        match (meta.status, commit) {
            (TxnStatus::Ongoing, _) => {
                let completion = prepare(meta, commit, false);
                meta.last_update_ms = now_ms;
                out.push(meta.clone());
                Ok(EndResult::Complete(completion))
            }
            (TxnStatus::CompleteCommit, true) | (TxnStatus::CompleteAbort, false) => Ok(EndResult::AlreadyDone),
            (TxnStatus::PrepareCommit, true) | (TxnStatus::PrepareAbort, false) => {
                Err(TxnError::ConcurrentTransactions)
            }
            _ => Err(TxnError::InvalidTxnState("end a transaction that is not open")),
        }
    }

    /// Records that `c`'s markers and offsets are written: the transaction is complete.
    pub fn complete(&mut self, c: &Completion, now_ms: i64, out: &mut Vec<TxnMetadata>) {
        let Some(meta) = self.txns.get_mut(&c.transactional_id) else {
            return;
        };
        let expected = if c.commit {
            TxnStatus::PrepareCommit
        } else {
            TxnStatus::PrepareAbort
        };
        if meta.status != expected || meta.producer_id != c.producer_id || meta.producer_epoch != c.producer_epoch {
            return;
        }
        meta.status = if c.commit {
            TxnStatus::CompleteCommit
        } else {
            TxnStatus::CompleteAbort
        };
        clear(meta);
        meta.last_update_ms = now_ms;
        out.push(meta.clone());
    }

    /// Aborts every transaction open longer than its timeout, bumping its epoch so the producer
    /// that stalled is fenced (Kafka's abortTimedOutTransactions).
    pub fn expire(&mut self, now_ms: i64, out: &mut Vec<TxnMetadata>) -> Vec<Completion> {
        let mut due = Vec::new();
        for meta in self.txns.values_mut() {
            if meta.status == TxnStatus::Ongoing && now_ms.saturating_sub(meta.start_ms) > i64::from(meta.timeout_ms) {
                due.push(prepare(meta, false, true));
                meta.last_update_ms = now_ms;
                out.push(meta.clone());
            }
        }
        due.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
        due
    }

    /// Forgets transactional ids with no transaction open or completing whose last change is at
    /// least transactional.id.expiration.ms old (Kafka's default: 7 days), so the coordinator
    /// holds only ids in use. Returns them, for the caller to tombstone in its log. A producer
    /// coming back later gets a fresh producer id.
    pub fn expire_ids(&mut self, now_ms: i64) -> Vec<String> {
        let limit = self.limits.transactional_id_expiration_ms;
        let mut gone: Vec<String> = self
            .txns
            .values()
            .filter(|m| {
                matches!(
                    m.status,
                    TxnStatus::Empty | TxnStatus::CompleteCommit | TxnStatus::CompleteAbort
                )
            })
            .filter(|m| now_ms.saturating_sub(m.last_update_ms) >= limit)
            .map(|m| m.transactional_id.clone())
            .collect();
        gone.sort();
        for id in &gone {
            self.forget(id);
        }
        gone
    }

    /// Removes a transactional id (expiry, or its tombstone on replay).
    pub fn forget(&mut self, transactional_id: &str) {
        if let Some(m) = self.txns.remove(transactional_id) {
            self.by_producer.remove(&m.producer_id);
        }
    }

    /// Transactions decided but not completed (after a replay: the ones a crash interrupted).
    pub fn pending_completions(&self) -> Vec<Completion> {
        let mut pending: Vec<Completion> = self
            .txns
            .values()
            .filter(|m| m.status.is_preparing())
            .map(|m| completion(m, m.status == TxnStatus::PrepareCommit))
            .collect();
        pending.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
        pending
    }

    /// Applies one record of the internal log at start-up (newest wins).
    pub fn replay(&mut self, meta: TxnMetadata) {
        if let Some(old) = self.txns.get(&meta.transactional_id) {
            self.by_producer.remove(&old.producer_id);
        }
        self.by_producer.insert(meta.producer_id, meta.transactional_id.clone());
        self.txns.insert(meta.transactional_id.clone(), meta);
    }

    /// Whether a transactional batch of `producer_id`/`producer_epoch` may be written to this
    /// partition: its transaction must be Ongoing and hold the partition (AddPartitionsToTxn
    /// first, which every client waits for). This is the first part of KIP-890: a batch that
    /// arrives outside its transaction — from a zombie, or after the transaction ended — would
    /// otherwise open a transaction in the partition that no marker ever ends, holding its last
    /// stable offset back for good.
    pub fn verify_partition(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        topic: &str,
        partition: i32,
    ) -> Result<(), TxnError> {
        let meta = self
            .by_producer
            .get(&producer_id)
            .and_then(|id| self.txns.get(id))
            .ok_or(TxnError::InvalidProducerIdMapping)?;
        if producer_epoch != meta.producer_epoch {
            return Err(TxnError::ProducerFenced {
                epoch: producer_epoch,
                current: meta.producer_epoch,
            });
        }
        let added = meta.partitions.iter().any(|(t, p)| t == topic && *p == partition);
        if meta.status != TxnStatus::Ongoing || !added {
            return Err(TxnError::InvalidTxnState("write to a partition not in the transaction"));
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.txns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.txns.is_empty()
    }
}

fn check_producer(meta: &TxnMetadata, producer_id: i64, producer_epoch: i16) -> Result<(), TxnError> {
    if producer_id != meta.producer_id {
        return Err(TxnError::InvalidProducerIdMapping);
    }
    if producer_epoch != meta.producer_epoch {
        return Err(TxnError::ProducerFenced {
            epoch: producer_epoch,
            current: meta.producer_epoch,
        });
    }
    Ok(())
}

fn clear(meta: &mut TxnMetadata) {
    meta.partitions.clear();
    meta.groups.clear();
    meta.offsets.clear();
    meta.start_ms = -1;
}

/// Moves an Ongoing transaction to Prepare{Commit,Abort}, bumping the epoch when fencing.
fn prepare(meta: &mut TxnMetadata, commit: bool, bump_epoch: bool) -> Completion {
    debug_assert_eq!(meta.status, TxnStatus::Ongoing);
    if bump_epoch && meta.producer_epoch < i16::MAX {
        meta.producer_epoch += 1;
    }
    meta.status = if commit {
        TxnStatus::PrepareCommit
    } else {
        TxnStatus::PrepareAbort
    };
    completion(meta, commit)
}

fn completion(meta: &TxnMetadata, commit: bool) -> Completion {
    Completion {
        transactional_id: meta.transactional_id.clone(),
        producer_id: meta.producer_id,
        producer_epoch: meta.producer_epoch,
        commit,
        partitions: meta.partitions.iter().cloned().collect(),
        offsets: if commit { meta.offsets.clone() } else { Vec::new() },
    }
}
