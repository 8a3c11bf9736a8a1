//! Boundary tests for the broker's named limits (docs/LIMITS.md): exactly the limit is served,
//! one past it gets the documented outcome, and the broker keeps serving others.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{batch, Client, TestBroker};
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use kafka_protocol::ResponseError;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

async fn create(c: &mut Client, topic: &str, partitions: i32) -> i16 {
    let t = CreatableTopic::default()
        .with_name(name(topic))
        .with_num_partitions(partitions)
        .with_replication_factor(1);
    let r: CreateTopicsResponse = c
        .call(
            ApiKey::CreateTopics,
            7,
            &CreateTopicsRequest::default()
                .with_topics(vec![t])
                .with_timeout_ms(5000),
        )
        .await;
    r.topics[0].error_code
}

async fn is_served(c: &mut Client) -> bool {
    let (corr, bytes) = c.frame(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default());
    c.send_raw(&bytes).await;
    match c.read_frame().await {
        Some(_) => {
            let _ = corr;
            true
        }
        None => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_connections_exactly_served_one_more_closed() {
    let b = TestBroker::start_with(|c| c.limits.max_connections = 2).await;
    let mut first = b.client().await;
    let mut second = b.client().await;
    assert!(is_served(&mut first).await && is_served(&mut second).await);
    let mut third = b.client().await;
    assert!(!is_served(&mut third).await, "the third connection is closed at once");
    drop(first);
    // The slot frees once the broker sees the close; a new connection is then served.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut again = b.client().await;
        if is_served(&mut again).await {
            break;
        }
        assert!(Instant::now() < deadline, "slot never freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(is_served(&mut second).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_connections_per_ip_exactly_served_one_more_closed_other_ip_served() {
    let b = TestBroker::start_with(|c| c.limits.max_connections_per_ip = 2).await;
    let here: std::net::IpAddr = [127, 0, 0, 1].into();
    let mut first = Client::connect_from(here, b.addr).await;
    let mut second = Client::connect_from(here, b.addr).await;
    assert!(is_served(&mut first).await && is_served(&mut second).await);
    let mut third = Client::connect_from(here, b.addr).await;
    assert!(
        !is_served(&mut third).await,
        "a third connection from the same address is closed"
    );
    let mut elsewhere = Client::connect_from([127, 0, 0, 2].into(), b.addr).await;
    assert!(is_served(&mut elsewhere).await, "another address has its own allowance");
    assert!(is_served(&mut first).await);
}

fn produce_to(topic: &str, partitions: i32) -> ProduceRequest {
    let data = (0..partitions)
        .map(|i| {
            PartitionProduceData::default()
                .with_index(i)
                .with_records(Some(batch("l", 1, 0, Compression::None)))
        })
        .collect();
    ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name(topic))
            .with_partition_data(data)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_partitions_per_request_exactly_answered_one_more_closes() {
    let b = TestBroker::start_with(|c| c.limits.max_partitions_per_request = 4).await;
    let mut c = b.client().await;
    assert_eq!(create(&mut c, "p", 5).await, 0);
    let r: ProduceResponse = c.call(ApiKey::Produce, 9, &produce_to("p", 4)).await;
    assert_eq!(r.responses[0].partition_responses.len(), 4);
    assert!(r.responses[0].partition_responses.iter().all(|p| p.error_code == 0));
    let (_, bytes) = c.frame(ApiKey::Produce, 9, &produce_to("p", 5));
    c.send_raw(&bytes).await;
    assert!(c.read_frame().await.is_none(), "connection closed");
    let mut other = b.client().await;
    assert!(is_served(&mut other).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_topics_exactly_created_one_more_policy_violation() {
    let b = TestBroker::start_with(|c| c.limits.max_topics = 2).await;
    let mut c = b.client().await;
    assert_eq!(create(&mut c, "a", 1).await, 0);
    assert_eq!(create(&mut c, "b", 1).await, 0);
    assert_eq!(create(&mut c, "c", 1).await, ResponseError::PolicyViolation.code());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_partitions_per_topic_exactly_created_one_more_invalid() {
    let b = TestBroker::start_with(|c| c.limits.max_partitions_per_topic = 4).await;
    let mut c = b.client().await;
    assert_eq!(create(&mut c, "four", 4).await, 0);
    assert_eq!(create(&mut c, "five", 5).await, ResponseError::InvalidPartitions.code());
    assert_eq!(create(&mut c, "two", 2).await, 0);
    let grow = |count: i32| {
        CreatePartitionsRequest::default()
            .with_timeout_ms(1000)
            .with_topics(vec![CreatePartitionsTopic::default()
                .with_name(name("two"))
                .with_count(count)
                .with_assignments(None)])
    };
    let r: CreatePartitionsResponse = c.call(ApiKey::CreatePartitions, 3, &grow(5)).await;
    assert_eq!(r.results[0].error_code, ResponseError::InvalidPartitions.code());
    let r: CreatePartitionsResponse = c.call(ApiKey::CreatePartitions, 3, &grow(4)).await;
    assert_eq!(r.results[0].error_code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_message_bytes_exactly_accepted_one_more_too_large() {
    let exact = batch("m", 10, 0, Compression::None);
    let max = exact.len() as u32;
    let b = TestBroker::start_with(|c| c.log_defaults.max_message_bytes = max).await;
    let mut c = b.client().await;
    assert_eq!(create(&mut c, "m", 1).await, 0);
    let req = |records: Bytes| {
        ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(5000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(name("m"))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(records))])])
    };
    let r: ProduceResponse = c.call(ApiKey::Produce, 9, &req(exact)).await;
    assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
    let one_more = batch("mm", 10, 0, Compression::None);
    assert_eq!(one_more.len() as u32, max + 10, "ten one-byte-longer values");
    let r: ProduceResponse = c.call(ApiKey::Produce, 9, &req(one_more)).await;
    assert_eq!(
        r.responses[0].partition_responses[0].error_code,
        ResponseError::MessageTooLarge.code()
    );
}

fn long_poll(topic: &str, max_wait_ms: i32) -> FetchRequest {
    FetchRequest::default()
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default().with_topic(name(topic)).with_partitions(
            vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 20)],
        )])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_delayed_fetches_reached_next_fetch_answered_at_once() {
    let b = TestBroker::start_with(|c| c.limits.max_delayed_fetches = 1).await;
    let mut c = b.client().await;
    assert_eq!(create(&mut c, "idle", 1).await, 0);
    // The first fetch parks (the one permitted waiter) for up to 30 s.
    let mut parked = b.client().await;
    let (corr, bytes) = parked.frame(ApiKey::Fetch, 11, &long_poll("idle", 30_000));
    parked.send_raw(&bytes).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The second cannot park and is answered, empty, long before its own 30 s.
    let started = Instant::now();
    let r: FetchResponse = c.call(ApiKey::Fetch, 11, &long_poll("idle", 30_000)).await;
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(r.responses[0].partitions[0].records.as_ref().map(|r| r.len()), Some(0));
    // The parked one still completes when data arrives.
    let p: ProduceResponse = c.call(ApiKey::Produce, 9, &produce_to("idle", 1)).await;
    assert_eq!(p.responses[0].partition_responses[0].error_code, 0);
    let f: FetchResponse = parked.read_response(ApiKey::Fetch, 11, corr).await;
    assert!(f.responses[0].partitions[0]
        .records
        .as_ref()
        .is_some_and(|r| !r.is_empty()));
}

/// With `max_in_flight` requests dispatched but unanswered, the next one is not read: a parked
/// fetch followed by a produce on the same connection holds the produce back when the limit is
/// 1, and not when it is 2.
async fn produce_behind_parked_fetch_is_appended_at_once(max_in_flight: usize) -> bool {
    let b = TestBroker::start_with(|c| c.limits.max_in_flight_per_connection = max_in_flight).await;
    let mut admin = b.client().await;
    assert_eq!(create(&mut admin, "wait", 1).await, 0);
    assert_eq!(create(&mut admin, "data", 1).await, 0);
    let mut c = b.client().await;
    let (fetch_corr, fetch) = c.frame(ApiKey::Fetch, 11, &long_poll("wait", 3_000));
    let (produce_corr, produce) = c.frame(ApiKey::Produce, 9, &produce_to("data", 1));
    c.send_raw(&[fetch, produce].concat()).await;
    // Well inside the fetch's 3 s wait, see whether the produce has been appended.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let probe = FetchRequest::default()
        .with_max_wait_ms(0)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default().with_topic(name("data")).with_partitions(
            vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 20)],
        )]);
    let seen: FetchResponse = admin.call(ApiKey::Fetch, 11, &probe).await;
    let appended = seen.responses[0].partitions[0].high_watermark == 1;
    // Both are still answered, in order.
    let _: FetchResponse = c.read_response(ApiKey::Fetch, 11, fetch_corr).await;
    let p: ProduceResponse = c.read_response(ApiKey::Produce, 9, produce_corr).await;
    assert_eq!(p.responses[0].partition_responses[0].error_code, 0);
    appended
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_in_flight_reached_next_request_not_read_until_an_answer_is_written() {
    assert!(
        !produce_behind_parked_fetch_is_appended_at_once(1).await,
        "limit 1: produce waits"
    );
    assert!(
        produce_behind_parked_fetch_is_appended_at_once(2).await,
        "limit 2: produce goes through"
    );
}
