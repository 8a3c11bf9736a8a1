//! Group members created over HTTP (REST-proxy style): each is a classic-protocol consumer of
//! its group — JoinGroup/SyncGroup with the range assignor, heartbeats from a task of its own,
//! a position per assigned partition — so it shares partitions with Kafka clients in the same
//! group exactly as another Kafka consumer would.
//!
//! Invariants: a member's state is only touched under its own lock; a member not polled for
//! `member_idle_ms` leaves its group and is forgotten; at most `members_max` exist.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use tokio::sync::Mutex as AsyncMutex;
use wharf_client::groups::{decode_assignment, encode_assignment};
use wharf_client::member::{decode_subscription, encode_subscription, range_assign};

use crate::error::{codes, ApiError};
use crate::local::{versions, LocalClient};
use crate::records::{decode_fetched, Format, RecordJson};
use crate::requests::{aborted_of, commit_offsets, fetch_request};
use crate::routes::fetch::{list_offset, EARLIEST, LATEST};

const PROTOCOL_TYPE: &str = "consumer";
const ASSIGNOR: &str = "range";
const MEMBER_ID_REQUIRED: i16 = 79;
/// How often a member heartbeats; well inside SESSION_TIMEOUT so two may be lost.
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);
const SESSION_TIMEOUT_MS: i32 = 30_000;
/// How long the coordinator waits for every member to rejoin; each HTTP member rejoins from its
/// heartbeat task within HEARTBEAT_INTERVAL, whatever its HTTP client is doing.
const REBALANCE_TIMEOUT_MS: i32 = 60_000;
/// Longest wait of one member poll: the poll holds the member, so its heartbeats and rejoins
/// wait for it; this keeps them well inside SESSION_TIMEOUT_MS.
pub const POLL_WAIT_MAX_MS: u64 = 10_000;
/// Join attempts before giving up (each retry follows a rebalance that started meanwhile).
const JOIN_ATTEMPTS_MAX: usize = 10;

/// One HTTP-created member of a group.
pub struct Member {
    pub group: String,
    pub member_id: String,
    generation_id: i32,
    topics: Vec<String>,
    /// Where a partition without a committed offset starts: EARLIEST or LATEST.
    reset: i64,
    assignment: Vec<(String, Vec<i32>)>,
    /// The next offset to return per assigned partition (after what was handed out).
    positions: BTreeMap<(String, i32), i64>,
    needs_rejoin: bool,
    last_used: Instant,
    removed: bool,
}

/// The members the gateway holds, by the member id they were created with.
pub struct Members {
    by_id: Mutex<HashMap<String, Arc<AsyncMutex<Member>>>>,
}

impl Default for Members {
    fn default() -> Self {
        Members {
            by_id: Mutex::new(HashMap::new()),
        }
    }
}

impl Members {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<AsyncMutex<Member>>>> {
        // A panic while holding this lock cannot leave the map half-changed (single inserts and
        // removes), so a poisoned lock is still sound to use.
        self.by_id.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn len(&self) -> usize {
        self.map().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Joins `group` as a new member subscribed to `topics` and starts its heartbeat task.
    pub async fn create(
        self: &Arc<Self>,
        client: &LocalClient,
        group: &str,
        topics: Vec<String>,
        reset: i64,
        max: usize,
        idle: Duration,
    ) -> Result<String, ApiError> {
        if self.len() >= max {
            return Err(ApiError::new(
                codes::THROTTLING_QUOTA_EXCEEDED,
                format!("{max} HTTP group members exist already (http.members.max)"),
            ));
        }
        let mut m = Member {
            group: group.to_owned(),
            member_id: String::new(),
            generation_id: -1,
            topics,
            reset,
            assignment: Vec::new(),
            positions: BTreeMap::new(),
            needs_rejoin: false,
            last_used: Instant::now(),
            removed: false,
        };
        m.join(client).await?;
        let id = m.member_id.clone();
        let member = Arc::new(AsyncMutex::new(m));
        self.map().insert(id.clone(), Arc::clone(&member));
        tokio::spawn(heartbeat_loop(
            Arc::clone(self),
            client.clone(),
            id.clone(),
            member,
            idle,
        ));
        Ok(id)
    }

    pub fn get(&self, group: &str, id: &str) -> Result<Arc<AsyncMutex<Member>>, ApiError> {
        self.map().get(id).cloned().ok_or_else(|| {
            ApiError::new(
                codes::UNKNOWN_MEMBER_ID,
                format!("no HTTP member '{id}' in group '{group}'"),
            )
        })
    }

    /// Leaves the group and forgets the member.
    pub async fn remove(&self, client: &LocalClient, group: &str, id: &str) -> Result<(), ApiError> {
        let member = self.get(group, id)?;
        self.map().remove(id);
        let mut m = member.lock().await;
        m.removed = true;
        m.leave(client).await
    }
}

async fn heartbeat_loop(
    members: Arc<Members>,
    client: LocalClient,
    id: String,
    member: Arc<AsyncMutex<Member>>,
    idle: Duration,
) {
    loop {
        tokio::time::sleep(HEARTBEAT_INTERVAL).await;
        let mut m = member.lock().await;
        if m.removed {
            return;
        }
        if m.last_used.elapsed() > idle {
            tracing::info!(group = %m.group, member = %id, "HTTP member idle too long; leaving its group");
            members.map().remove(&id);
            m.removed = true;
            if let Err(e) = m.leave(&client).await {
                tracing::warn!(group = %m.group, error = %e.message, "leaving the group failed");
            }
            return;
        }
        let result = if m.needs_rejoin {
            m.join(&client).await
        } else {
            m.heartbeat(&client).await
        };
        if let Err(e) = result {
            tracing::warn!(group = %m.group, member = %id, error = %e.message, "HTTP member heartbeat failed");
            m.needs_rejoin = true;
        }
    }
}

impl Member {
    fn group_id(&self) -> GroupId {
        GroupId(StrBytes::from_string(self.group.clone()))
    }

    /// JoinGroup then SyncGroup (as leader with the range assignment), again while a
    /// rebalance starts meanwhile.
    async fn join(&mut self, client: &LocalClient) -> Result<(), ApiError> {
        let subscription = encode_subscription(&self.topics).map_err(|e| ApiError::invalid(e.to_string()))?;
        let mut last = ApiError::new(codes::REBALANCE_IN_PROGRESS, "the group kept rebalancing");
        for _ in 0..JOIN_ATTEMPTS_MAX {
            let request = JoinGroupRequest::default()
                .with_group_id(self.group_id())
                .with_session_timeout_ms(SESSION_TIMEOUT_MS)
                .with_rebalance_timeout_ms(REBALANCE_TIMEOUT_MS)
                .with_member_id(StrBytes::from_string(self.member_id.clone()))
                .with_protocol_type(StrBytes::from_static_str(PROTOCOL_TYPE))
                .with_protocols(vec![JoinGroupRequestProtocol::default()
                    .with_name(StrBytes::from_static_str(ASSIGNOR))
                    .with_metadata(subscription.clone())]);
            let joined: JoinGroupResponse = client.call(ApiKey::JoinGroup, versions::JOIN_GROUP, &request).await?;
            match joined.error_code {
                0 => {}
                MEMBER_ID_REQUIRED => {
                    self.member_id = joined.member_id.to_string();
                    continue;
                }
                codes::UNKNOWN_MEMBER_ID => {
                    self.member_id.clear();
                    continue;
                }
                code => return Err(ApiError::new(code, format!("cannot join group '{}'", self.group))),
            }
            self.member_id = joined.member_id.to_string();
            self.generation_id = joined.generation_id;
            let assignments = if joined.leader == joined.member_id {
                self.assign(client, &joined).await?
            } else {
                Vec::new()
            };
            let request = SyncGroupRequest::default()
                .with_group_id(self.group_id())
                .with_generation_id(self.generation_id)
                .with_member_id(StrBytes::from_string(self.member_id.clone()))
                .with_protocol_type(Some(StrBytes::from_static_str(PROTOCOL_TYPE)))
                .with_protocol_name(Some(StrBytes::from_static_str(ASSIGNOR)))
                .with_assignments(assignments);
            let synced: SyncGroupResponse = client.call(ApiKey::SyncGroup, versions::SYNC_GROUP, &request).await?;
            match synced.error_code {
                0 => {}
                codes::REBALANCE_IN_PROGRESS | codes::ILLEGAL_GENERATION => {
                    last = ApiError::new(synced.error_code, format!("group '{}' is rebalancing", self.group));
                    continue;
                }
                codes::UNKNOWN_MEMBER_ID => {
                    self.member_id.clear();
                    continue;
                }
                code => return Err(ApiError::new(code, format!("cannot sync with group '{}'", self.group))),
            }
            self.assignment = decode_assignment(&synced.assignment)
                .map_err(|e| ApiError::new(codes::UNKNOWN_SERVER_ERROR, e.to_string()))?;
            let assigned: Vec<(String, i32)> = self.assigned().collect();
            self.positions.retain(|tp, _| assigned.contains(tp));
            self.needs_rejoin = false;
            return Ok(());
        }
        Err(last)
    }

    async fn assign(
        &self,
        client: &LocalClient,
        joined: &JoinGroupResponse,
    ) -> Result<Vec<SyncGroupRequestAssignment>, ApiError> {
        let mut subscriptions = BTreeMap::new();
        for m in &joined.members {
            let topics = decode_subscription(&m.metadata).map_err(|e| ApiError::invalid(e.to_string()))?;
            subscriptions.insert(m.member_id.to_string(), topics);
        }
        let mut counts = BTreeMap::new();
        for topics in subscriptions.values() {
            for t in topics {
                if let Some(topic) = client.broker().registry.topic(t) {
                    counts.insert(t.clone(), topic.partition_count());
                }
            }
        }
        let mut out = Vec::new();
        for (member_id, partitions) in range_assign(&subscriptions, &counts) {
            out.push(
                SyncGroupRequestAssignment::default()
                    .with_member_id(StrBytes::from_string(member_id))
                    .with_assignment(
                        encode_assignment(&partitions)
                            .map_err(|e| ApiError::new(codes::UNKNOWN_SERVER_ERROR, e.to_string()))?,
                    ),
            );
        }
        Ok(out)
    }

    async fn heartbeat(&mut self, client: &LocalClient) -> Result<(), ApiError> {
        let request = HeartbeatRequest::default()
            .with_group_id(self.group_id())
            .with_generation_id(self.generation_id)
            .with_member_id(StrBytes::from_string(self.member_id.clone()));
        let response: HeartbeatResponse = client.call(ApiKey::Heartbeat, versions::HEARTBEAT, &request).await?;
        match response.error_code {
            0 => Ok(()),
            codes::REBALANCE_IN_PROGRESS | codes::ILLEGAL_GENERATION | codes::UNKNOWN_MEMBER_ID => {
                if response.error_code == codes::UNKNOWN_MEMBER_ID {
                    self.member_id.clear();
                }
                self.join(client).await
            }
            code => Err(ApiError::new(code, format!("heartbeat to group '{}'", self.group))),
        }
    }

    async fn leave(&mut self, client: &LocalClient) -> Result<(), ApiError> {
        let request = LeaveGroupRequest::default()
            .with_group_id(self.group_id())
            .with_members(vec![
                MemberIdentity::default().with_member_id(StrBytes::from_string(self.member_id.clone()))
            ]);
        let response: LeaveGroupResponse = client.call(ApiKey::LeaveGroup, versions::LEAVE_GROUP, &request).await?;
        ApiError::check(response.error_code, None, || {
            format!("cannot leave group '{}'", self.group)
        })
    }

    fn assigned(&self) -> impl Iterator<Item = (String, i32)> + '_ {
        self.assignment
            .iter()
            .flat_map(|(t, ps)| ps.iter().map(move |p| (t.clone(), *p)))
    }

    pub fn assignment(&self) -> &[(String, Vec<i32>)] {
        &self.assignment
    }

    /// Up to `max` records from the assigned partitions, waiting up to `wait_ms` for some.
    /// Positions move past what is returned; nothing is committed.
    pub async fn poll(
        &mut self,
        client: &LocalClient,
        max: usize,
        wait_ms: u64,
        fetch_bytes: i32,
        format: Format,
    ) -> Result<Vec<RecordJson>, ApiError> {
        self.last_used = Instant::now();
        if self.needs_rejoin {
            self.join(client).await?;
        }
        self.fill_positions(client).await?;
        let wait_ms = wait_ms.min(POLL_WAIT_MAX_MS);
        let out = fetch_from(
            client,
            &mut self.positions,
            self.reset,
            max,
            wait_ms,
            fetch_bytes,
            format,
        )
        .await?;
        self.last_used = Instant::now();
        Ok(out)
    }

    /// Commits `offsets`, or every position when `None`, as this member's generation.
    pub async fn commit(
        &mut self,
        client: &LocalClient,
        offsets: Option<Vec<(String, i32, i64)>>,
    ) -> Result<usize, ApiError> {
        self.last_used = Instant::now();
        let offsets = offsets.unwrap_or_else(|| self.positions.iter().map(|((t, p), o)| (t.clone(), *p, *o)).collect());
        let entries = offsets.iter().map(|(t, p, o)| (t.as_str(), *p, *o));
        let response = commit_offsets(client, &self.group, self.generation_id, &self.member_id, entries).await?;
        for t in &response.topics {
            for p in &t.partitions {
                if p.error_code == codes::REBALANCE_IN_PROGRESS || p.error_code == codes::ILLEGAL_GENERATION {
                    self.needs_rejoin = true;
                }
                ApiError::check(p.error_code, None, || {
                    format!(
                        "cannot commit {}-{} for group '{}'",
                        t.name.0, p.partition_index, self.group
                    )
                })?;
            }
        }
        Ok(offsets.len())
    }

    /// Positions for newly assigned partitions: the committed offset, else the reset point.
    async fn fill_positions(&mut self, client: &LocalClient) -> Result<(), ApiError> {
        let missing: Vec<(String, i32)> = self.assigned().filter(|tp| !self.positions.contains_key(tp)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let committed = committed_offsets(client, &self.group).await?;
        for (t, p) in missing {
            let offset = match committed.get(&(t.clone(), p)) {
                Some(&o) if o >= 0 => o,
                _ => list_offset(client, &t, p, self.reset).await?,
            };
            self.positions.insert((t, p), offset);
        }
        Ok(())
    }
}

/// Every committed offset of `group`, by topic partition (OffsetFetch with all topics).
pub async fn committed_offsets(client: &LocalClient, group: &str) -> Result<HashMap<(String, i32), i64>, ApiError> {
    let request = OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_owned())))
        .with_topics(None)]);
    let response: OffsetFetchResponse = client
        .call(ApiKey::OffsetFetch, versions::OFFSET_FETCH, &request)
        .await?;
    let mut out = HashMap::new();
    for g in &response.groups {
        ApiError::check(g.error_code, None, || {
            format!("cannot read the offsets of group '{group}'")
        })?;
        for t in &g.topics {
            for p in &t.partitions {
                if p.error_code == 0 && p.committed_offset >= 0 {
                    out.insert((t.name.0.to_string(), p.partition_index), p.committed_offset);
                }
            }
        }
    }
    Ok(out)
}

/// `earliest`/`latest` as a ListOffsets timestamp.
pub fn reset_timestamp(reset: Option<&str>) -> Result<i64, ApiError> {
    match reset {
        None | Some("latest") => Ok(LATEST),
        Some("earliest") => Ok(EARLIEST),
        Some(other) => Err(ApiError::invalid(format!(
            "auto_offset_reset must be earliest or latest, not '{other}'"
        ))),
    }
}

/// One Fetch of every partition in `positions` from its position, waiting up to `wait_ms` for
/// a first byte: up to `max` records, positions moved past them. A position outside its log
/// (OFFSET_OUT_OF_RANGE) is reset to `reset` (EARLIEST or LATEST), as a Kafka consumer does.
pub async fn fetch_from(
    client: &LocalClient,
    positions: &mut BTreeMap<(String, i32), i64>,
    reset: i64,
    max: usize,
    wait_ms: u64,
    fetch_bytes: i32,
    format: Format,
) -> Result<Vec<RecordJson>, ApiError> {
    if positions.is_empty() {
        tokio::time::sleep(Duration::from_millis(wait_ms)).await;
        return Ok(Vec::new());
    }
    let request = fetch_request(
        positions.iter().map(|((t, p), o)| (t.as_str(), *p, *o)),
        wait_ms,
        fetch_bytes,
    );
    let response: FetchResponse = client.call(ApiKey::Fetch, versions::FETCH, &request).await?;
    ApiError::check(response.error_code, None, || "fetch failed".to_owned())?;
    let mut out = Vec::new();
    for t in &response.responses {
        let topic = t.topic.0.to_string();
        for p in &t.partitions {
            let key = (topic.clone(), p.partition_index);
            let Some(&from) = positions.get(&key) else { continue };
            match p.error_code {
                0 => {}
                codes::OFFSET_OUT_OF_RANGE => {
                    let to = list_offset(client, &topic, p.partition_index, reset).await?;
                    positions.insert(key, to);
                    continue;
                }
                code => return Err(ApiError::new(code, format!("fetching {topic}-{}", p.partition_index))),
            }
            if out.len() >= max {
                continue;
            }
            let records = p.records.clone().unwrap_or_default();
            let aborted = aborted_of(p);
            let (got, next) = decode_fetched(
                &topic,
                p.partition_index,
                records,
                &aborted,
                from,
                max - out.len(),
                format,
            )?;
            positions.insert(key, next);
            out.extend(got);
        }
    }
    Ok(out)
}
