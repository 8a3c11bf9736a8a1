//! The transaction coordinator's I/O shell: the pure `TxnCoordinator` behind one mutex, its
//! internal log `__transaction_state/0`, and carrying out the end of each transaction.
//!
//! Invariants: records are appended under the lock that changed the state (log order = state
//! order), and a change is durable before anything depends on it — an answer, or the markers of
//! a decided transaction. Ending a transaction (`finish`) writes a marker to every partition in
//! it, waits for them to be durable, makes committed offsets visible to their groups (durably),
//! and only then records the transaction complete. Every step is safe to repeat, which is how a
//! transaction decided before a crash is finished after it: start-up replays the log and the
//! timer task carries out every Prepare{Commit,Abort} nobody is working on. A transaction still
//! Ongoing at a crash keeps its start time and is aborted by its timeout.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use wharf_coordinator::{txn_record_key, Completion, TxnCoordinator, TxnLimits, TxnMetadata};
use wharf_log::{ControlType, LogConfig, LogError};

use crate::broker::{now_ms, Broker};
use crate::flusher::Flusher;
use crate::offsets_topic::{encode_key_values, open_internal_log, replay_key_values, OffsetsTopicError};
use crate::partition::Partition;

/// Directory (and reserved topic name) of the transaction log; the producer id block checkpoint
/// lives here too.
pub const TRANSACTION_STATE_DIR: &str = "__transaction_state";

/// How often idle transactional ids are expired, at most (Kafka checks hourly; expiry is days). A
/// shorter transactional.id.expiration.ms is checked as often as it is long.
const ID_EXPIRY_CHECK_MS: i64 = 60_000;

/// The coordinator, the transactional ids whose completion some task is carrying out, and the
/// expired ids whose tombstones the current call must append.
pub struct TxnInner {
    pub coordinator: TxnCoordinator,
    pub completing: HashSet<String>,
    pub tombstones: Vec<String>,
    next_id_expiry_ms: i64,
}

pub struct Transactions {
    inner: Mutex<TxnInner>,
    log: Arc<Partition>,
    flusher: Arc<Flusher>,
}

impl Transactions {
    /// Opens (recovering) the transaction log and replays it.
    pub fn open(
        data_dir: &Path,
        defaults: &LogConfig,
        limits: TxnLimits,
        flusher: Arc<Flusher>,
    ) -> Result<Transactions, OffsetsTopicError> {
        let now = now_ms();
        let log = open_internal_log(&data_dir.join(TRANSACTION_STATE_DIR).join("0"), defaults, now)?;
        let mut coordinator = TxnCoordinator::new(limits);
        replay_key_values(&log, |offset, key, value| {
            match TxnMetadata::decode_record(key, value) {
                Ok(Ok(meta)) => coordinator.replay(meta),
                Ok(Err(expired)) => coordinator.forget(&expired),
                Err(e) => tracing::warn!(offset, error = %e, "skipping unreadable transaction record"),
            }
        })?;
        let pending = coordinator.pending_completions().len();
        tracing::info!(
            transactional_ids = coordinator.len(),
            pending,
            "transaction state loaded"
        );
        Ok(Transactions {
            inner: Mutex::new(TxnInner {
                coordinator,
                completing: HashSet::new(),
                tombstones: Vec::new(),
                next_id_expiry_ms: 0,
            }),
            log: Arc::new(Partition::new(Arc::from(TRANSACTION_STATE_DIR), 0, log)),
            flusher,
        })
    }

    fn lock(&self) -> MutexGuard<'_, TxnInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` and appends the records it produced, under the same lock. Returns `f`'s result
    /// and the last appended offset, if any.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&mut TxnInner, &mut Vec<TxnMetadata>) -> T,
    ) -> (T, Result<Option<i64>, OffsetsTopicError>) {
        let mut inner = self.lock();
        let mut out = Vec::new();
        let result = f(&mut inner, &mut out);
        let tombstones = std::mem::take(&mut inner.tombstones);
        (result, self.append(&out, &tombstones))
    }

    fn append(&self, records: &[TxnMetadata], tombstones: &[String]) -> Result<Option<i64>, OffsetsTopicError> {
        if records.is_empty() && tombstones.is_empty() {
            return Ok(None);
        }
        let now = now_ms();
        let pairs: Vec<(Bytes, Option<Bytes>)> = records
            .iter()
            .map(|m| (m.record_key(), Some(m.record_value())))
            .chain(tombstones.iter().map(|id| (txn_record_key(id), None)))
            .collect();
        let batch = encode_key_values(&pairs, now)?;
        let appended = self.log.log().append(&batch, now);
        match appended {
            Ok(info) => {
                self.log.publish_log_end(info.last_offset + 1);
                Ok(Some(info.last_offset))
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot append to the transaction log");
                Err(e.into())
            }
        }
    }

    /// Waits until what `appended` wrote — or, if it wrote nothing, everything appended so far
    /// (an earlier change this answer depends on) — is fsynced. False if the log failed.
    pub async fn wait_durable(&self, appended: Result<Option<i64>, OffsetsTopicError>) -> bool {
        let last = match appended {
            Err(_) => return false,
            Ok(Some(last)) => last,
            Ok(None) => self.log.log().log_end_offset() - 1,
        };
        if last < 0 {
            return true;
        }
        self.flusher.request(&self.log);
        self.log.wait_durable(last).await
    }

    /// The `__transaction_state` partition (for the log cleaner: it is compacted like Kafka's).
    pub fn partition(&self) -> Arc<Partition> {
        Arc::clone(&self.log)
    }

    /// Flushes and closes the transaction log (after the flusher has stopped).
    pub fn close(&self) -> Result<(), LogError> {
        self.log.log().close_in_place()
    }
}

/// Carries out `c` — markers, then committed offsets, then the completion record — and releases
/// its claim. False if a step failed; the transaction stays Prepare* and the timer retries it.
pub async fn finish(broker: &Arc<Broker>, c: Completion) -> bool {
    let done = finish_steps(broker, &c).await;
    let (_, appended) = broker.transactions.with(|inner, out| {
        if done {
            inner.coordinator.complete(&c, now_ms(), out);
        }
        inner.completing.remove(&c.transactional_id);
    });
    done && appended.is_ok()
}

async fn finish_steps(broker: &Arc<Broker>, c: &Completion) -> bool {
    let marker = if c.commit {
        ControlType::Commit
    } else {
        ControlType::Abort
    };
    let now = now_ms();
    let mut written = Vec::with_capacity(c.partitions.len());
    for (topic, index) in &c.partitions {
        // A deleted topic (or partition) has no transaction left to end.
        let Some(p) = broker.registry.topic(topic).and_then(|t| t.partition(*index)) else {
            continue;
        };
        let appended = p.log().append_marker(c.producer_id, c.producer_epoch, 0, marker, now);
        match appended {
            Ok(info) => {
                p.publish_log_end(info.last_offset + 1);
                broker.flusher.request(&p);
                written.push((p, info.last_offset));
            }
            // A newer epoch already wrote here, so this transaction ended here already.
            Err(LogError::InvalidProducerEpoch { .. }) => {}
            Err(e) => {
                tracing::error!(transactional_id = %c.transactional_id, topic = %topic, partition = index, error = %e, "cannot write transaction marker");
                return false;
            }
        }
    }
    for (p, last) in written {
        if !p.wait_durable(last).await {
            return false;
        }
    }
    if c.commit && !c.offsets.is_empty() {
        let (refused, appended) = broker
            .groups
            .with(|g, now, fx| g.apply_txn_offsets(&c.offsets, now, fx));
        for (o, e) in refused {
            tracing::warn!(transactional_id = %c.transactional_id, group = %o.group_id, topic = %o.topic, partition = o.partition, error = %e, "committed transaction's offset refused by the group");
        }
        match appended {
            Ok(Some(last)) if !broker.groups.wait_durable(last).await => return false,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    tracing::debug!(transactional_id = %c.transactional_id, commit = c.commit, partitions = c.partitions.len(), "transaction markers written");
    true
}

/// Aborts timed-out transactions, finishes decided ones nobody is working on (after a restart:
/// those a crash interrupted), and at most once a minute expires idle transactional ids. Driven by the
/// server's transaction timer.
pub fn tick(broker: &Arc<Broker>) {
    let now = now_ms();
    let (due, appended) = broker.transactions.with(|inner, out| {
        let mut due = inner.coordinator.expire(now, out);
        for c in inner.coordinator.pending_completions() {
            if !due.iter().any(|d| d.transactional_id == c.transactional_id) {
                due.push(c);
            }
        }
        due.retain(|c| inner.completing.insert(c.transactional_id.clone()));
        if now >= inner.next_id_expiry_ms {
            let every = ID_EXPIRY_CHECK_MS.min(inner.coordinator.limits().transactional_id_expiration_ms);
            inner.next_id_expiry_ms = now + every;
            let expired = inner.coordinator.expire_ids(now);
            if !expired.is_empty() {
                tracing::info!(transactional_ids = expired.len(), "expired idle transactional ids");
            }
            inner.tombstones.extend(expired);
        }
        due
    });
    if due.is_empty() {
        return;
    }
    let broker = Arc::clone(broker);
    tokio::spawn(async move {
        if !broker.transactions.wait_durable(appended).await {
            let _ = broker.transactions.with(|inner, _| {
                for c in &due {
                    inner.completing.remove(&c.transactional_id);
                }
            });
            return;
        }
        for c in due {
            tracing::info!(transactional_id = %c.transactional_id, producer_epoch = c.producer_epoch, commit = c.commit, "completing transaction");
            finish(&broker, c).await;
        }
    });
}
