//! The log cleaner: compacts every partition whose cleanup.policy includes compact, the internal
//! `__consumer_offsets` and `__transaction_state` logs among them (Kafka's LogCleaner thread, one here).
//!
//! Each pass takes the partition lock twice and briefly — to plan and to swap the cleaned
//! segments in — and reads and writes segment data without it (`wharf_log::CleaningPlan`), so
//! produce and fetch on the partition keep going while it is compacted. Passes run back to back
//! while some log needs one; when none does, the cleaner sleeps log.cleaner.backoff.ms.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::broker::Broker;
use crate::partition::Partition;

/// Runs until shutdown; a pass in progress is finished first, so the logs are closed after it.
pub async fn run(broker: Arc<Broker>, mut shutdown: watch::Receiver<bool>) {
    let backoff = Duration::from_millis(broker.config.log_cleaner_backoff_ms);
    let mut idle = true;
    loop {
        if idle {
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.changed() => return,
            }
        } else if *shutdown.borrow() {
            return;
        }
        let (b, stop) = (Arc::clone(&broker), shutdown.clone());
        match tokio::task::spawn_blocking(move || clean_all(&b, &stop)).await {
            Ok(cleaned) => idle = cleaned == 0,
            Err(e) => {
                tracing::error!(error = %e, "log cleaner panicked");
                idle = true;
            }
        }
    }
}

/// One pass over every partition; returns how many were compacted.
fn clean_all(broker: &Broker, stop: &watch::Receiver<bool>) -> usize {
    let mut partitions = broker.registry.all_partitions();
    partitions.push(broker.groups.offsets_partition());
    partitions.push(broker.transactions.partition());
    let mut cleaned = 0;
    for p in partitions {
        if *stop.borrow() {
            break;
        }
        if clean_partition(broker, &p) {
            cleaned += 1;
        }
    }
    cleaned
}

fn clean_partition(broker: &Broker, p: &Partition) -> bool {
    let now = crate::broker::now_ms();
    let started = Instant::now();
    let (plan, planned) = {
        let log = p.log();
        let planning = Instant::now();
        (log.plan_cleaning(now, &broker.config.cleaner), planning.elapsed())
    };
    let Some(plan) = plan else {
        return false;
    };
    let result = plan.clean().and_then(|cleaned| {
        let ((stats, after), swapped) = {
            let mut log = p.log();
            let swapping = Instant::now();
            (log.install_cleaned(cleaned)?, swapping.elapsed())
        };
        after.finish()?;
        Ok((stats, swapped))
    });
    match result {
        Ok((s, installed)) => {
            // locked_us: how long produce and fetch on this partition waited for the pass
            // (planning plus the swap); everything else ran beside them.
            tracing::info!(
                topic = %p.topic, partition = p.index,
                segments_read = s.segments_read, segments_written = s.segments_written,
                bytes_read = s.bytes_read, bytes_written = s.bytes_written,
                records_read = s.records_read, records_kept = s.records_kept,
                tombstones_removed = s.tombstones_removed, keys = s.keys,
                ms = started.elapsed().as_millis() as u64,
                locked_us = (planned + installed).as_micros() as u64,
                swap_us = installed.as_micros() as u64,
                "compacted partition"
            );
            true
        }
        Err(e) => {
            // A failed write or fsync of the cleaner's own output fails the log like any
            // other (the house rule); other errors leave it for the next pass.
            p.log().note_cleaner_error(&e);
            tracing::error!(topic = %p.topic, partition = p.index, error = %e, "log compaction failed");
            false
        }
    }
}
