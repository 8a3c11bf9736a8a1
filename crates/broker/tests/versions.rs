//! Every supported API at every supported version gets a decodable answer with no error from
//! the broker's own encoding (the codecs refuse fields a version lacks, so this catches a
//! handler that sets one).

mod common;

use bytes::Bytes;
use common::{batch, group_id, join_group, TestBroker};
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::delete_records_request::{DeleteRecordsPartition, DeleteRecordsTopic};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::offset_delete_request::{OffsetDeleteRequestPartition, OffsetDeleteRequestTopic};
use kafka_protocol::messages::offset_fetch_request::{OffsetFetchRequestGroup, OffsetFetchRequestTopic};
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
    let mut producer_ids = Vec::new();
    for v in range(ApiKey::InitProducerId) {
        let req = InitProducerIdRequest::default()
            .with_transactional_id(None)
            .with_transaction_timeout_ms(60_000)
            .with_producer_id(ProducerId(if v >= 3 { 7 } else { -1 }))
            .with_producer_epoch(if v >= 3 { 0 } else { -1 });
        let r: InitProducerIdResponse = c.call(ApiKey::InitProducerId, v, &req).await;
        assert_eq!((r.error_code, r.producer_epoch), (0, 0), "InitProducerId v{v}");
        producer_ids.push(r.producer_id.0);
    }
    assert!(
        producer_ids.windows(2).all(|w| w[0] < w[1]),
        "fresh ids: {producer_ids:?}"
    );
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
    group_apis_every_version(&mut c, &range).await;
    // Last: its groups stay listed until the coordinator's timer disposes of them.
    consumer_group_apis_every_version(&mut c, &range).await;
    client_quota_apis_every_version(&mut c, &range).await;
    // After every group listing: it leaves a group with committed offsets behind.
    transaction_apis_every_version(&mut c, &range).await;
    let _ = Bytes::new();
}

async fn group_apis_every_version(c: &mut common::Client, range: &impl Fn(ApiKey) -> std::ops::RangeInclusive<i16>) {
    for v in range(ApiKey::FindCoordinator) {
        let req = if v >= 4 {
            FindCoordinatorRequest::default().with_coordinator_keys(vec![s("g")])
        } else {
            FindCoordinatorRequest::default().with_key(s("g"))
        };
        let r: FindCoordinatorResponse = c.call(ApiKey::FindCoordinator, v, &req).await;
        let code = if v >= 4 {
            r.coordinators[0].error_code
        } else {
            r.error_code
        };
        assert_eq!(code, 0, "FindCoordinator v{v}");
    }
    for v in range(ApiKey::JoinGroup) {
        let r = join_group(c, &format!("jg{v}"), v).await;
        assert_eq!((r.error_code, r.generation_id), (0, 1), "JoinGroup v{v}");
    }
    let j = join_group(c, "g", 5).await;
    let member = j.member_id.clone();
    for v in range(ApiKey::SyncGroup) {
        let req = SyncGroupRequest::default()
            .with_group_id(group_id("g"))
            .with_member_id(member.clone())
            .with_generation_id(1)
            .with_protocol_type(if v >= 5 { Some(s("consumer")) } else { None })
            .with_protocol_name(if v >= 5 { Some(s("range")) } else { None });
        let r: SyncGroupResponse = c.call(ApiKey::SyncGroup, v, &req).await;
        assert_eq!(r.error_code, 0, "SyncGroup v{v}");
    }
    for v in range(ApiKey::Heartbeat) {
        let req = HeartbeatRequest::default()
            .with_group_id(group_id("g"))
            .with_member_id(member.clone())
            .with_generation_id(1);
        let r: HeartbeatResponse = c.call(ApiKey::Heartbeat, v, &req).await;
        assert_eq!(r.error_code, 0, "Heartbeat v{v}");
    }
    for v in range(ApiKey::OffsetCommit) {
        let req = OffsetCommitRequest::default()
            .with_group_id(group_id("g"))
            .with_member_id(member.clone())
            .with_generation_id_or_member_epoch(1)
            .with_topics(vec![OffsetCommitRequestTopic::default()
                .with_name(name("t"))
                .with_partitions(vec![OffsetCommitRequestPartition::default()
                    .with_partition_index(0)
                    .with_committed_offset(i64::from(v))])]);
        let r: OffsetCommitResponse = c.call(ApiKey::OffsetCommit, v, &req).await;
        assert_eq!(r.topics[0].partitions[0].error_code, 0, "OffsetCommit v{v}");
    }
    for v in range(ApiKey::OffsetFetch) {
        let req = if v >= 8 {
            OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
                .with_group_id(group_id("g"))
                .with_member_epoch(-1)
                .with_topics(None)])
        } else {
            OffsetFetchRequest::default()
                .with_group_id(group_id("g"))
                .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                    .with_name(name("t"))
                    .with_partition_indexes(vec![0])]))
        };
        let r: OffsetFetchResponse = c.call(ApiKey::OffsetFetch, v, &req).await;
        let offset = if v >= 8 {
            r.groups[0].topics[0].partitions[0].committed_offset
        } else {
            r.topics[0].partitions[0].committed_offset
        };
        assert_eq!(offset, 9, "OffsetFetch v{v}");
    }
    for v in range(ApiKey::DescribeGroups) {
        let req = DescribeGroupsRequest::default().with_groups(vec![group_id("g")]);
        let r: DescribeGroupsResponse = c.call(ApiKey::DescribeGroups, v, &req).await;
        assert_eq!(
            (r.groups[0].error_code, r.groups[0].group_state.as_str()),
            (0, "Stable"),
            "DescribeGroups v{v}"
        );
    }
    for v in range(ApiKey::ListGroups) {
        let r: ListGroupsResponse = c.call(ApiKey::ListGroups, v, &ListGroupsRequest::default()).await;
        assert_eq!((r.error_code, r.groups.len()), (0, 1 + 10), "ListGroups v{v}");
    }
    for v in range(ApiKey::LeaveGroup) {
        let g = format!("lg{v}");
        let j = join_group(c, &g, 5).await;
        let req = if v >= 3 {
            LeaveGroupRequest::default()
                .with_group_id(group_id(&g))
                .with_members(vec![MemberIdentity::default().with_member_id(j.member_id)])
        } else {
            LeaveGroupRequest::default()
                .with_group_id(group_id(&g))
                .with_member_id(j.member_id)
        };
        let r: LeaveGroupResponse = c.call(ApiKey::LeaveGroup, v, &req).await;
        assert_eq!(r.error_code, 0, "LeaveGroup v{v}");
        assert!(r.members.iter().all(|m| m.error_code == 0), "LeaveGroup v{v}");
    }
    for v in range(ApiKey::OffsetDelete) {
        // A live group whose subscription does not decode counts as subscribed (as in Kafka), so
        // this deletes from a standalone consumer's (Empty) group.
        let standalone = OffsetCommitRequest::default()
            .with_group_id(group_id("solo"))
            .with_generation_id_or_member_epoch(-1)
            .with_topics(vec![OffsetCommitRequestTopic::default()
                .with_name(name("other"))
                .with_partitions(vec![
                    OffsetCommitRequestPartition::default().with_partition_index(0)
                ])]);
        let r: OffsetCommitResponse = c.call(ApiKey::OffsetCommit, 8, &standalone).await;
        assert_eq!(r.topics[0].partitions[0].error_code, 0);
        let req = OffsetDeleteRequest::default()
            .with_group_id(group_id("solo"))
            .with_topics(vec![OffsetDeleteRequestTopic::default()
                .with_name(name("other"))
                .with_partitions(vec![
                    OffsetDeleteRequestPartition::default().with_partition_index(0)
                ])]);
        let r: OffsetDeleteResponse = c.call(ApiKey::OffsetDelete, v, &req).await;
        assert_eq!(
            (r.error_code, r.topics[0].partitions[0].error_code),
            (0, 0),
            "OffsetDelete v{v}"
        );
    }
    for v in range(ApiKey::DeleteGroups) {
        // A group with committed offsets stays until deleted; an empty group with none may be
        // disposed of by the coordinator's timer at any tick, which would make this racy.
        let g = format!("dg{v}");
        let commit = OffsetCommitRequest::default()
            .with_group_id(group_id(&g))
            .with_generation_id_or_member_epoch(-1)
            .with_topics(vec![OffsetCommitRequestTopic::default()
                .with_name(name("other"))
                .with_partitions(vec![
                    OffsetCommitRequestPartition::default().with_partition_index(0)
                ])]);
        let r: OffsetCommitResponse = c.call(ApiKey::OffsetCommit, 8, &commit).await;
        assert_eq!(r.topics[0].partitions[0].error_code, 0);
        let req = DeleteGroupsRequest::default().with_groups_names(vec![group_id(&g)]);
        let r: DeleteGroupsResponse = c.call(ApiKey::DeleteGroups, v, &req).await;
        assert_eq!(r.results[0].error_code, 0, "DeleteGroups v{v}");
    }
}

/// KIP-848: join with epoch 0 (the sole member gets all three partitions), describe, leave.
async fn consumer_group_apis_every_version(
    c: &mut common::Client,
    range: &impl Fn(ApiKey) -> std::ops::RangeInclusive<i16>,
) {
    let (topic, partitions) = ("kip848", 3);
    let create = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(name(topic))
        .with_num_partitions(partitions)
        .with_replication_factor(1)]);
    let r: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 7, &create).await;
    let topic_id = r.topics[0].topic_id;
    for v in range(ApiKey::ConsumerGroupHeartbeat) {
        let g = format!("cg{v}");
        let req = ConsumerGroupHeartbeatRequest::default()
            .with_group_id(group_id(&g))
            .with_member_id(s(&format!("member-{v}")))
            .with_member_epoch(0)
            .with_rebalance_timeout_ms(30_000)
            .with_subscribed_topic_names(Some(vec![name(topic)]))
            .with_topic_partitions(Some(vec![]));
        let r: ConsumerGroupHeartbeatResponse = c.call(ApiKey::ConsumerGroupHeartbeat, v, &req).await;
        assert_eq!((r.error_code, r.member_epoch), (0, 1), "ConsumerGroupHeartbeat v{v}");
        let assigned = r.assignment.expect("assignment on join").topic_partitions;
        assert_eq!(
            assigned
                .iter()
                .map(|tp| (tp.topic_id, tp.partitions.clone()))
                .collect::<Vec<_>>(),
            vec![(topic_id, (0..partitions).collect::<Vec<i32>>())],
            "ConsumerGroupHeartbeat v{v}"
        );
        for dv in range(ApiKey::ConsumerGroupDescribe) {
            let req = ConsumerGroupDescribeRequest::default().with_group_ids(vec![group_id(&g), group_id("g")]);
            let r: ConsumerGroupDescribeResponse = c.call(ApiKey::ConsumerGroupDescribe, dv, &req).await;
            let [ours, classic] = &r.groups[..] else {
                panic!("two groups described")
            };
            assert_eq!(
                (ours.error_code, ours.group_state.as_str(), ours.members.len()),
                (0, "Stable", 1),
                "ConsumerGroupDescribe v{dv}"
            );
            assert_eq!(ours.members[0].assignment.topic_partitions[0].topic_name, name(topic));
            // A classic group is not found, which sends admin clients to DescribeGroups.
            assert_eq!(
                classic.error_code,
                kafka_protocol::ResponseError::GroupIdNotFound.code()
            );
        }
        let leave = ConsumerGroupHeartbeatRequest::default()
            .with_group_id(group_id(&g))
            .with_member_id(s(&format!("member-{v}")))
            .with_member_epoch(-1);
        let r: ConsumerGroupHeartbeatResponse = c.call(ApiKey::ConsumerGroupHeartbeat, v, &leave).await;
        assert_eq!(
            (r.error_code, r.member_epoch),
            (0, -1),
            "ConsumerGroupHeartbeat leave v{v}"
        );
    }
}

/// KIP-546: set a client-id quota, describe it exactly, remove it, at every version.
async fn client_quota_apis_every_version(
    c: &mut common::Client,
    range: &impl Fn(ApiKey) -> std::ops::RangeInclusive<i16>,
) {
    use kafka_protocol::messages::alter_client_quotas_request::{EntityData, EntryData, OpData};
    use kafka_protocol::messages::describe_client_quotas_request::ComponentData;
    let alter = |value: f64, remove: bool| {
        AlterClientQuotasRequest::default().with_entries(vec![EntryData::default()
            .with_entity(vec![EntityData::default()
                .with_entity_type(s("client-id"))
                .with_entity_name(Some(s("quota-app")))])
            .with_ops(vec![OpData::default()
                .with_key(s("producer_byte_rate"))
                .with_value(value)
                .with_remove(remove)])])
    };
    for v in range(ApiKey::AlterClientQuotas) {
        let r: AlterClientQuotasResponse = c
            .call(ApiKey::AlterClientQuotas, v, &alter(1024.0 + f64::from(v), false))
            .await;
        assert_eq!(r.entries[0].error_code, 0, "AlterClientQuotas v{v}");
        for dv in range(ApiKey::DescribeClientQuotas) {
            let req = DescribeClientQuotasRequest::default().with_components(vec![ComponentData::default()
                .with_entity_type(s("client-id"))
                .with_match_type(0)
                .with_match(Some(s("quota-app")))]);
            let r: DescribeClientQuotasResponse = c.call(ApiKey::DescribeClientQuotas, dv, &req).await;
            assert_eq!(r.error_code, 0, "DescribeClientQuotas v{dv}");
            let entries = r.entries.expect("entries");
            let values: Vec<(String, f64)> = entries[0].values.iter().map(|x| (x.key.to_string(), x.value)).collect();
            assert_eq!(values, vec![("producer_byte_rate".to_string(), 1024.0 + f64::from(v))]);
            assert_eq!(entries[0].entity[0].entity_name.as_deref(), Some("quota-app"));
        }
        let bad: AlterClientQuotasResponse = c.call(ApiKey::AlterClientQuotas, v, &alter(0.0, false)).await;
        assert_eq!(
            bad.entries[0].error_code,
            kafka_protocol::ResponseError::InvalidRequest.code()
        );
        let r: AlterClientQuotasResponse = c.call(ApiKey::AlterClientQuotas, v, &alter(0.0, true)).await;
        assert_eq!(r.entries[0].error_code, 0, "AlterClientQuotas remove v{v}");
    }
}

/// KIP-98/KIP-664: a transaction per version — InitProducerId with a transactional id,
/// AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn — then FindCoordinator for a
/// transaction key, DescribeTransactions and ListTransactions, each at every version.
async fn transaction_apis_every_version(
    c: &mut common::Client,
    range: &impl Fn(ApiKey) -> std::ops::RangeInclusive<i16>,
) {
    let topic = "txn-topic";
    let create = CreateTopicsRequest::default()
        .with_timeout_ms(1000)
        .with_topics(vec![CreatableTopic::default()
            .with_name(name(topic))
            .with_num_partitions(1)
            .with_replication_factor(1)]);
    let r: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 5, &create).await;
    assert_eq!(r.topics[0].error_code, 0);
    use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
    use kafka_protocol::messages::txn_offset_commit_request::{
        TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
    };
    let tid = |v: i16| TransactionalId(s(&format!("txn-v{v}")));
    let versions = [
        range(ApiKey::AddPartitionsToTxn),
        range(ApiKey::AddOffsetsToTxn),
        range(ApiKey::TxnOffsetCommit),
        range(ApiKey::EndTxn),
    ];
    let last = versions.iter().map(|r| *r.end()).max().expect("ranges");
    let init_max = *range(ApiKey::InitProducerId).end();
    for v in 0..=last {
        let at = |r: &std::ops::RangeInclusive<i16>| v.clamp(*r.start(), *r.end());
        let iv = v.min(init_max);
        let init = InitProducerIdRequest::default()
            .with_transactional_id(Some(tid(v)))
            .with_transaction_timeout_ms(60_000)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
        let r: InitProducerIdResponse = c.call(ApiKey::InitProducerId, iv, &init).await;
        assert_eq!(
            (r.error_code, r.producer_epoch),
            (0, 0),
            "InitProducerId (transactional) v{iv}"
        );
        let (pid, epoch) = (r.producer_id, r.producer_epoch);

        let av = at(&versions[0]);
        let req = AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(tid(v))
            .with_v3_and_below_producer_id(pid)
            .with_v3_and_below_producer_epoch(epoch)
            .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
                .with_name(name(topic))
                .with_partitions(vec![0])]);
        let r: AddPartitionsToTxnResponse = c.call(ApiKey::AddPartitionsToTxn, av, &req).await;
        assert_eq!(
            r.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code, 0,
            "AddPartitionsToTxn v{av}"
        );

        let ov = at(&versions[1]);
        let req = AddOffsetsToTxnRequest::default()
            .with_transactional_id(tid(v))
            .with_producer_id(pid)
            .with_producer_epoch(epoch)
            .with_group_id(group_id("txn-group"));
        let r: AddOffsetsToTxnResponse = c.call(ApiKey::AddOffsetsToTxn, ov, &req).await;
        assert_eq!(r.error_code, 0, "AddOffsetsToTxn v{ov}");

        let tv = at(&versions[2]);
        let mut req = TxnOffsetCommitRequest::default()
            .with_transactional_id(tid(v))
            .with_group_id(group_id("txn-group"))
            .with_producer_id(pid)
            .with_producer_epoch(epoch)
            .with_topics(vec![TxnOffsetCommitRequestTopic::default()
                .with_name(name(topic))
                .with_partitions(vec![TxnOffsetCommitRequestPartition::default()
                    .with_partition_index(0)
                    .with_committed_offset(i64::from(v))
                    .with_committed_leader_epoch(-1)])]);
        if tv >= 3 {
            req = req.with_generation_id(-1).with_member_id(s(""));
        }
        let r: TxnOffsetCommitResponse = c.call(ApiKey::TxnOffsetCommit, tv, &req).await;
        assert_eq!(r.topics[0].partitions[0].error_code, 0, "TxnOffsetCommit v{tv}");

        let ev = at(&versions[3]);
        let req = EndTxnRequest::default()
            .with_transactional_id(tid(v))
            .with_producer_id(pid)
            .with_producer_epoch(epoch)
            .with_committed(true);
        let r: EndTxnResponse = c.call(ApiKey::EndTxn, ev, &req).await;
        assert_eq!(r.error_code, 0, "EndTxn v{ev}");
        // The committed offset is now the group's.
        let req = OffsetFetchRequest::default()
            .with_group_id(group_id("txn-group"))
            .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                .with_name(name(topic))
                .with_partition_indexes(vec![0])]));
        let r: OffsetFetchResponse = c.call(ApiKey::OffsetFetch, 1, &req).await;
        assert_eq!(
            r.topics[0].partitions[0].committed_offset,
            i64::from(v),
            "offset of txn v{v}"
        );
    }
    // key_type exists from v1 on.
    for v in range(ApiKey::FindCoordinator).filter(|v| *v >= 1) {
        let req = if v >= 4 {
            FindCoordinatorRequest::default()
                .with_key_type(1)
                .with_coordinator_keys(vec![s("txn-v0")])
        } else {
            FindCoordinatorRequest::default().with_key_type(1).with_key(s("txn-v0"))
        };
        let r: FindCoordinatorResponse = c.call(ApiKey::FindCoordinator, v, &req).await;
        let code = if v >= 4 {
            r.coordinators[0].error_code
        } else {
            r.error_code
        };
        assert_eq!(code, 0, "FindCoordinator (transaction) v{v}");
    }
    for v in range(ApiKey::DescribeTransactions) {
        let req = DescribeTransactionsRequest::default().with_transactional_ids(vec![tid(0), tid(99)]);
        let r: DescribeTransactionsResponse = c.call(ApiKey::DescribeTransactions, v, &req).await;
        let states: Vec<(i16, String)> = r
            .transaction_states
            .iter()
            .map(|t| (t.error_code, t.transaction_state.to_string()))
            .collect();
        let not_found = kafka_protocol::ResponseError::TransactionalIdNotFound.code();
        assert_eq!(
            states,
            vec![(0, "CompleteCommit".to_string()), (not_found, String::new())],
            "DescribeTransactions v{v}"
        );
    }
    for v in range(ApiKey::ListTransactions) {
        let req = ListTransactionsRequest::default().with_state_filters(vec![s("CompleteCommit"), s("Bogus")]);
        let r: ListTransactionsResponse = c.call(ApiKey::ListTransactions, v, &req).await;
        assert_eq!(r.error_code, 0, "ListTransactions v{v}");
        assert_eq!(
            r.transaction_states.len(),
            usize::from(last as u16) + 1,
            "ListTransactions v{v}"
        );
        assert_eq!(r.unknown_state_filters, vec![s("Bogus")]);
    }
}
