//! Group commit: one thread fdatasyncs partitions on behalf of every waiting producer.
//!
//! A produce with acks=all appends, queues its partition here and waits for the partition's
//! durable offset to pass its last offset. The thread takes everything queued, syncs each
//! partition once (outside the partition lock, so appends continue meanwhile), then publishes the
//! new durable offsets. Requests arriving during an fsync share the next one, which is what makes
//! fsync-per-acknowledged-write cheap. On a timer it also syncs data written with acks=0/1
//! (log.flush.interval.ms). A failed fsync fail-stops the log; it is never retried.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::partition::{Durability, Partition};

/// Source of every partition, for the periodic flush.
pub type AllPartitions = Arc<dyn Fn() -> Vec<Arc<Partition>> + Send + Sync>;

struct Queue {
    pending: Vec<Arc<Partition>>,
    shutdown: bool,
}

pub struct Flusher {
    queue: Mutex<Queue>,
    wake: Condvar,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Flusher {
    pub fn start(interval: Duration, all: AllPartitions) -> std::io::Result<Arc<Flusher>> {
        let f = Arc::new(Flusher {
            queue: Mutex::new(Queue {
                pending: Vec::new(),
                shutdown: false,
            }),
            wake: Condvar::new(),
            thread: Mutex::new(None),
        });
        let me = Arc::clone(&f);
        let handle = std::thread::Builder::new()
            .name("wharf-flusher".into())
            .spawn(move || me.run(interval, all))?;
        *f.thread.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        Ok(f)
    }

    /// Asks for `p` to be synced soon; cheap when it is already queued.
    pub fn request(&self, p: &Arc<Partition>) {
        if p.flush_queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.pending.push(Arc::clone(p));
        self.wake.notify_one();
    }

    /// Syncs whatever is queued, then stops the thread.
    pub fn shutdown(&self) {
        {
            let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            q.shutdown = true;
            self.wake.notify_one();
        }
        let handle = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            if h.join().is_err() {
                tracing::error!("flusher thread panicked");
            }
        }
    }

    fn run(&self, interval: Duration, all: AllPartitions) {
        loop {
            let (batch, stop, periodic) = {
                let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
                let mut periodic = false;
                if q.pending.is_empty() && !q.shutdown {
                    let (guard, res) = self.wake.wait_timeout(q, interval).unwrap_or_else(|e| e.into_inner());
                    q = guard;
                    periodic = res.timed_out();
                }
                (std::mem::take(&mut q.pending), q.shutdown, periodic)
            };
            for p in &batch {
                p.flush_queued.store(false, Ordering::Release);
                sync_partition(p);
            }
            if periodic || stop {
                for p in all() {
                    sync_partition(&p);
                }
            }
            if stop {
                return;
            }
        }
    }
}

/// fdatasyncs one partition's unsynced files without holding its lock during the sync.
pub fn sync_partition(p: &Partition) {
    let point = {
        let mut log = p.log();
        if log.is_failed() {
            drop(log);
            p.publish_durable(Durability::Failed);
            return;
        }
        if log.durable_offset() >= log.log_end_offset() {
            return;
        }
        log.sync_point()
    };
    match point.sync() {
        Ok(()) => {
            let end = point.end_offset;
            p.log().mark_synced(end);
            p.publish_durable(Durability::SyncedTo(end));
        }
        Err(e) => {
            tracing::error!(topic = %p.topic, partition = p.index, error = %e, "fsync failed; partition log is now failed");
            p.publish_durable(Durability::Failed);
        }
    }
}
