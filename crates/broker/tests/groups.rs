//! Consumer groups over the raw protocol against a real broker: the whole join → sync →
//! heartbeat → commit → fetch cycle with two members, KIP-394, rebalance signalling, session
//! expiry, DeleteGroups/OffsetDelete and offsets surviving a restart.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{group_id, join_group, join_req, Client, TestBroker};
use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::offset_delete_request::{OffsetDeleteRequestPartition, OffsetDeleteRequestTopic};
use kafka_protocol::messages::offset_fetch_request::{OffsetFetchRequestGroup, OffsetFetchRequestTopics};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn heartbeat(group: &str, member: &StrBytes, generation: i32) -> HeartbeatRequest {
    HeartbeatRequest::default()
        .with_group_id(group_id(group))
        .with_member_id(member.clone())
        .with_generation_id(generation)
}

fn commit(group: &str, member: &str, generation: i32, offsets: &[(&str, i32, i64)]) -> OffsetCommitRequest {
    OffsetCommitRequest::default()
        .with_group_id(group_id(group))
        .with_member_id(s(member))
        .with_generation_id_or_member_epoch(generation)
        .with_topics(
            offsets
                .iter()
                .map(|(t, p, o)| {
                    OffsetCommitRequestTopic::default()
                        .with_name(TopicName(s(t)))
                        .with_partitions(vec![OffsetCommitRequestPartition::default()
                            .with_partition_index(*p)
                            .with_committed_offset(*o)
                            .with_committed_leader_epoch(-1)
                            .with_committed_metadata(Some(s("meta")))])
                })
                .collect(),
        )
}

/// (topic, partition, committed offset, metadata) of group `group`, all partitions (null topics).
async fn fetch_all(c: &mut Client, group: &str) -> Vec<(String, i32, i64, String)> {
    let req = OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
        .with_group_id(group_id(group))
        .with_member_epoch(-1)
        .with_topics(None)]);
    let r: OffsetFetchResponse = c.call(ApiKey::OffsetFetch, 8, &req).await;
    assert_eq!(r.groups[0].error_code, 0);
    r.groups[0]
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(move |p| {
                let meta = p.metadata.as_ref().map(|m| m.to_string()).unwrap_or_default();
                (t.name.0.to_string(), p.partition_index, p.committed_offset, meta)
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_join_sync_heartbeat_commit_fetch() {
    let b = TestBroker::start().await;
    let (mut c1, mut c2) = (b.client().await, b.client().await);
    let fc: FindCoordinatorResponse = c1
        .call(
            ApiKey::FindCoordinator,
            4,
            &FindCoordinatorRequest::default().with_coordinator_keys(vec![s("g")]),
        )
        .await;
    assert_eq!(fc.coordinators[0].error_code, 0);
    assert_eq!(fc.coordinators[0].port, i32::from(b.addr.port()));

    // KIP-394: the first JoinGroup (v4+) only hands out a member id.
    let first: JoinGroupResponse = c1.call(ApiKey::JoinGroup, 5, &join_req("g", "", 10_000)).await;
    assert_eq!(first.error_code, ResponseError::MemberIdRequired.code());
    assert!(first.member_id.starts_with("wharf-test-"), "{}", first.member_id);
    let j1: JoinGroupResponse = c1
        .call(ApiKey::JoinGroup, 5, &join_req("g", &first.member_id, 10_000))
        .await;
    assert_eq!((j1.error_code, j1.generation_id), (0, 1));
    assert_eq!(j1.leader, first.member_id);
    let m1 = j1.member_id.clone();

    // A second member parks its JoinGroup; the first learns of the rebalance by heartbeat.
    let r: JoinGroupResponse = c2.call(ApiKey::JoinGroup, 5, &join_req("g", "", 10_000)).await;
    let m2 = r.member_id.clone();
    let (j2_corr, frame) = c2.frame(ApiKey::JoinGroup, 5, &join_req("g", &m2, 10_000));
    c2.send_raw(&frame).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let hb: HeartbeatResponse = c1.call(ApiKey::Heartbeat, 4, &heartbeat("g", &m1, 1)).await;
    assert_eq!(hb.error_code, ResponseError::RebalanceInProgress.code());
    let j1: JoinGroupResponse = c1.call(ApiKey::JoinGroup, 5, &join_req("g", &m1, 10_000)).await;
    let j2: JoinGroupResponse = c2.read_response(ApiKey::JoinGroup, 5, j2_corr).await;
    assert_eq!((j1.error_code, j1.generation_id, j1.members.len()), (0, 2, 2));
    assert_eq!((j2.error_code, j2.generation_id, j2.members.len()), (0, 2, 0));
    assert_eq!(j2.leader, m1);
    assert_eq!(
        j1.protocol_name.as_ref().map(|p| p.to_string()),
        Some("range".to_string())
    );

    // The follower's SyncGroup waits for the leader's assignment.
    let follower = SyncGroupRequest::default()
        .with_group_id(group_id("g"))
        .with_member_id(m2.clone())
        .with_generation_id(2);
    let (s2_corr, frame) = c2.frame(ApiKey::SyncGroup, 3, &follower);
    c2.send_raw(&frame).await;
    let leader = SyncGroupRequest::default()
        .with_group_id(group_id("g"))
        .with_member_id(m1.clone())
        .with_generation_id(2)
        .with_assignments(vec![
            SyncGroupRequestAssignment::default()
                .with_member_id(m1.clone())
                .with_assignment(Bytes::from_static(b"p0")),
            SyncGroupRequestAssignment::default()
                .with_member_id(m2.clone())
                .with_assignment(Bytes::from_static(b"p1")),
        ]);
    let s1: SyncGroupResponse = c1.call(ApiKey::SyncGroup, 3, &leader).await;
    let s2: SyncGroupResponse = c2.read_response(ApiKey::SyncGroup, 3, s2_corr).await;
    assert_eq!((s1.error_code, s1.assignment), (0, Bytes::from_static(b"p0")));
    assert_eq!((s2.error_code, s2.assignment), (0, Bytes::from_static(b"p1")));
    let hb: HeartbeatResponse = c2.call(ApiKey::Heartbeat, 4, &heartbeat("g", &m2, 2)).await;
    assert_eq!(hb.error_code, 0);
    let hb: HeartbeatResponse = c2.call(ApiKey::Heartbeat, 4, &heartbeat("g", &m2, 1)).await;
    assert_eq!(hb.error_code, ResponseError::IllegalGeneration.code());

    let oc: OffsetCommitResponse = c1
        .call(
            ApiKey::OffsetCommit,
            8,
            &commit("g", &m1, 2, &[("t", 0, 10), ("t", 1, 20)]),
        )
        .await;
    assert!(oc.topics.iter().all(|t| t.partitions[0].error_code == 0), "{oc:?}");
    let stale: OffsetCommitResponse = c2
        .call(ApiKey::OffsetCommit, 8, &commit("g", &m2, 1, &[("t", 1, 5)]))
        .await;
    assert_eq!(
        stale.topics[0].partitions[0].error_code,
        ResponseError::IllegalGeneration.code()
    );
    assert_eq!(
        fetch_all(&mut c2, "g").await,
        vec![("t".into(), 0, 10, "meta".into()), ("t".into(), 1, 20, "meta".into())]
    );
    let one = OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
        .with_group_id(group_id("g"))
        .with_member_epoch(-1)
        .with_topics(Some(vec![OffsetFetchRequestTopics::default()
            .with_name(TopicName(s("t")))
            .with_partition_indexes(vec![1, 7])]))]);
    let r: OffsetFetchResponse = c2.call(ApiKey::OffsetFetch, 8, &one).await;
    let offsets: Vec<i64> = r.groups[0].topics[0]
        .partitions
        .iter()
        .map(|p| p.committed_offset)
        .collect();
    assert_eq!(offsets, vec![20, -1]);

    let d: DescribeGroupsResponse = c1
        .call(
            ApiKey::DescribeGroups,
            5,
            &DescribeGroupsRequest::default().with_groups(vec![group_id("g")]),
        )
        .await;
    assert_eq!(d.groups[0].group_state.as_str(), "Stable");
    assert_eq!(d.groups[0].protocol_data.as_str(), "range");
    assert_eq!(d.groups[0].members.len(), 2);
    let m = &d.groups[0].members[0];
    assert_eq!(
        (m.client_id.as_str(), m.client_host.as_str()),
        ("wharf-test", "/127.0.0.1")
    );
    assert_eq!(m.member_assignment, Bytes::from_static(b"p0"));
    let l: ListGroupsResponse = c1
        .call(
            ApiKey::ListGroups,
            4,
            &ListGroupsRequest::default().with_states_filter(vec![s("Stable")]),
        )
        .await;
    assert_eq!(l.groups.len(), 1);
    assert_eq!(
        (l.groups[0].group_id.0.as_str(), l.groups[0].protocol_type.as_str()),
        ("g", "consumer")
    );

    let del = DeleteGroupsRequest::default().with_groups_names(vec![group_id("g")]);
    let r: DeleteGroupsResponse = c1.call(ApiKey::DeleteGroups, 2, &del).await;
    assert_eq!(r.results[0].error_code, ResponseError::NonEmptyGroup.code());
    let leave = LeaveGroupRequest::default()
        .with_group_id(group_id("g"))
        .with_members(vec![
            kafka_protocol::messages::leave_group_request::MemberIdentity::default().with_member_id(m1.clone()),
            kafka_protocol::messages::leave_group_request::MemberIdentity::default().with_member_id(m2.clone()),
        ]);
    let r: LeaveGroupResponse = c1.call(ApiKey::LeaveGroup, 4, &leave).await;
    assert_eq!(r.members.iter().map(|m| m.error_code).collect::<Vec<_>>(), vec![0, 0]);
    let hb: HeartbeatResponse = c2.call(ApiKey::Heartbeat, 4, &heartbeat("g", &m2, 2)).await;
    assert_eq!(hb.error_code, ResponseError::UnknownMemberId.code());

    // Empty now: OffsetDelete then DeleteGroups succeed and the offsets are gone.
    let od = OffsetDeleteRequest::default()
        .with_group_id(group_id("g"))
        .with_topics(vec![OffsetDeleteRequestTopic::default()
            .with_name(TopicName(s("t")))
            .with_partitions(vec![
                OffsetDeleteRequestPartition::default().with_partition_index(0)
            ])]);
    let r: OffsetDeleteResponse = c1.call(ApiKey::OffsetDelete, 0, &od).await;
    assert_eq!((r.error_code, r.topics[0].partitions[0].error_code), (0, 0));
    assert_eq!(fetch_all(&mut c1, "g").await, vec![("t".into(), 1, 20, "meta".into())]);
    let r: DeleteGroupsResponse = c1.call(ApiKey::DeleteGroups, 2, &del).await;
    assert_eq!(r.results[0].error_code, 0);
    let r: DeleteGroupsResponse = c1.call(ApiKey::DeleteGroups, 2, &del).await;
    assert_eq!(r.results[0].error_code, ResponseError::GroupIdNotFound.code());
    assert!(fetch_all(&mut c1, "g").await.is_empty());
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_after_session_expiry_is_unknown_member_id() {
    let b = TestBroker::start_with(|c| c.group_limits.min_session_timeout_ms = 100).await;
    let mut c = b.client().await;
    let r: JoinGroupResponse = c.call(ApiKey::JoinGroup, 3, &join_req("g", "", 300)).await;
    assert_eq!((r.error_code, r.generation_id), (0, 1));
    let hb: HeartbeatResponse = c.call(ApiKey::Heartbeat, 2, &heartbeat("g", &r.member_id, 1)).await;
    assert_eq!(hb.error_code, 0);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let hb: HeartbeatResponse = c.call(ApiKey::Heartbeat, 2, &heartbeat("g", &r.member_id, 1)).await;
    assert_eq!(hb.error_code, ResponseError::UnknownMemberId.code());
    let too_short: JoinGroupResponse = c.call(ApiKey::JoinGroup, 3, &join_req("g", "", 99)).await;
    assert_eq!(too_short.error_code, ResponseError::InvalidSessionTimeout.code());
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_offsets_and_group_survive_restart() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let r: OffsetCommitResponse = c
        .call(ApiKey::OffsetCommit, 8, &commit("solo", "", -1, &[("t", 3, 33)]))
        .await;
    assert_eq!(r.topics[0].partitions[0].error_code, 0);
    let j = join_group(&mut c, "live", 5).await;
    let sync = SyncGroupRequest::default()
        .with_group_id(group_id("live"))
        .with_member_id(j.member_id.clone())
        .with_generation_id(j.generation_id)
        .with_assignments(vec![SyncGroupRequestAssignment::default()
            .with_member_id(j.member_id.clone())
            .with_assignment(Bytes::from_static(b"a"))]);
    let r: SyncGroupResponse = c.call(ApiKey::SyncGroup, 3, &sync).await;
    assert_eq!(r.error_code, 0);
    let r: OffsetCommitResponse = c
        .call(
            ApiKey::OffsetCommit,
            8,
            &commit("live", &j.member_id, j.generation_id, &[("t", 0, 7)]),
        )
        .await;
    assert_eq!(r.topics[0].partitions[0].error_code, 0);
    drop(c);
    let dir = b.stop().await;

    let b = TestBroker::start_in(dir, |_| {}).await;
    let mut c = b.client().await;
    assert_eq!(
        fetch_all(&mut c, "solo").await,
        vec![("t".into(), 3, 33, "meta".into())]
    );
    assert_eq!(fetch_all(&mut c, "live").await, vec![("t".into(), 0, 7, "meta".into())]);
    // The member carries on in its generation without a rebalance, as with Kafka.
    let hb: HeartbeatResponse = c
        .call(ApiKey::Heartbeat, 4, &heartbeat("live", &j.member_id, j.generation_id))
        .await;
    assert_eq!(hb.error_code, 0);
    let d: DescribeGroupsResponse = c
        .call(
            ApiKey::DescribeGroups,
            5,
            &DescribeGroupsRequest::default().with_groups(vec![group_id("live")]),
        )
        .await;
    assert_eq!(d.groups[0].group_state.as_str(), "Stable");
    assert_eq!(d.groups[0].members[0].member_assignment, Bytes::from_static(b"a"));
    // The internal log is not a topic.
    let m: MetadataResponse = c
        .call(ApiKey::Metadata, 12, &MetadataRequest::default().with_topics(None))
        .await;
    assert!(m.topics.is_empty(), "{:?}", m.topics);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_group_offsets_expire_and_stay_expired_after_restart() {
    let tweak = |c: &mut wharf_broker::config::BrokerConfig| {
        c.group_limits.offsets_retention_ms = 300;
        c.group_limits.offsets_retention_check_interval_ms = 50;
    };
    let b = TestBroker::start_with(tweak).await;
    let mut c = b.client().await;
    let r: OffsetCommitResponse = c
        .call(ApiKey::OffsetCommit, 8, &commit("old", "", -1, &[("t", 0, 5)]))
        .await;
    assert_eq!(r.topics[0].partitions[0].error_code, 0);
    assert_eq!(fetch_all(&mut c, "old").await.len(), 1);
    // Expiry runs on the coordinator's timer: wait (bounded) for the tombstone to land.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !fetch_all(&mut c, "old").await.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "offset never expired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(c);
    let dir = b.stop().await;
    // The tombstone is durable: the offset does not come back at replay.
    let b = TestBroker::start_in(dir, |c| c.group_limits.offsets_retention_ms = i64::MAX / 2).await;
    let mut c = b.client().await;
    assert!(fetch_all(&mut c, "old").await.is_empty());
    b.stop().await;
}
