//! `wharf group`: list, describe and delete consumer groups, and reset their offsets (in
//! `reset_offsets.rs`), like kafka-consumer-groups.sh, against any Kafka-compatible broker.
//!
//! List asks every broker in Metadata (each lists the groups it coordinates) and describes each
//! group for its member count. Describe joins three answers: DescribeGroups (state, members and
//! their assignments), OffsetFetch (committed offsets) and ListOffsets latest (log end offsets,
//! from each partition's leader); lag is log end offset minus committed offset. A partition
//! that is assigned but has no commit shows "-" as Kafka's tool does.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use clap::Subcommand;
use kafka_protocol::messages::describe_groups_response::DescribedGroup;
use kafka_protocol::messages::{
    ApiKey, DeleteGroupsRequest, DeleteGroupsResponse, DescribeGroupsRequest, DescribeGroupsResponse, GroupId,
    ListGroupsRequest, ListGroupsResponse,
};
use kafka_protocol::protocol::StrBytes;
use serde::Serialize;
use wharf_client::cluster::{broker_addr, LATEST_TIMESTAMP};
use wharf_client::groups::{committed_offsets, decode_assignment};
use wharf_client::{check_code, error_name, ClientError, Cluster, OurRange};

use crate::output::{or_dash, print, ClientArgs, Table, CLIENT_ID, REQUEST_TIMEOUT};
use crate::reset_offsets::{self, ResetArgs};

pub const LIST_GROUPS: OurRange = OurRange::new(ApiKey::ListGroups, 0, 5);
const DESCRIBE_GROUPS: OurRange = OurRange::new(ApiKey::DescribeGroups, 0, 5);
const DELETE_GROUPS: OurRange = OurRange::new(ApiKey::DeleteGroups, 0, 2);

/// Kafka's GROUP_ID_NOT_FOUND, for a group DescribeGroups reports as Dead.
const GROUP_ID_NOT_FOUND: i16 = 69;

#[derive(Subcommand, Debug)]
pub enum GroupCommand {
    /// List every group: id, state, protocol type and member count.
    List,
    /// State, members with their assignments, and per partition the committed offset, log end
    /// offset and lag.
    Describe { group: String },
    /// Delete groups and their committed offsets (only groups without active members).
    Delete {
        #[arg(required = true)]
        groups: Vec<String>,
    },
    /// Move a group's committed offsets; prints the plan, and commits it only with --execute.
    ResetOffsets(ResetArgs),
}

pub async fn run(client: &ClientArgs, command: GroupCommand) -> Result<()> {
    let mut cluster = Cluster::connect(&client.bootstrap_server, CLIENT_ID, Some(REQUEST_TIMEOUT)).await?;
    match command {
        GroupCommand::List => list(&mut cluster, client).await,
        GroupCommand::Describe { group } => describe(&mut cluster, client, &group).await,
        GroupCommand::Delete { groups } => delete(&mut cluster, client, &groups).await,
        GroupCommand::ResetOffsets(args) => reset_offsets::run(&mut cluster, client, &args).await,
    }
}

/// DescribeGroups for one group at its coordinator. A group the broker does not know fails
/// with GROUP_ID_NOT_FOUND whatever the version (before v6 it is reported as state Dead).
pub async fn describe_group(cluster: &mut Cluster, group: &str) -> Result<DescribedGroup, ClientError> {
    let conn = cluster.coordinator_connection(group).await?;
    let version = conn.version(DESCRIBE_GROUPS)?;
    let request = DescribeGroupsRequest::default().with_groups(vec![GroupId(StrBytes::from_string(group.to_owned()))]);
    let response: DescribeGroupsResponse = conn.call(ApiKey::DescribeGroups, version, &request).await?;
    let scope = || format!(" for group {group}");
    let found = response
        .groups
        .into_iter()
        .find(|g| g.group_id.0.as_str() == group)
        .ok_or_else(|| ClientError::broker(ApiKey::DescribeGroups, GROUP_ID_NOT_FOUND, scope()))?;
    check_code(ApiKey::DescribeGroups, found.error_code, scope)?;
    if found.group_state.as_str() == "Dead" {
        return Err(ClientError::broker(ApiKey::DescribeGroups, GROUP_ID_NOT_FOUND, scope()));
    }
    Ok(found)
}

#[derive(Serialize)]
struct ListedGroup {
    group: String,
    state: String,
    protocol_type: String,
    members: usize,
}

async fn list(cluster: &mut Cluster, client: &ClientArgs) -> Result<()> {
    let metadata = cluster.metadata(Some(&[])).await?;
    let mut groups = Vec::new();
    for broker in &metadata.brokers {
        let addr = broker_addr(broker.host.as_str(), broker.port);
        let conn = cluster.connection(&addr).await?;
        let version = conn.version(LIST_GROUPS)?;
        let response: ListGroupsResponse = conn
            .call(ApiKey::ListGroups, version, &ListGroupsRequest::default())
            .await?;
        check_code(ApiKey::ListGroups, response.error_code, || format!(" at {addr}"))?;
        if response.groups.is_empty() {
            continue;
        }
        // The broker that lists a group coordinates it: describe them all there at once.
        let version = conn.version(DESCRIBE_GROUPS)?;
        let ids = response.groups.iter().map(|g| g.group_id.clone()).collect();
        let described: DescribeGroupsResponse = conn
            .call(
                ApiKey::DescribeGroups,
                version,
                &DescribeGroupsRequest::default().with_groups(ids),
            )
            .await?;
        for listed in &response.groups {
            let d = described.groups.iter().find(|d| d.group_id == listed.group_id);
            groups.push(ListedGroup {
                group: listed.group_id.0.to_string(),
                state: match d {
                    Some(d) if d.error_code == 0 => d.group_state.to_string(),
                    _ => listed.group_state.to_string(),
                },
                protocol_type: listed.protocol_type.to_string(),
                members: d.map_or(0, |d| d.members.len()),
            });
        }
    }
    groups.sort_by(|a, b| a.group.cmp(&b.group));
    print(client.output, &groups, || {
        let mut t = Table::new(&["GROUP", "STATE", "PROTOCOL-TYPE", "MEMBERS"]);
        for g in &groups {
            t.row(vec![
                g.group.clone(),
                g.state.clone(),
                g.protocol_type.clone(),
                g.members.to_string(),
            ]);
        }
        t.render()
    })
}

#[derive(Serialize)]
struct Assigned {
    topic: String,
    partitions: Vec<i32>,
}

#[derive(Serialize)]
struct Member {
    member_id: String,
    group_instance_id: Option<String>,
    client_id: String,
    host: String,
    assignment: Vec<Assigned>,
}

#[derive(Serialize)]
struct PartitionLag {
    topic: String,
    partition: i32,
    committed_offset: Option<i64>,
    log_end_offset: Option<i64>,
    lag: Option<i64>,
    member_id: Option<String>,
}

#[derive(Serialize)]
struct GroupDescription {
    group: String,
    state: String,
    protocol_type: String,
    protocol: String,
    members: Vec<Member>,
    offsets: Vec<PartitionLag>,
}

async fn describe(cluster: &mut Cluster, client: &ClientArgs, group: &str) -> Result<()> {
    let described = describe_group(cluster, group).await?;
    let consumer = described.protocol_type.as_str() == "consumer";
    let mut members = Vec::with_capacity(described.members.len());
    // (topic, partition) -> (committed offset, member id)
    let mut rows: BTreeMap<(String, i32), (Option<i64>, Option<String>)> = BTreeMap::new();
    for m in &described.members {
        // Only the consumer protocol's assignment format is known; Connect and others are opaque.
        let assignment = if consumer {
            decode_assignment(&m.member_assignment)?
        } else {
            Vec::new()
        };
        for (topic, partitions) in &assignment {
            for &p in partitions {
                rows.entry((topic.clone(), p)).or_default().1 = Some(m.member_id.to_string());
            }
        }
        members.push(Member {
            member_id: m.member_id.to_string(),
            group_instance_id: m.group_instance_id.as_ref().map(|s| s.to_string()),
            client_id: m.client_id.to_string(),
            host: m.client_host.to_string(),
            assignment: assignment
                .into_iter()
                .map(|(topic, partitions)| Assigned { topic, partitions })
                .collect(),
        });
    }
    members.sort_by(|a, b| a.member_id.cmp(&b.member_id));
    for c in committed_offsets(cluster, group, None).await? {
        rows.entry((c.topic, c.partition)).or_default().0 = Some(c.offset);
    }
    let ends = log_end_offsets(cluster, rows.keys()).await?;
    let offsets = rows
        .into_iter()
        .map(|((topic, partition), (committed, member_id))| {
            let log_end_offset = ends.get(&(topic.clone(), partition)).copied();
            PartitionLag {
                lag: committed.zip(log_end_offset).map(|(c, e)| (e - c).max(0)),
                topic,
                partition,
                committed_offset: committed,
                log_end_offset,
                member_id,
            }
        })
        .collect();
    let report = GroupDescription {
        group: group.to_owned(),
        state: described.group_state.to_string(),
        protocol_type: described.protocol_type.to_string(),
        protocol: described.protocol_data.to_string(),
        members,
        offsets,
    };
    print(client.output, &report, || describe_text(&report))
}

fn describe_text(r: &GroupDescription) -> String {
    let mut out = format!(
        "Group: {}  State: {}  Protocol: {}  Members: {}\n\n",
        r.group,
        r.state,
        match (r.protocol_type.as_str(), r.protocol.as_str()) {
            ("", _) => "-".to_owned(),
            (t, "") => t.to_owned(),
            (t, p) => format!("{t}/{p}"),
        },
        r.members.len()
    );
    let by_id = |id: &Option<String>| r.members.iter().find(|m| Some(&m.member_id) == id.as_ref());
    let mut t = Table::new(&[
        "GROUP",
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
    ]);
    for o in &r.offsets {
        let member = by_id(&o.member_id);
        t.row(vec![
            r.group.clone(),
            o.topic.clone(),
            o.partition.to_string(),
            or_dash(o.committed_offset),
            or_dash(o.log_end_offset),
            or_dash(o.lag),
            or_dash(o.member_id.as_ref()),
            or_dash(member.map(|m| &m.host)),
            or_dash(member.map(|m| &m.client_id)),
        ]);
    }
    out.push_str(&t.render());
    let idle: Vec<&Member> = r.members.iter().filter(|m| m.assignment.is_empty()).collect();
    if !idle.is_empty() {
        out.push_str("\nMembers without partitions:\n");
        let mut t = Table::new(&["CONSUMER-ID", "HOST", "CLIENT-ID"]);
        for m in idle {
            t.row(vec![m.member_id.clone(), m.host.clone(), m.client_id.clone()]);
        }
        out.push_str(&t.render());
    }
    out
}

/// The log end offset of each (topic, partition) given, from its leader. A topic that no
/// longer exists is left out (its rows show "-"), as is a partition it no longer has.
async fn log_end_offsets<'a>(
    cluster: &mut Cluster,
    partitions: impl Iterator<Item = &'a (String, i32)>,
) -> Result<BTreeMap<(String, i32), i64>> {
    let mut topics: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (t, p) in partitions {
        topics.entry(t.as_str()).or_default().push(*p);
    }
    let mut ends = BTreeMap::new();
    for (topic, wanted) in topics {
        let leaders = match cluster.partition_leaders(topic).await {
            Ok(leaders) => leaders,
            Err(ClientError::Broker { code: 3, .. }) => continue, // UNKNOWN_TOPIC_OR_PARTITION
            Err(e) => return Err(e.into()),
        };
        let leaders: Vec<_> = leaders.into_iter().filter(|l| wanted.contains(&l.partition)).collect();
        let offsets = cluster.list_offsets(topic, &leaders, LATEST_TIMESTAMP).await?;
        for (l, o) in leaders.iter().zip(offsets) {
            ends.insert((topic.to_owned(), l.partition), o);
        }
    }
    Ok(ends)
}

#[derive(Serialize)]
struct Deleted {
    group: String,
    /// Kafka's error name, or null when the group was deleted.
    error: Option<String>,
}

async fn delete(cluster: &mut Cluster, client: &ClientArgs, groups: &[String]) -> Result<()> {
    let mut results = Vec::with_capacity(groups.len());
    let mut first_error = None;
    for group in groups {
        let conn = cluster.coordinator_connection(group).await?;
        let version = conn.version(DELETE_GROUPS)?;
        let request =
            DeleteGroupsRequest::default().with_groups_names(vec![GroupId(StrBytes::from_string(group.clone()))]);
        let response: DeleteGroupsResponse = conn.call(ApiKey::DeleteGroups, version, &request).await?;
        let code = response
            .results
            .iter()
            .find(|r| r.group_id.0.as_str() == group)
            .map_or(GROUP_ID_NOT_FOUND, |r| r.error_code);
        if code != 0 && first_error.is_none() {
            first_error = Some(ClientError::broker(
                ApiKey::DeleteGroups,
                code,
                format!(" for group {group}"),
            ));
        }
        results.push(Deleted {
            group: group.clone(),
            error: (code != 0).then(|| error_name(code)),
        });
    }
    print(client.output, &results, || {
        let mut t = Table::new(&["GROUP", "RESULT"]);
        for r in &results {
            t.row(vec![
                r.group.clone(),
                r.error.clone().unwrap_or_else(|| "deleted".to_owned()),
            ]);
        }
        t.render()
    })?;
    match first_error {
        Some(e) => bail!(e),
        None => Ok(()),
    }
}
