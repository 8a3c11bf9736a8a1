//! Disk faults under a running broker (issue #6): the partition logs sit on a fault-injecting
//! filesystem (`wharf_log::testing::FaultyStorage`). For each fault — a failed write, a torn
//! (short) write, ENOSPC, a failed fsync — an acks=all produce gets KAFKA_STORAGE_ERROR, and so
//! does every produce after it (fail-stop: a failed write or fsync is never retried); what was
//! acknowledged before stays readable; after a restart on a healthy disk every acknowledged record
//! is there, at its offset, and producing works again from the recovered log end.

mod common;

use std::sync::Arc;

use common::{batch, create, fetch_req, produce_req, values, Client, TestBroker};
use kafka_protocol::messages::*;
use kafka_protocol::records::Compression;
use kafka_protocol::ResponseError;
use wharf_log::testing::{Fault, FaultyStorage};

const TOPIC: &str = "faulty";

/// Produces `n` records (acks=all); returns (error code, base offset).
async fn produce(c: &mut Client, prefix: &str, n: usize) -> (i16, i64) {
    let req = produce_req(TOPIC, 0, batch(prefix, n, 1_000, Compression::None), -1);
    let r: ProduceResponse = c.call(ApiKey::Produce, 9, &req).await;
    let p = &r.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

async fn fetch_values(c: &mut Client) -> Vec<String> {
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch_req(TOPIC, 0, 0, 0, 1)).await;
    let p = &r.responses[0].partitions[0];
    assert_eq!(p.error_code, 0, "reads keep working on a failed log");
    values(&p.records.clone().unwrap_or_default())
}

async fn fault_fails_the_log_and_restart_recovers(fault: Fault) {
    let storage = FaultyStorage::new();
    let injected = storage.clone();
    let b = TestBroker::start_with(|c| c.log_storage = Arc::new(injected)).await;
    let mut c = b.client().await;
    assert_eq!(create(&mut c, TOPIC, 1, &[]).await.topics[0].error_code, 0);
    assert_eq!(produce(&mut c, "acked", 3).await, (0, 0), "{fault:?}");

    storage.set_fault(fault);
    let storage_error = ResponseError::KafkaStorageError.code();
    assert_eq!(produce(&mut c, "refused", 2).await.0, storage_error, "{fault:?}");
    storage.set_fault(Fault::None);
    assert_eq!(
        produce(&mut c, "after", 2).await.0,
        storage_error,
        "{fault:?}: the log stays failed once a write or fsync failed"
    );
    assert_eq!(
        fetch_values(&mut c).await[..3],
        ["acked-0", "acked-1", "acked-2"],
        "{fault:?}"
    );

    // Restart on the real filesystem: recovery keeps what was acknowledged.
    let dir = b.stop().await;
    let b = TestBroker::start_in(dir, |_| {}).await;
    let mut c = b.client().await;
    let got = fetch_values(&mut c).await;
    assert_eq!(got[..3], ["acked-0", "acked-1", "acked-2"], "{fault:?}");
    let (code, base) = produce(&mut c, "healed", 1).await;
    assert_eq!(
        (code, base),
        (0, got.len() as i64),
        "{fault:?}: appends continue at the log end"
    );
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_write_answers_storage_error_and_restart_recovers() {
    fault_fails_the_log_and_restart_recovers(Fault::FailWrite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_write_answers_storage_error_and_restart_recovers() {
    fault_fails_the_log_and_restart_recovers(Fault::TornWrite(20)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_space_answers_storage_error_and_restart_recovers() {
    fault_fails_the_log_and_restart_recovers(Fault::NoSpace).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_fsync_answers_storage_error_and_restart_recovers() {
    fault_fails_the_log_and_restart_recovers(Fault::FailSync).await;
}
