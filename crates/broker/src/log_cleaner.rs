//! The log cleaner: compacts every partition whose cleanup.policy includes compact, the internal
//! `__consumer_offsets` log among them (Kafka's LogCleaner thread, one here).
//!
//! Each pass takes the partition lock twice and briefly — to plan and to swap the cleaned
//! segments in — and reads and writes segment data without it (`wharf_log::CleaningPlan`), so
//! produce and fetch on the partition keep going while it is compacted. Passes run back to back
//! while some log needs one; when none does, the cleaner sleeps log.cleaner.backoff.ms.

use std::sync::Arc;
use std::time::Duration;

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
    let Some(plan) = p.log().plan_cleaning(now, &broker.config.cleaner) else {
        return false;
    };
    let started = std::time::Instant::now();
    let result = plan.clean().and_then(|cleaned| p.log().install_cleaned(cleaned));
    match result {
        Ok(s) => {
            tracing::info!(
                topic = %p.topic, partition = p.index,
                segments_read = s.segments_read, segments_written = s.segments_written,
                bytes_read = s.bytes_read, bytes_written = s.bytes_written,
                records_read = s.records_read, records_kept = s.records_kept,
                tombstones_removed = s.tombstones_removed, keys = s.keys,
                ms = started.elapsed().as_millis() as u64,
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
