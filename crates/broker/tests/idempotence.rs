//! Idempotent produce over the raw protocol: InitProducerId hands out ids that never repeat, a
//! replayed batch is acknowledged with its original offset and written once (also after a
//! restart), a sequence gap gets OUT_OF_ORDER_SEQUENCE_NUMBER and a stale epoch
//! INVALID_PRODUCER_EPOCH, and Fetch's last stable offset stays the high watermark.

mod common;

use common::{create, fetch_req, idempotent_batch, produce_req, values, Client, TestBroker};
use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;

const TOPIC: &str = "idem";

async fn init_producer_id(c: &mut Client, version: i16) -> InitProducerIdResponse {
    c.call(
        ApiKey::InitProducerId,
        version,
        &InitProducerIdRequest::default()
            .with_transactional_id(None)
            .with_transaction_timeout_ms(60_000),
    )
    .await
}

/// Produces one batch (acks=all) and returns (error code, base offset).
async fn produce(c: &mut Client, producer: (i64, i16, i32), prefix: &str, n: usize) -> (i16, i64) {
    let req = produce_req(TOPIC, 0, idempotent_batch(prefix, n, producer), -1);
    let r: ProduceResponse = c.call(ApiKey::Produce, 9, &req).await;
    let p = &r.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

/// Everything in the partition: (values, high watermark, last stable offset).
async fn fetch_all(c: &mut Client) -> (Vec<String>, i64, i64) {
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch_req(TOPIC, 0, 0, 0, 1)).await;
    let p = &r.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    let records = p.records.clone().unwrap_or_default();
    (values(&records), p.high_watermark, p.last_stable_offset)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_batch_acknowledged_with_original_offset_and_written_once() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    assert_eq!(create(&mut c, TOPIC, 1, &[]).await.topics[0].error_code, 0);
    let r = init_producer_id(&mut c, 4).await;
    assert_eq!((r.error_code, r.producer_epoch), (0, 0));
    let pid = r.producer_id.0;

    assert_eq!(produce(&mut c, (pid, 0, 0), "a", 3).await, (0, 0));
    assert_eq!(produce(&mut c, (pid, 0, 3), "b", 2).await, (0, 3));
    // Both replays (the newest and an older in-flight one) answer with their original offsets.
    assert_eq!(produce(&mut c, (pid, 0, 0), "a", 3).await, (0, 0));
    assert_eq!(produce(&mut c, (pid, 0, 3), "b", 2).await, (0, 3));
    let (got, high_watermark, last_stable_offset) = fetch_all(&mut c).await;
    assert_eq!(got, ["a-0", "a-1", "a-2", "b-0", "b-1"], "each record once");
    assert_eq!(
        (high_watermark, last_stable_offset),
        (5, 5),
        "log end unchanged; LSO = HW"
    );

    // Gap: sequence 6 after last sequence 4.
    let gap = produce(&mut c, (pid, 0, 6), "gap", 1).await;
    assert_eq!(gap.0, ResponseError::OutOfOrderSequenceNumber.code());
    // A newer epoch must start at sequence 0; then the older epoch is stale.
    let bumped = produce(&mut c, (pid, 1, 5), "e1", 1).await;
    assert_eq!(bumped.0, ResponseError::OutOfOrderSequenceNumber.code());
    assert_eq!(produce(&mut c, (pid, 1, 0), "e1", 1).await, (0, 5));
    let stale = produce(&mut c, (pid, 0, 5), "stale", 1).await;
    assert_eq!(stale.0, ResponseError::InvalidProducerEpoch.code());
    let (got, high_watermark, _) = fetch_all(&mut c).await;
    assert_eq!(got.len(), 6, "refused batches wrote nothing: {got:?}");
    assert_eq!(high_watermark, 6);

    // After a restart the state comes back (from the snapshot written at close).
    let dir = b.stop().await;
    let b = TestBroker::start_in(dir, |_| {}).await;
    let mut c = b.client().await;
    assert_eq!(produce(&mut c, (pid, 1, 0), "e1", 1).await, (0, 5));
    assert_eq!(produce(&mut c, (pid, 1, 1), "next", 1).await, (0, 6));
    let again = init_producer_id(&mut c, 4).await;
    assert!(again.producer_id.0 > pid, "producer ids never repeat after a restart");
}
