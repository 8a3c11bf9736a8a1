//! Every supported API at every supported version gets a decodable answer with no error from
//! the broker's own encoding (the codecs refuse fields a version lacks, so this catches a
//! handler that sets one).

mod common;

use bytes::Bytes;
use common::{batch, TestBroker};
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::delete_records_request::{DeleteRecordsPartition, DeleteRecordsTopic};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use wharf_broker::versions::supported;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_every_version_answers_without_error() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let range = |k: ApiKey| {
        let a = supported(k).expect("supported");
        a.min.max(k.valid_versions().min)..=a.max
    };
    for v in range(ApiKey::CreateTopics) {
        let t = format!("v{v}");
        let r: CreateTopicsResponse = c
            .call(
                ApiKey::CreateTopics,
                v,
                &CreateTopicsRequest::default()
                    .with_timeout_ms(1000)
                    .with_topics(vec![CreatableTopic::default()
                        .with_name(name(&t))
                        .with_num_partitions(1)
                        .with_replication_factor(1)]),
            )
            .await;
        assert_eq!(r.topics[0].error_code, 0, "CreateTopics v{v}");
    }
    let topic = "v7";
    let topic_id = {
        let r: MetadataResponse = c
            .call(ApiKey::Metadata, 12, &MetadataRequest::default().with_topics(None))
            .await;
        r.topics
            .iter()
            .find(|t| t.name.as_ref().map(|n| n.0.as_str()) == Some(topic))
            .expect("topic")
            .topic_id
    };
    for v in range(ApiKey::ApiVersions) {
        let r: ApiVersionsResponse = c.call(ApiKey::ApiVersions, v, &ApiVersionsRequest::default()).await;
        assert_eq!(r.error_code, 0, "ApiVersions v{v}");
    }
    for v in range(ApiKey::Metadata) {
        let topics = if v == 0 {
            vec![]
        } else {
            vec![MetadataRequestTopic::default().with_name(Some(name(topic)))]
        };
        let r: MetadataResponse = c
            .call(
                ApiKey::Metadata,
                v,
                &MetadataRequest::default().with_topics(Some(topics)),
            )
            .await;
        assert!(r.topics.iter().all(|t| t.error_code == 0), "Metadata v{v}");
    }
    for v in range(ApiKey::Produce) {
        let req = ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(5000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(if v >= 13 { name("") } else { name(topic) })
                .with_topic_id(if v >= 13 { topic_id } else { Default::default() })
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(batch("v", 2, 1000, Compression::None)))])]);
        let r: ProduceResponse = c.call(ApiKey::Produce, v, &req).await;
        assert_eq!(r.responses[0].partition_responses[0].error_code, 0, "Produce v{v}");
    }
    for v in range(ApiKey::Fetch) {
        let ft = if v >= 13 {
            FetchTopic::default().with_topic_id(topic_id)
        } else {
            FetchTopic::default().with_topic(name(topic))
        };
        let req = FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(0)
            .with_min_bytes(1)
            .with_max_bytes(1 << 20)
            .with_isolation_level(1)
            .with_session_epoch(-1)
            .with_topics(vec![ft.with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 20)])]);
        let r: FetchResponse = c.call(ApiKey::Fetch, v, &req).await;
        let p = &r.responses[0].partitions[0];
        assert_eq!(p.error_code, 0, "Fetch v{v}");
        assert!(p.records.as_ref().is_some_and(|r| !r.is_empty()), "Fetch v{v} records");
    }
    for v in range(ApiKey::ListOffsets) {
        for ts in [-1i64, -2, 1000] {
            let req = ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(vec![ListOffsetsTopic::default()
                    .with_name(name(topic))
                    .with_partitions(vec![ListOffsetsPartition::default()
                        .with_partition_index(0)
                        .with_timestamp(ts)])]);
            let r: ListOffsetsResponse = c.call(ApiKey::ListOffsets, v, &req).await;
            assert_eq!(r.topics[0].partitions[0].error_code, 0, "ListOffsets v{v} ts {ts}");
        }
    }
    for v in range(ApiKey::DescribeConfigs) {
        let req = DescribeConfigsRequest::default().with_resources(vec![
            DescribeConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(s(topic))
                .with_configuration_keys(None),
            DescribeConfigsResource::default()
                .with_resource_type(4)
                .with_resource_name(s("1"))
                .with_configuration_keys(None),
        ]);
        let r: DescribeConfigsResponse = c.call(ApiKey::DescribeConfigs, v, &req).await;
        assert!(
            r.results.iter().all(|x| x.error_code == 0 && !x.configs.is_empty()),
            "DescribeConfigs v{v}"
        );
    }
    for v in range(ApiKey::IncrementalAlterConfigs) {
        let req = IncrementalAlterConfigsRequest::default().with_resources(vec![AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(s(topic))
            .with_configs(vec![AlterableConfig::default()
                .with_name(s("retention.ms"))
                .with_config_operation(0)
                .with_value(Some(s("5000")))])]);
        let r: IncrementalAlterConfigsResponse = c.call(ApiKey::IncrementalAlterConfigs, v, &req).await;
        assert_eq!(r.responses[0].error_code, 0, "IncrementalAlterConfigs v{v}");
    }
    for v in range(ApiKey::CreatePartitions) {
        let req = CreatePartitionsRequest::default()
            .with_timeout_ms(1000)
            .with_topics(vec![CreatePartitionsTopic::default()
                .with_name(name(topic))
                .with_count(2 + v as i32)
                .with_assignments(None)]);
        let r: CreatePartitionsResponse = c.call(ApiKey::CreatePartitions, v, &req).await;
        assert_eq!(r.results[0].error_code, 0, "CreatePartitions v{v}");
    }
    for v in range(ApiKey::DeleteRecords) {
        let req = DeleteRecordsRequest::default()
            .with_timeout_ms(1000)
            .with_topics(vec![DeleteRecordsTopic::default()
                .with_name(name(topic))
                .with_partitions(vec![DeleteRecordsPartition::default()
                    .with_partition_index(0)
                    .with_offset(v as i64)])]);
        let r: DeleteRecordsResponse = c.call(ApiKey::DeleteRecords, v, &req).await;
        assert_eq!(r.topics[0].partitions[0].error_code, 0, "DeleteRecords v{v}");
        assert_eq!(r.topics[0].partitions[0].low_watermark, v as i64);
    }
    for v in range(ApiKey::DescribeCluster) {
        let r: DescribeClusterResponse = c
            .call(ApiKey::DescribeCluster, v, &DescribeClusterRequest::default())
            .await;
        assert_eq!((r.error_code, r.brokers.len()), (0, 1), "DescribeCluster v{v}");
    }
    for v in range(ApiKey::DeleteTopics) {
        let t = format!("v{}", v + 1);
        let req = if v >= 6 {
            DeleteTopicsRequest::default()
                .with_timeout_ms(1000)
                .with_topics(vec![DeleteTopicState::default().with_name(Some(name(&t)))])
        } else {
            DeleteTopicsRequest::default()
                .with_timeout_ms(1000)
                .with_topic_names(vec![name(&t)])
        };
        let r: DeleteTopicsResponse = c.call(ApiKey::DeleteTopics, v, &req).await;
        assert_eq!(r.responses[0].error_code, 0, "DeleteTopics v{v}");
    }
    let _ = Bytes::new();
}
