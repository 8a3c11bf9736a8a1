//! The group coordinator's I/O shell: the pure `GroupCoordinator` behind one mutex, the parked
//! JoinGroup/SyncGroup requests it will answer, and the internal log its records go to.
//!
//! Invariants: records are appended under the same lock that changed the state, so the log's
//! order is the state's order; an answer that depends on records (a completed SyncGroup, an
//! OffsetCommit) is released only once those records are fsynced, through the shared flusher.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;
use wharf_coordinator::{
    Effects, GroupCoordinator, GroupError, GroupLimits, JoinParams, JoinResult, SyncParams, SyncResult, WaiterId,
};
use wharf_log::LogConfig;

use crate::broker::now_ms;
use crate::flusher::Flusher;
use crate::offsets_topic::{OffsetsTopic, OffsetsTopicError};

pub type JoinReply = Result<JoinResult, GroupError>;
pub type SyncReply = Result<SyncResult, GroupError>;

struct Inner {
    coordinator: GroupCoordinator,
    joins: HashMap<WaiterId, oneshot::Sender<JoinReply>>,
    syncs: HashMap<WaiterId, oneshot::Sender<SyncReply>>,
    next_waiter: WaiterId,
}

pub struct Groups {
    inner: Mutex<Inner>,
    topic: OffsetsTopic,
    flusher: Arc<Flusher>,
}

/// Replies to deliver once the records they depend on are durable.
struct Deliveries {
    joins: Vec<(oneshot::Sender<JoinReply>, JoinReply)>,
    syncs: Vec<(oneshot::Sender<SyncReply>, SyncReply)>,
}

impl Groups {
    pub fn open(
        data_dir: &Path,
        defaults: &LogConfig,
        limits: GroupLimits,
        flusher: Arc<Flusher>,
    ) -> Result<Groups, OffsetsTopicError> {
        let mut coordinator = GroupCoordinator::new(limits);
        let topic = OffsetsTopic::open(data_dir, defaults, &mut coordinator, now_ms())?;
        Ok(Groups {
            inner: Mutex::new(Inner {
                coordinator,
                joins: HashMap::new(),
                syncs: HashMap::new(),
                next_waiter: 1,
            }),
            topic,
            flusher,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the coordinator, then appends its records and routes its replies.
    /// Returns `f`'s result and the last appended offset, if any.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&mut GroupCoordinator, i64, &mut Effects) -> T,
    ) -> (T, Result<Option<i64>, OffsetsTopicError>) {
        let mut inner = self.lock();
        let mut fx = Effects::default();
        let now = now_ms();
        let out = f(&mut inner.coordinator, now, &mut fx);
        let appended = self.apply(&mut inner, fx, now);
        (out, appended)
    }

    fn apply(&self, inner: &mut Inner, fx: Effects, now: i64) -> Result<Option<i64>, OffsetsTopicError> {
        let appended = self.topic.append(&fx.records, now);
        let mut d = Deliveries {
            joins: Vec::new(),
            syncs: Vec::new(),
        };
        for (w, r) in fx.joins {
            if let Some(tx) = inner.joins.remove(&w) {
                d.joins.push((tx, r));
            }
        }
        for (w, r) in fx.syncs {
            if let Some(tx) = inner.syncs.remove(&w) {
                d.syncs.push((tx, r));
            }
        }
        // Answers that wrote nothing themselves may still depend on records an earlier call
        // appended and the flusher has not synced yet (a follower's SyncGroup answered from the
        // leader's assignment): they too wait for everything appended so far to be durable, so
        // no client acts on group state a crash could take back.
        let wait_for = match &appended {
            Ok(Some(last)) => Some(*last),
            Ok(None) if !(d.joins.is_empty() && d.syncs.is_empty()) => {
                let end = self.topic.partition.log().log_end_offset();
                (end > 0).then_some(end - 1)
            }
            Ok(None) | Err(_) => None,
        };
        match (&appended, wait_for) {
            (Err(e), _) => {
                tracing::error!(error = %e, "cannot append to the consumer offsets log");
                deliver(fail(d));
            }
            (Ok(_), None) => deliver(d),
            (Ok(_), Some(last)) => {
                self.flusher.request(&self.topic.partition);
                let p = Arc::clone(&self.topic.partition);
                tokio::spawn(async move {
                    if p.wait_durable(last).await {
                        deliver(d);
                    } else {
                        deliver(fail(d));
                    }
                });
            }
        }
        appended
    }

    /// Waits until `last_offset` of the internal log is fsynced; false if the log failed.
    pub async fn wait_durable(&self, last_offset: i64) -> bool {
        self.topic.partition.wait_durable(last_offset).await
    }

    pub fn request_flush(&self) {
        self.flusher.request(&self.topic.partition);
    }

    /// Parks a JoinGroup; the receiver resolves when the coordinator answers it.
    pub fn join(&self, mut p: JoinParams) -> oneshot::Receiver<JoinReply> {
        let (tx, rx) = oneshot::channel();
        let mut inner = self.lock();
        let waiter = inner.next_waiter;
        inner.next_waiter += 1;
        inner.joins.insert(waiter, tx);
        p.waiter = waiter;
        let mut fx = Effects::default();
        let now = now_ms();
        if let Err(e) = inner.coordinator.join(p, now, &mut fx) {
            fx.joins.push((waiter, Err(e)));
        }
        let _ = self.apply(&mut inner, fx, now);
        rx
    }

    /// Parks a SyncGroup; the receiver resolves with the member's assignment.
    pub fn sync(&self, mut p: SyncParams) -> oneshot::Receiver<SyncReply> {
        let (tx, rx) = oneshot::channel();
        let mut inner = self.lock();
        let waiter = inner.next_waiter;
        inner.next_waiter += 1;
        inner.syncs.insert(waiter, tx);
        p.waiter = waiter;
        let mut fx = Effects::default();
        let now = now_ms();
        if let Err(e) = inner.coordinator.sync(p, now, &mut fx) {
            fx.syncs.push((waiter, Err(e)));
        }
        let _ = self.apply(&mut inner, fx, now);
        rx
    }

    /// Where the slowest consumer of a partition resumes (see
    /// [`GroupCoordinator::min_committed_offset`]); backlog caps are measured from it.
    pub fn min_committed_offset(&self, topic: &str, partition: i32, group: Option<&str>) -> Option<i64> {
        self.lock().coordinator.min_committed_offset(topic, partition, group)
    }

    /// Calls `f(group, topic, partition, committed_offset)` for every committed offset, sorted by
    /// group, topic and partition, under the coordinator's lock (`f` must not take it again).
    pub fn visit_committed_offsets(&self, mut f: impl FnMut(&str, &str, i32, i64)) {
        for (group, topic, partition, offset) in self.lock().coordinator.committed_offsets() {
            f(group, topic, partition, offset);
        }
    }

    /// Fires due timers (session expiry, rebalance deadlines).
    pub fn tick(&self) {
        let _ = self.with(|c, now, fx| c.tick(now, fx));
    }

    /// Answers every parked request so connections can drain at shutdown.
    pub fn fail_all_waiters(&self) {
        let _ = self.with(|c, _, fx| c.fail_all_waiters(fx));
    }

    /// The internal offsets log's partition (for the log cleaner).
    pub fn offsets_partition(&self) -> Arc<crate::partition::Partition> {
        Arc::clone(&self.topic.partition)
    }

    /// Flushes and closes the internal log (after the flusher has stopped).
    pub fn close(&self) -> Result<(), wharf_log::LogError> {
        self.topic.partition.log().close_in_place()
    }
}

fn fail(d: Deliveries) -> Deliveries {
    Deliveries {
        joins: d
            .joins
            .into_iter()
            .map(|(tx, _)| (tx, Err(GroupError::CoordinatorNotAvailable)))
            .collect(),
        syncs: d
            .syncs
            .into_iter()
            .map(|(tx, _)| (tx, Err(GroupError::CoordinatorNotAvailable)))
            .collect(),
    }
}

fn deliver(d: Deliveries) {
    // A receiver is gone when its connection closed; nobody is left to answer.
    for (tx, r) in d.joins {
        let _ = tx.send(r);
    }
    for (tx, r) in d.syncs {
        let _ = tx.send(r);
    }
}
