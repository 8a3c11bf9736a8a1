//! Transactions over the raw protocol: transactional InitProducerId (epoch bumps, the
//! transaction.max.timeout.ms bound, state kept across a restart), read_committed Fetch (the last
//! stable offset and the aborted-transaction list), transactional batches outside their
//! transaction refused, and a transaction decided before a shutdown but not yet marked being
//! finished after the restart.

mod common;

use common::{create, fetch_req, name, produce_req, transactional_batch, values, Client, TestBroker};
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

const TOPIC: &str = "txn";
const TID: &str = "tx";

async fn init(c: &mut Client, tid: &str, timeout_ms: i32) -> InitProducerIdResponse {
    let req = InitProducerIdRequest::default()
        .with_transactional_id(Some(TransactionalId(StrBytes::from_string(tid.to_string()))))
        .with_transaction_timeout_ms(timeout_ms);
    c.call(ApiKey::InitProducerId, 4, &req).await
}

/// Starts a transaction on TOPIC/0 holding one batch of 3 records; returns (pid, epoch).
async fn open_transaction(c: &mut Client) -> (i64, i16) {
    let r = init(c, TID, 60_000).await;
    assert_eq!(r.error_code, 0);
    let (pid, epoch) = (r.producer_id, r.producer_epoch);
    let req = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(TransactionalId(StrBytes::from_static_str(TID)))
        .with_v3_and_below_producer_id(pid)
        .with_v3_and_below_producer_epoch(epoch)
        .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
            .with_name(name(TOPIC))
            .with_partitions(vec![0])]);
    let r: AddPartitionsToTxnResponse = c.call(ApiKey::AddPartitionsToTxn, 0, &req).await;
    assert_eq!(
        r.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code,
        0
    );
    let produce = produce_req(TOPIC, 0, transactional_batch("t", 3, (pid.0, epoch, 0)), -1)
        .with_transactional_id(Some(TransactionalId(StrBytes::from_static_str(TID))));
    let r: ProduceResponse = c.call(ApiKey::Produce, 9, &produce).await;
    assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
    (pid.0, epoch)
}

/// (values, high watermark, last stable offset, aborted (pid, first offset)) at read_committed.
async fn fetch_committed(c: &mut Client, max_wait_ms: i32) -> (Vec<String>, i64, i64, Option<Vec<(i64, i64)>>) {
    let req = fetch_req(TOPIC, 0, 0, max_wait_ms, 1).with_isolation_level(1);
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &req).await;
    let p = &r.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    let aborted = p
        .aborted_transactions
        .as_ref()
        .map(|a| a.iter().map(|t| (t.producer_id.0, t.first_offset)).collect());
    let records = p.records.clone().unwrap_or_default();
    (values(&records), p.high_watermark, p.last_stable_offset, aborted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactional_init_bumps_epoch_bounds_timeout_and_survives_restart() {
    let max = |c: &mut wharf_broker::BrokerConfig| c.txn_limits.max_timeout_ms = 1000;
    let b = TestBroker::start_with(max).await;
    let mut c = b.client().await;
    let first = init(&mut c, TID, 1000).await;
    assert_eq!(
        (first.error_code, first.producer_epoch),
        (0, 0),
        "exactly the max passes"
    );
    let second = init(&mut c, TID, 1000).await;
    assert_eq!((second.producer_id, second.producer_epoch), (first.producer_id, 1));
    let over = init(&mut c, TID, 1001).await;
    assert_eq!(over.error_code, ResponseError::InvalidTransactionTimeout.code());
    assert_eq!(
        init(&mut c, "", 1000).await.error_code,
        ResponseError::InvalidRequest.code()
    );

    let dir = b.stop().await;
    let b = TestBroker::start_in(dir, max).await;
    let mut c = b.client().await;
    let third = init(&mut c, TID, 1000).await;
    assert_eq!((third.producer_id, third.producer_epoch), (first.producer_id, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_transaction_listed_for_read_committed_and_open_one_holds_lso() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    assert_eq!(create(&mut c, TOPIC, 1, &[]).await.topics[0].error_code, 0);
    let (pid, epoch) = open_transaction(&mut c).await;
    let (got, hw, lso, aborted) = fetch_committed(&mut c, 0).await;
    assert_eq!(
        (got.len(), hw, lso, aborted),
        (0, 3, 0, Some(vec![])),
        "open: nothing stable"
    );

    let end = EndTxnRequest::default()
        .with_transactional_id(TransactionalId(StrBytes::from_static_str(TID)))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_committed(false);
    let r: EndTxnResponse = c.call(ApiKey::EndTxn, 1, &end).await;
    assert_eq!(r.error_code, 0);
    let (_, hw, lso, aborted) = fetch_committed(&mut c, 0).await;
    assert_eq!(
        (hw, lso, aborted),
        (4, 4, Some(vec![(pid, 0)])),
        "marker at 3; aborted from 0"
    );
    // A batch after the transaction ended (a zombie's late retry) is refused, not written: it
    // would open a transaction in the partition that nothing ends.
    let late = produce_req(TOPIC, 0, transactional_batch("late", 1, (pid, epoch, 3)), -1);
    let r: ProduceResponse = c.call(ApiKey::Produce, 9, &late).await;
    assert_eq!(
        r.responses[0].partition_responses[0].error_code,
        ResponseError::InvalidTxnState.code()
    );
    assert_eq!(fetch_committed(&mut c, 0).await.1, 4, "nothing written");
    // A retried EndTxn(abort) is answered; a commit of the aborted transaction is not.
    let r: EndTxnResponse = c.call(ApiKey::EndTxn, 1, &end).await;
    assert_eq!(r.error_code, 0);
    let r: EndTxnResponse = c.call(ApiKey::EndTxn, 1, &end.clone().with_committed(true)).await;
    assert_eq!(r.error_code, ResponseError::InvalidTxnState.code());
    // The old epoch is fenced: EndTxn v1 predates PRODUCER_FENCED, so it gets INVALID_PRODUCER_EPOCH.
    let reinit = init(&mut c, TID, 60_000).await;
    assert_eq!(reinit.producer_epoch, epoch + 1);
    let r: EndTxnResponse = c.call(ApiKey::EndTxn, 1, &end).await;
    assert_eq!(r.error_code, ResponseError::InvalidProducerEpoch.code());
    let r: EndTxnResponse = c.call(ApiKey::EndTxn, 2, &end).await;
    assert_eq!(r.error_code, ResponseError::ProducerFenced.code());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_decided_before_shutdown_is_marked_after_restart() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    assert_eq!(create(&mut c, TOPIC, 1, &[]).await.topics[0].error_code, 0);
    let (pid, epoch) = open_transaction(&mut c).await;
    // EndTxn's first half only: PrepareCommit is logged, claimed as in flight (so the timer
    // leaves it alone), and the broker stops before any marker is written.
    let (result, appended) = b.broker.transactions.with(|inner, out| {
        inner.completing.insert(TID.to_string());
        inner.coordinator.end_txn(TID, pid, epoch, true, 0, out)
    });
    assert!(result.is_ok() && matches!(appended, Ok(Some(_))));
    let (got, _, lso, _) = fetch_committed(&mut c, 0).await;
    assert_eq!((got.len(), lso), (0, 0), "decided but not marked: still not stable");

    let dir = b.stop().await;
    let b = TestBroker::start_in(dir, |_| {}).await;
    let mut c = b.client().await;
    // The timer's first tick writes the commit marker; long polls wake on it.
    let mut seen = fetch_committed(&mut c, 500).await;
    for _ in 0..40 {
        if seen.2 == 4 {
            break;
        }
        seen = fetch_committed(&mut c, 500).await;
    }
    assert_eq!((seen.1, seen.2, seen.3), (4, 4, Some(vec![])));
    // The three records, then the commit marker's control record (its value is the marker's).
    assert_eq!(seen.0.len(), 4);
    assert_eq!(seen.0[..3], ["t-0", "t-1", "t-2"]);
}

async fn listed(c: &mut Client) -> Vec<String> {
    let r: ListTransactionsResponse = c
        .call(ApiKey::ListTransactions, 1, &ListTransactionsRequest::default())
        .await;
    r.transaction_states
        .iter()
        .map(|t| t.transactional_id.0.to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_transactional_id_is_tombstoned_and_stays_gone_after_restart() {
    let expire = |c: &mut wharf_broker::BrokerConfig| c.txn_limits.transactional_id_expiration_ms = 1;
    let b = TestBroker::start_with(expire).await;
    let mut c = b.client().await;
    let first = init(&mut c, TID, 60_000).await;
    assert_eq!(first.error_code, 0);
    // With an expiration this short the timer checks every tick (1 s); poll until it has.
    let mut ids = listed(&mut c).await;
    for _ in 0..50 {
        if ids.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        ids = listed(&mut c).await;
    }
    assert!(ids.is_empty(), "expired: {ids:?}");
    let dir = b.stop().await;
    let b = TestBroker::start_in(dir, |_| {}).await;
    let mut c = b.client().await;
    assert!(listed(&mut c).await.is_empty(), "the tombstone is replayed");
    let again = init(&mut c, TID, 60_000).await;
    assert_eq!(again.producer_epoch, 0);
    assert_ne!(again.producer_id, first.producer_id, "a fresh producer id");
}
