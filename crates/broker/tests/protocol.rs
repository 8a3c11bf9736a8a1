//! Protocol round trips against a real broker on 127.0.0.1:0: every API answers with exact
//! results, bad frames close the connection, pipelined requests are answered in order.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{batch, create, fetch_req, name, produce_req, values, TestBroker};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use kafka_protocol::ResponseError;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_versions_v3_lists_table_without_tagged_fields() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let r: ApiVersionsResponse = c
        .call(
            ApiKey::ApiVersions,
            3,
            &ApiVersionsRequest::default()
                .with_client_software_name(StrBytes::from_static_str("t"))
                .with_client_software_version(StrBytes::from_static_str("1")),
        )
        .await;
    assert_eq!(r.error_code, 0);
    assert_eq!(r.api_keys.len(), wharf_broker::versions::SUPPORTED_APIS.len());
    let produce = r
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::Produce as i16)
        .expect("produce");
    assert_eq!((produce.min_version, produce.max_version), (0, 11));
    assert!(r.supported_features.is_empty() && r.finalized_features.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_versions_unknown_version_answers_unsupported_in_v0() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let (corr, bytes) = c.frame(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default());
    let mut raw = bytes.to_vec();
    raw[6..8].copy_from_slice(&99i16.to_be_bytes());
    c.send_raw(&raw).await;
    let r: ApiVersionsResponse = c.read_response(ApiKey::ApiVersions, 0, corr).await;
    assert_eq!(r.error_code, ResponseError::UnsupportedVersion.code());
    assert!(r
        .api_keys
        .iter()
        .any(|k| k.api_key == ApiKey::ApiVersions as i16 && k.max_version == 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frame_over_limit_closes_connection_and_broker_keeps_serving() {
    let b = TestBroker::start_with(|c| c.limits.max_frame_bytes = 2 * 1024 * 1024).await;
    let mut c = b.client().await;
    c.send_raw(&(2 * 1024 * 1024 + 1i32).to_be_bytes()).await;
    assert!(c.read_frame().await.is_none(), "connection closed");
    let mut huge = b.client().await;
    huge.send_raw(&i32::MAX.to_be_bytes()).await;
    assert!(huge.read_frame().await.is_none());
    let mut ok = b.client().await;
    let r: MetadataResponse = ok
        .call(
            ApiKey::Metadata,
            12,
            &MetadataRequest::default().with_topics(Some(vec![])),
        )
        .await;
    assert_eq!(r.brokers.len(), 1);
    assert_eq!(r.brokers[0].port, b.addr.port() as i32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_produce_fetch_round_trip_with_exact_offsets() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let r = create(&mut c, "t1", 2, &[("retention.ms", "123456")]).await;
    assert_eq!(r.topics[0].error_code, 0, "{:?}", r.topics[0].error_message);
    assert_eq!(r.topics[0].num_partitions, 2);
    let again = create(&mut c, "t1", 2, &[]).await;
    assert_eq!(again.topics[0].error_code, ResponseError::TopicAlreadyExists.code());

    for (i, n) in [(0, 3usize), (1, 5)] {
        let resp: ProduceResponse = c
            .call(
                ApiKey::Produce,
                9,
                &produce_req("t1", 0, batch(&format!("b{i}"), n, 1000, Compression::None), -1),
            )
            .await;
        let p = &resp.responses[0].partition_responses[0];
        assert_eq!(p.error_code, 0);
        assert_eq!(p.base_offset, if i == 0 { 0 } else { 3 });
    }
    let f: FetchResponse = c.call(ApiKey::Fetch, 11, &fetch_req("t1", 0, 0, 0, 1)).await;
    let p = &f.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    assert_eq!(p.high_watermark, 8, "HW = last offset + 1");
    let got = values(p.records.as_ref().expect("records"));
    assert_eq!(got, ["b0-0", "b0-1", "b0-2", "b1-0", "b1-1", "b1-2", "b1-3", "b1-4"]);

    // Fetch in the middle of the second batch returns that whole batch.
    let mid: FetchResponse = c.call(ApiKey::Fetch, 11, &fetch_req("t1", 0, 4, 0, 1)).await;
    assert_eq!(
        values(mid.responses[0].partitions[0].records.as_ref().expect("records")).len(),
        5
    );

    // Past the end: OFFSET_OUT_OF_RANGE, empty records (not null).
    let past: FetchResponse = c.call(ApiKey::Fetch, 11, &fetch_req("t1", 0, 9, 0, 1)).await;
    assert_eq!(
        past.responses[0].partitions[0].error_code,
        ResponseError::OffsetOutOfRange.code()
    );
    assert_eq!(
        past.responses[0].partitions[0].records.as_ref().map(|r| r.len()),
        Some(0)
    );

    // Empty partition: no error, empty records.
    let empty: FetchResponse = c.call(ApiKey::Fetch, 4, &fetch_req("t1", 1, 0, 0, 1)).await;
    assert_eq!(empty.responses[0].partitions[0].error_code, 0);
    assert_eq!(
        empty.responses[0].partitions[0].records.as_ref().map(|r| r.len()),
        Some(0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_corrupt_and_oversized_batches_rejected_nothing_written() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let cr = create(&mut c, "t2", 1, &[("max.message.bytes", "200")]).await;
    assert_eq!(cr.topics[0].error_code, 0, "{:?}", cr.topics[0].error_message);
    let big = batch("x", 50, 0, Compression::None);
    assert!(big.len() > 200);
    let r: ProduceResponse = c.call(ApiKey::Produce, 9, &produce_req("t2", 0, big, 1)).await;
    assert_eq!(
        r.responses[0].partition_responses[0].error_code,
        ResponseError::MessageTooLarge.code(),
        "{r:?}"
    );

    let mut bad = batch("y", 2, 0, Compression::None).to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    let r: ProduceResponse = c
        .call(ApiKey::Produce, 9, &produce_req("t2", 0, Bytes::from(bad), 1))
        .await;
    assert_eq!(
        r.responses[0].partition_responses[0].error_code,
        ResponseError::CorruptMessage.code()
    );

    let ok: ProduceResponse = c
        .call(
            ApiKey::Produce,
            9,
            &produce_req("t2", 0, batch("z", 1, 0, Compression::None), 1),
        )
        .await;
    assert_eq!(ok.responses[0].partition_responses[0].error_code, 0);
    assert_eq!(
        ok.responses[0].partition_responses[0].base_offset, 0,
        "rejected batches took no offsets"
    );

    let unknown: ProduceResponse = c
        .call(
            ApiKey::Produce,
            9,
            &produce_req("nope", 0, batch("z", 1, 0, Compression::None), 1),
        )
        .await;
    assert_eq!(
        unknown.responses[0].partition_responses[0].error_code,
        ResponseError::UnknownTopicOrPartition.code()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_answered_in_order() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create(&mut c, "t3", 1, &[]).await;
    let mut corrs = Vec::new();
    let mut wire = Vec::new();
    for i in 0..50 {
        let acks = if i % 2 == 0 { -1 } else { 1 };
        let (corr, bytes) = c.frame(
            ApiKey::Produce,
            9,
            &produce_req("t3", 0, batch("p", 2, 0, Compression::None), acks),
        );
        corrs.push(corr);
        wire.extend_from_slice(&bytes);
    }
    c.send_raw(&wire).await;
    for (i, corr) in corrs.into_iter().enumerate() {
        let r: ProduceResponse = c.read_response(ApiKey::Produce, 9, corr).await;
        assert_eq!(r.responses[0].partition_responses[0].base_offset, 2 * i as i64);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_long_poll_woken_by_produce() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create(&mut c, "t4", 1, &[]).await;
    let (corr, bytes) = c.frame(ApiKey::Fetch, 11, &fetch_req("t4", 0, 0, 10_000, 1));
    c.send_raw(&bytes).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let mut p = b.client().await;
    let _: ProduceResponse = p
        .call(
            ApiKey::Produce,
            9,
            &produce_req("t4", 0, batch("w", 1, 0, Compression::None), 1),
        )
        .await;
    let f: FetchResponse = c.read_response(ApiKey::Fetch, 11, corr).await;
    assert_eq!(
        values(f.responses[0].partitions[0].records.as_ref().expect("records")),
        ["w-0"]
    );
    // Woken by the append, not by the 10 s max_wait_ms.
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_long_poll_times_out_empty() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create(&mut c, "t5", 1, &[]).await;
    let f: FetchResponse = c.call(ApiKey::Fetch, 11, &fetch_req("t5", 0, 0, 200, 1)).await;
    assert_eq!(f.responses[0].partitions[0].error_code, 0);
    assert_eq!(f.responses[0].partitions[0].records.as_ref().map(|r| r.len()), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_offsets_by_timestamp_is_record_exact() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create(&mut c, "t6", 1, &[]).await;
    // Offsets 0..10 with timestamps 1000..1010, then 10..20 with 2000..2010 (gzip).
    let _: ProduceResponse = c
        .call(
            ApiKey::Produce,
            9,
            &produce_req("t6", 0, batch("a", 10, 1000, Compression::None), 1),
        )
        .await;
    let _: ProduceResponse = c
        .call(
            ApiKey::Produce,
            9,
            &produce_req("t6", 0, batch("b", 10, 2000, Compression::Gzip), 1),
        )
        .await;
    let cases = [
        (1000, 0, 1000),
        (1005, 5, 1005),
        (1500, 10, 2000),
        (2009, 19, 2009),
        (3000, -1, -1),
        (-1, 20, -1),
        (-2, 0, -1),
        (-3, 19, 2009),
    ];
    for (ts, want_offset, want_ts) in cases {
        let req = ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![ListOffsetsTopic::default().with_name(name("t6")).with_partitions(
                vec![ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_timestamp(ts)],
            )]);
        let r: ListOffsetsResponse = c.call(ApiKey::ListOffsets, 7, &req).await;
        let p = &r.topics[0].partitions[0];
        assert_eq!(
            (p.error_code, p.offset, p.timestamp),
            (0, want_offset, want_ts),
            "timestamp {ts}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_auto_creates_only_when_allowed() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let req = |n: &str, allow: bool| {
        MetadataRequest::default()
            .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(name(n)))]))
            .with_allow_auto_topic_creation(allow)
    };
    let r: MetadataResponse = c.call(ApiKey::Metadata, 12, &req("auto1", false)).await;
    assert_eq!(r.topics[0].error_code, ResponseError::UnknownTopicOrPartition.code());
    let r: MetadataResponse = c.call(ApiKey::Metadata, 12, &req("auto1", true)).await;
    assert_eq!(r.topics[0].error_code, 0);
    assert_eq!(r.topics[0].partitions.len(), 1);
    let all: MetadataResponse = c
        .call(ApiKey::Metadata, 1, &MetadataRequest::default().with_topics(None))
        .await;
    assert_eq!(all.topics.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_and_topics_survive_clean_restart() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create(&mut c, "t7", 1, &[("retention.ms", "999999")]).await;
    let _: ProduceResponse = c
        .call(
            ApiKey::Produce,
            9,
            &produce_req("t7", 0, batch("r", 4, 0, Compression::Zstd), -1),
        )
        .await;
    drop(c);
    let dir = b.stop().await;
    let b2 = TestBroker::start_in(dir, |_| {}).await;
    let mut c2 = b2.client().await;
    let f: FetchResponse = c2.call(ApiKey::Fetch, 11, &fetch_req("t7", 0, 0, 0, 1)).await;
    assert_eq!(
        values(f.responses[0].partitions[0].records.as_ref().expect("records")),
        ["r-0", "r-1", "r-2", "r-3"]
    );
    let d: DescribeConfigsResponse = c2
        .call(
            ApiKey::DescribeConfigs,
            4,
            &DescribeConfigsRequest::default().with_resources(vec![
                kafka_protocol::messages::describe_configs_request::DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(StrBytes::from_static_str("t7"))
                    .with_configuration_keys(Some(vec![StrBytes::from_static_str("retention.ms")])),
            ]),
        )
        .await;
    assert_eq!(d.results[0].configs.len(), 1);
    assert_eq!(
        d.results[0].configs[0].value.as_ref().map(|v| v.as_str()),
        Some("999999")
    );
    assert_eq!(d.results[0].configs[0].config_source, 1);
}
