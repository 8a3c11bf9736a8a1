//! One topic partition on this broker: its log behind a mutex, and the two watermarks other
//! tasks wait on — the log end offset (woken fetches) and the durable offset (acks=all answers).
//!
//! Invariants: appends to a partition happen in the order requests were read from each
//! connection (the caller appends synchronously, before queuing the answer); `durable` only
//! moves forward, and only after the bytes below it were fdatasynced.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;
use wharf_log::Log;

use crate::metrics::PartitionTraffic;

/// How far this partition is known to be on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Every offset below this has been fdatasynced.
    SyncedTo(i64),
    /// An fsync or write failed; the log is fail-stopped (KAFKA_STORAGE_ERROR).
    Failed,
}

pub struct Partition {
    pub topic: Arc<str>,
    pub index: i32,
    log: Mutex<Log>,
    log_end: watch::Sender<i64>,
    durable: watch::Sender<Durability>,
    /// Set while the partition sits in the flusher's queue, so it is queued once.
    pub(crate) flush_queued: AtomicBool,
    /// Produce/fetch counters for /metrics, bumped without the log lock.
    pub traffic: PartitionTraffic,
}

impl Partition {
    pub fn new(topic: Arc<str>, index: i32, log: Log) -> Partition {
        let end = log.log_end_offset();
        let durable = log.durable_offset();
        Partition {
            topic,
            index,
            log: Mutex::new(log),
            log_end: watch::channel(end).0,
            durable: watch::channel(Durability::SyncedTo(durable)).0,
            flush_queued: AtomicBool::new(false),
            traffic: PartitionTraffic::default(),
        }
    }

    /// Locks the log. A poisoned lock means a panic mid-append; the log's own recovery is the
    /// only safe repair, so the guard is still handed out and the log's failed flag decides.
    pub fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wakes fetches parked on this partition after an append moved the log end.
    pub fn publish_log_end(&self, log_end_offset: i64) {
        self.log_end.send_replace(log_end_offset);
    }

    pub fn subscribe_log_end(&self) -> watch::Receiver<i64> {
        self.log_end.subscribe()
    }

    pub fn publish_durable(&self, d: Durability) {
        self.durable.send_if_modified(|cur| {
            let moved = match (*cur, d) {
                (Durability::Failed, _) => false,
                (_, Durability::Failed) => true,
                (Durability::SyncedTo(a), Durability::SyncedTo(b)) => b > a,
            };
            if moved {
                *cur = d;
            }
            moved
        });
    }

    /// Resolves once every offset up to and including `last_offset` is fdatasynced; `false`
    /// if the log failed first or the partition was deleted.
    pub async fn wait_durable(&self, last_offset: i64) -> bool {
        let mut rx = self.durable.subscribe();
        let res = rx
            .wait_for(|d| match d {
                Durability::Failed => true,
                Durability::SyncedTo(o) => *o > last_offset,
            })
            .await;
        matches!(res.as_deref(), Ok(Durability::SyncedTo(_)))
    }

    pub fn is_flush_queued(&self) -> bool {
        self.flush_queued.load(Ordering::Acquire)
    }
}
