//! Membership of a consumer group over the classic protocol (JoinGroup, SyncGroup, Heartbeat,
//! LeaveGroup), for a client that subscribes to topics and lets the group share out their
//! partitions — what `subscribe()` does in Kafka's consumers.
//!
//! The member offers one assignor, `range` (Kafka's RangeAssignor, which every Kafka client also
//! offers, so mixed groups agree on it). When the coordinator makes this member the leader, it
//! assigns every member's subscribed topics: per topic, members in member-id order each take
//! partitions / members consecutive partitions, the first partitions % members one more.
//! Calls are sequential: the caller interleaves `heartbeat_if_due` with its fetches, and on
//! [`Heartbeat::Rejoin`] commits what it has, then calls `join` again.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::consumer_protocol_subscription::ConsumerProtocolSubscription;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ApiKey, GroupId, HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    LeaveGroupResponse, SyncGroupRequest, SyncGroupResponse,
};
use kafka_protocol::protocol::StrBytes;

use crate::cluster::Cluster;
use crate::error::{check_code, ClientError};
use crate::groups::{decode_assignment, decode_versioned, encode_assignment, encode_versioned};
use crate::versions::OurRange;

/// JoinGroup from v1 (rebalance timeout) to v9 (KIP-814); v4+ answers MEMBER_ID_REQUIRED first.
const JOIN_GROUP: OurRange = OurRange::new(ApiKey::JoinGroup, 1, 9);
const SYNC_GROUP: OurRange = OurRange::new(ApiKey::SyncGroup, 0, 5);
const HEARTBEAT: OurRange = OurRange::new(ApiKey::Heartbeat, 0, 4);
const LEAVE_GROUP: OurRange = OurRange::new(ApiKey::LeaveGroup, 0, 5);

const PROTOCOL_TYPE: &str = "consumer";
const ASSIGNOR: &str = "range";
/// Newest ConsumerProtocolSubscription version `kafka-protocol` knows; newer ones read as it.
const SUBSCRIPTION_VERSION_MAX: i16 = 3;

const ILLEGAL_GENERATION: i16 = 22;
const UNKNOWN_MEMBER_ID: i16 = 25;
const REBALANCE_IN_PROGRESS: i16 = 27;
const MEMBER_ID_REQUIRED: i16 = 79;

/// JoinGroup/SyncGroup rounds before giving up: one for KIP-394's member id, a few for
/// rebalances that restart while we join. A group that never settles fails with the last error.
const JOIN_ATTEMPTS_MAX: usize = 10;

/// Timeouts of one member.
#[derive(Debug, Clone, Copy)]
pub struct MemberTimeouts {
    /// The coordinator removes the member after this long without a heartbeat.
    pub session: Duration,
    /// How long the coordinator waits for members to rejoin during a rebalance.
    pub rebalance: Duration,
    /// Time between heartbeats; Kafka's rule of thumb is a third of the session timeout.
    pub heartbeat: Duration,
}

/// What a heartbeat found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heartbeat {
    /// Nothing to do, or not due yet.
    Steady,
    /// The group is rebalancing (or forgot us): commit, then `join` again.
    Rejoin,
}

/// This client's membership of one group.
pub struct GroupMember {
    group: String,
    topics: Vec<String>,
    timeouts: MemberTimeouts,
    member_id: String,
    generation_id: i32,
    assignment: Vec<(String, Vec<i32>)>,
    last_heartbeat: Instant,
}

impl GroupMember {
    /// A member of `group` subscribed to `topics`; it joins with [`GroupMember::join`].
    pub fn new(group: &str, topics: &[String], timeouts: MemberTimeouts) -> Self {
        GroupMember {
            group: group.to_owned(),
            topics: topics.to_vec(),
            timeouts,
            member_id: String::new(),
            generation_id: -1,
            assignment: Vec::new(),
            last_heartbeat: Instant::now(),
        }
    }

    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    pub fn generation_id(&self) -> i32 {
        self.generation_id
    }

    /// The partitions of each topic the group gave this member in the current generation.
    pub fn assignment(&self) -> &[(String, Vec<i32>)] {
        &self.assignment
    }

    /// Joins (or rejoins) the group and takes its assignment: JoinGroup, then SyncGroup (as
    /// leader with the range assignment). A rebalance that starts meanwhile is joined again.
    pub async fn join(&mut self, cluster: &mut Cluster) -> Result<(), ClientError> {
        let mut last = None;
        for _attempt in 0..JOIN_ATTEMPTS_MAX {
            let Some(joined) = self.join_once(cluster).await? else {
                continue;
            };
            match self.sync(cluster, &joined).await {
                Ok(()) => {
                    self.last_heartbeat = Instant::now();
                    return Ok(());
                }
                Err(
                    e @ ClientError::Broker {
                        code: REBALANCE_IN_PROGRESS | ILLEGAL_GENERATION,
                        ..
                    },
                ) => last = Some(e),
                Err(
                    e @ ClientError::Broker {
                        code: UNKNOWN_MEMBER_ID,
                        ..
                    },
                ) => {
                    self.member_id.clear();
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            ClientError::broker(
                ApiKey::JoinGroup,
                MEMBER_ID_REQUIRED,
                format!(" for group {}", self.group),
            )
        }))
    }

    /// One JoinGroup; `None` when the broker handed out a member id to join with (KIP-394) or
    /// forgot ours, so the caller joins again.
    async fn join_once(&mut self, cluster: &mut Cluster) -> Result<Option<JoinGroupResponse>, ClientError> {
        let subscription = encode_subscription(&self.topics)?;
        let conn = cluster.coordinator_connection(&self.group).await?;
        let version = conn.version(JOIN_GROUP)?;
        let request = self.join_request(subscription);
        // The coordinator holds a JoinGroup until every member has rejoined, for up to the
        // rebalance timeout: the usual bound on one answer would cut that short.
        let bound = conn.call_timeout();
        conn.set_call_timeout(bound.map(|b| b + self.timeouts.rebalance));
        let response: Result<JoinGroupResponse, ClientError> = conn.call(ApiKey::JoinGroup, version, &request).await;
        conn.set_call_timeout(bound);
        let response = response?;
        match response.error_code {
            0 => {}
            MEMBER_ID_REQUIRED => {
                self.member_id = response.member_id.to_string();
                return Ok(None);
            }
            UNKNOWN_MEMBER_ID => {
                self.member_id.clear();
                return Ok(None);
            }
            code => {
                return Err(ClientError::broker(
                    ApiKey::JoinGroup,
                    code,
                    format!(" for group {}", self.group),
                ));
            }
        }
        self.member_id = response.member_id.to_string();
        self.generation_id = response.generation_id;
        Ok(Some(response))
    }

    async fn sync(&mut self, cluster: &mut Cluster, joined: &JoinGroupResponse) -> Result<(), ClientError> {
        let assignments = if joined.leader == joined.member_id {
            let plan = self.assign_as_leader(cluster, joined).await?;
            let mut out = Vec::with_capacity(plan.len());
            for (member_id, partitions) in plan {
                out.push(
                    SyncGroupRequestAssignment::default()
                        .with_member_id(StrBytes::from_string(member_id))
                        .with_assignment(encode_assignment(&partitions)?),
                );
            }
            out
        } else {
            Vec::new()
        };
        let conn = cluster.coordinator_connection(&self.group).await?;
        let version = conn.version(SYNC_GROUP)?;
        let request = self.sync_request(version, assignments);
        // Followers wait here for the leader's assignment, bounded by the rebalance timeout.
        let bound = conn.call_timeout();
        conn.set_call_timeout(bound.map(|b| b + self.timeouts.rebalance));
        let response: Result<SyncGroupResponse, ClientError> = conn.call(ApiKey::SyncGroup, version, &request).await;
        conn.set_call_timeout(bound);
        let response = response?;
        check_code(ApiKey::SyncGroup, response.error_code, || {
            format!(" for group {}", self.group)
        })?;
        self.assignment = decode_assignment(&response.assignment)?;
        Ok(())
    }

    /// The range assignment of every member's subscribed topics.
    async fn assign_as_leader(
        &self,
        cluster: &mut Cluster,
        joined: &JoinGroupResponse,
    ) -> Result<BTreeMap<String, Vec<(String, Vec<i32>)>>, ClientError> {
        let mut subscriptions = BTreeMap::new();
        for m in &joined.members {
            subscriptions.insert(m.member_id.to_string(), decode_subscription(&m.metadata)?);
        }
        let mut topics: Vec<&str> = subscriptions.values().flatten().map(String::as_str).collect();
        topics.sort_unstable();
        topics.dedup();
        let metadata = cluster.metadata(Some(&topics)).await?;
        let mut partition_counts = BTreeMap::new();
        for t in &metadata.topics {
            if let (0, Some(name)) = (t.error_code, &t.name) {
                partition_counts.insert(name.0.to_string(), t.partitions.len() as i32);
            }
        }
        Ok(range_assign(&subscriptions, &partition_counts))
    }

    /// Sends a heartbeat if one is due.
    pub async fn heartbeat_if_due(&mut self, cluster: &mut Cluster) -> Result<Heartbeat, ClientError> {
        if self.last_heartbeat.elapsed() < self.timeouts.heartbeat {
            return Ok(Heartbeat::Steady);
        }
        let conn = cluster.coordinator_connection(&self.group).await?;
        let version = conn.version(HEARTBEAT)?;
        let request = HeartbeatRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(self.group.clone())))
            .with_generation_id(self.generation_id)
            .with_member_id(StrBytes::from_string(self.member_id.clone()));
        let response: HeartbeatResponse = conn.call(ApiKey::Heartbeat, version, &request).await?;
        self.last_heartbeat = Instant::now();
        match response.error_code {
            0 => Ok(Heartbeat::Steady),
            REBALANCE_IN_PROGRESS | ILLEGAL_GENERATION => Ok(Heartbeat::Rejoin),
            UNKNOWN_MEMBER_ID => {
                self.member_id.clear();
                Ok(Heartbeat::Rejoin)
            }
            code => Err(ClientError::broker(
                ApiKey::Heartbeat,
                code,
                format!(" for group {}", self.group),
            )),
        }
    }

    /// Leaves the group at once, so its partitions move without waiting for the session timeout.
    pub async fn leave(&mut self, cluster: &mut Cluster) -> Result<(), ClientError> {
        if self.member_id.is_empty() {
            return Ok(());
        }
        let conn = cluster.coordinator_connection(&self.group).await?;
        let version = conn.version(LEAVE_GROUP)?;
        let request = self.leave_request(version);
        let response: LeaveGroupResponse = conn.call(ApiKey::LeaveGroup, version, &request).await?;
        let scope = || format!(" for group {}", self.group);
        check_code(ApiKey::LeaveGroup, response.error_code, scope)?;
        for m in &response.members {
            check_code(ApiKey::LeaveGroup, m.error_code, scope)?;
        }
        self.member_id.clear();
        self.assignment.clear();
        Ok(())
    }

    /// JoinGroup in the fields every version from v1 has (v5+ static membership is not used).
    fn join_request(&self, subscription: Bytes) -> JoinGroupRequest {
        JoinGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(self.group.clone())))
            .with_session_timeout_ms(millis(self.timeouts.session))
            .with_rebalance_timeout_ms(millis(self.timeouts.rebalance))
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_protocol_type(StrBytes::from_static_str(PROTOCOL_TYPE))
            .with_protocols(vec![JoinGroupRequestProtocol::default()
                .with_name(StrBytes::from_static_str(ASSIGNOR))
                .with_metadata(subscription)])
    }

    fn sync_request(&self, version: i16, assignments: Vec<SyncGroupRequestAssignment>) -> SyncGroupRequest {
        let request = SyncGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(self.group.clone())))
            .with_generation_id(self.generation_id)
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_assignments(assignments);
        // v5 repeats the protocol type and name so the coordinator can check them (KIP-559).
        if version >= 5 {
            request
                .with_protocol_type(Some(StrBytes::from_static_str(PROTOCOL_TYPE)))
                .with_protocol_name(Some(StrBytes::from_static_str(ASSIGNOR)))
        } else {
            request
        }
    }

    fn leave_request(&self, version: i16) -> LeaveGroupRequest {
        let member_id = StrBytes::from_string(self.member_id.clone());
        let request = LeaveGroupRequest::default().with_group_id(GroupId(StrBytes::from_string(self.group.clone())));
        // v3 batches members by identity (KIP-345); before it, one member id.
        if version >= 3 {
            request.with_members(vec![MemberIdentity::default().with_member_id(member_id)])
        } else {
            request.with_member_id(member_id)
        }
    }
}

/// Kafka's RangeAssignor: per topic, the subscribed members in member-id order take
/// consecutive ranges, the first `partitions % members` one partition more. Every member gets
/// an entry, possibly empty.
pub fn range_assign(
    subscriptions: &BTreeMap<String, Vec<String>>,
    partition_counts: &BTreeMap<String, i32>,
) -> BTreeMap<String, Vec<(String, Vec<i32>)>> {
    let mut plan: BTreeMap<String, Vec<(String, Vec<i32>)>> =
        subscriptions.keys().map(|m| (m.clone(), Vec::new())).collect();
    for (topic, &count) in partition_counts {
        let members: Vec<&String> = subscriptions
            .iter()
            .filter(|(_, topics)| topics.contains(topic))
            .map(|(m, _)| m)
            .collect();
        if members.is_empty() || count <= 0 {
            continue;
        }
        let n = members.len() as i32;
        let (per, extra) = (count / n, count % n);
        for (i, m) in members.into_iter().enumerate() {
            let i = i as i32;
            let start = per * i + i.min(extra);
            let len = per + i32::from(i < extra);
            if len > 0 {
                plan.entry(m.clone())
                    .or_default()
                    .push((topic.clone(), (start..start + len).collect()));
            }
        }
    }
    plan
}

/// A consumer-protocol subscription (version 0) to `topics`.
pub fn encode_subscription(topics: &[String]) -> Result<Bytes, ClientError> {
    let subscription = ConsumerProtocolSubscription::default()
        .with_topics(topics.iter().map(|t| StrBytes::from_string(t.clone())).collect());
    encode_versioned(&subscription, ApiKey::JoinGroup, "subscription")
}

/// The topics of a member's consumer-protocol subscription.
pub fn decode_subscription(bytes: &Bytes) -> Result<Vec<String>, ClientError> {
    let s: ConsumerProtocolSubscription = decode_versioned(
        bytes,
        SUBSCRIPTION_VERSION_MAX,
        ApiKey::JoinGroup,
        "member subscription",
    )?;
    Ok(s.topics.into_iter().map(|t| t.to_string()).collect())
}

fn millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subs(spec: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        spec.iter()
            .map(|(m, ts)| (m.to_string(), ts.iter().map(|t| t.to_string()).collect()))
            .collect()
    }

    #[test]
    fn range_assign_gives_the_first_members_the_remainder() {
        let s = subs(&[("m1", &["t"]), ("m2", &["t"]), ("m3", &["t", "u"])]);
        let counts = BTreeMap::from([("t".to_owned(), 5), ("u".to_owned(), 1)]);
        let plan = range_assign(&s, &counts);
        assert_eq!(plan["m1"], vec![("t".to_owned(), vec![0, 1])]);
        assert_eq!(plan["m2"], vec![("t".to_owned(), vec![2, 3])]);
        assert_eq!(plan["m3"], vec![("t".to_owned(), vec![4]), ("u".to_owned(), vec![0])]);
    }

    #[test]
    fn range_assign_more_members_than_partitions_leaves_some_empty() {
        let s = subs(&[("a", &["t"]), ("b", &["t"])]);
        let plan = range_assign(&s, &BTreeMap::from([("t".to_owned(), 1)]));
        assert_eq!(plan["a"], vec![("t".to_owned(), vec![0])]);
        assert_eq!(plan["b"], vec![]);
    }

    #[test]
    fn requests_encode_at_every_version_we_speak() {
        use bytes::BytesMut;
        use kafka_protocol::protocol::Encodable;
        let mut m = GroupMember::new(
            "g",
            &["t".to_owned()],
            MemberTimeouts {
                session: Duration::from_secs(10),
                rebalance: Duration::from_secs(30),
                heartbeat: Duration::from_secs(3),
            },
        );
        m.member_id = "m-1".to_owned();
        m.generation_id = 4;
        let subscription = encode_subscription(&m.topics).expect("subscription");
        let assignment = vec![SyncGroupRequestAssignment::default()
            .with_member_id(StrBytes::from_static_str("m-1"))
            .with_assignment(encode_assignment(&[("t".to_owned(), vec![0])]).expect("assignment"))];
        let mut buf = BytesMut::new();
        for v in JOIN_GROUP.min..=JOIN_GROUP.max {
            m.join_request(subscription.clone())
                .encode(&mut buf, v)
                .expect("JoinGroup");
        }
        for v in SYNC_GROUP.min..=SYNC_GROUP.max {
            m.sync_request(v, assignment.clone())
                .encode(&mut buf, v)
                .expect("SyncGroup");
        }
        for v in LEAVE_GROUP.min..=LEAVE_GROUP.max {
            m.leave_request(v).encode(&mut buf, v).expect("LeaveGroup");
        }
    }

    #[test]
    fn subscription_round_trips_and_truncation_fails() {
        let topics = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(
            decode_subscription(&encode_subscription(&topics).expect("encodes")).expect("decodes"),
            topics
        );
        assert!(decode_subscription(&Bytes::from_static(&[0])).is_err());
    }
}
