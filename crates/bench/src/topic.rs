//! Finding the topic's partition leaders, creating the topic first when asked to.
//!
//! Metadata may briefly report a new topic as unknown or leaderless while the controller
//! propagates it, so lookups retry on UNKNOWN_TOPIC_OR_PARTITION (after our own create) and
//! LEADER_NOT_AVAILABLE until [`METADATA_WAIT`] runs out. Any other error code fails the run
//! with that code named. The bench never relies on auto-creation: it asks Metadata not to.

use std::time::{Duration, Instant};

use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, CreateTopicsRequest, CreateTopicsResponse, MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::conn::Connection;
use crate::error::BenchError;
use crate::limits::PARTITIONS_MAX;

/// How long to wait for a topic to appear with a leader for every partition.
pub const METADATA_WAIT: Duration = Duration::from_secs(15);

/// Pause between metadata polls while waiting.
const METADATA_RETRY: Duration = Duration::from_millis(100);

const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const LEADER_NOT_AVAILABLE: i16 = 5;
const TOPIC_ALREADY_EXISTS: i16 = 36;

/// One partition and the address of its leader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLeader {
    pub partition: i32,
    pub leader_addr: String,
}

/// What one metadata response says about the topic.
enum Lookup {
    Ready(Vec<PartitionLeader>),
    Missing,
    NotReady { partition: i32 },
}

/// Returns every partition of `topic` with its leader, sorted by partition. With
/// `create_partitions`, a missing topic is created with that many partitions.
pub async fn partition_leaders(
    conn: &mut Connection,
    topic: &str,
    create_partitions: Option<i32>,
) -> Result<Vec<PartitionLeader>, BenchError> {
    let started = Instant::now();
    let mut created = false;
    loop {
        let pending_partition = match lookup(conn, topic).await? {
            Lookup::Ready(leaders) => return Ok(leaders),
            Lookup::Missing => match create_partitions {
                Some(partitions) if !created => {
                    create_topic(conn, topic, partitions).await?;
                    created = true;
                    continue;
                }
                Some(_) => -1,
                None => {
                    return Err(BenchError::broker(
                        "Metadata",
                        UNKNOWN_TOPIC_OR_PARTITION,
                        format!(" on topic {topic}"),
                    ))
                }
            },
            Lookup::NotReady { partition } => partition,
        };
        let waited = started.elapsed();
        if waited >= METADATA_WAIT {
            return Err(BenchError::LeaderUnavailable {
                topic: topic.to_owned(),
                partition: pending_partition,
                waited_ms: waited.as_millis() as u64,
            });
        }
        tokio::time::sleep(METADATA_RETRY).await;
    }
}

async fn lookup(conn: &mut Connection, topic: &str) -> Result<Lookup, BenchError> {
    let version = conn.versions.metadata;
    let request = MetadataRequest::default()
        .with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(TopicName(StrBytes::from_string(topic.to_owned()))))
        ]))
        .with_allow_auto_topic_creation(false);
    let response: MetadataResponse = conn.call(ApiKey::Metadata, version, &request).await?;
    let Some(found) = response
        .topics
        .iter()
        .find(|t| t.name.as_ref().map(|n| n.0.as_str()) == Some(topic))
    else {
        return Ok(Lookup::Missing);
    };
    match found.error_code {
        0 => {}
        UNKNOWN_TOPIC_OR_PARTITION => return Ok(Lookup::Missing),
        LEADER_NOT_AVAILABLE => return Ok(Lookup::NotReady { partition: -1 }),
        code => return Err(BenchError::broker("Metadata", code, format!(" on topic {topic}"))),
    }
    if found.partitions.len() > PARTITIONS_MAX as usize {
        return Err(BenchError::InvalidArgs(format!(
            "topic {topic} has {} partitions, more than the bench tracks ({PARTITIONS_MAX})",
            found.partitions.len()
        )));
    }
    let mut leaders = Vec::with_capacity(found.partitions.len());
    for p in &found.partitions {
        let partition = p.partition_index;
        match p.error_code {
            0 if p.leader_id.0 >= 0 => {}
            0 | LEADER_NOT_AVAILABLE => return Ok(Lookup::NotReady { partition }),
            code => return Err(BenchError::broker("Metadata", code, format!(" on {topic}-{partition}"))),
        }
        let broker = response
            .brokers
            .iter()
            .find(|b| b.node_id == p.leader_id)
            .ok_or_else(|| BenchError::UnknownLeader {
                topic: topic.to_owned(),
                partition,
                broker_id: p.leader_id.0,
            })?;
        leaders.push(PartitionLeader {
            partition,
            leader_addr: broker_addr(broker.host.as_str(), broker.port),
        });
    }
    if leaders.is_empty() {
        return Ok(Lookup::NotReady { partition: -1 });
    }
    leaders.sort_by_key(|l| l.partition);
    Ok(Lookup::Ready(leaders))
}

async fn create_topic(conn: &mut Connection, topic: &str, partitions: i32) -> Result<(), BenchError> {
    let version = conn
        .versions
        .create_topics
        .ok_or_else(|| BenchError::UnsupportedVersion {
            api: "CreateTopics",
            ours_min: crate::versions::CREATE_TOPICS.min,
            ours_max: crate::versions::CREATE_TOPICS.max,
            broker: "none".to_owned(),
        })?;
    // v4+ accepts -1 for "the broker's default replication factor" (KIP-464); older versions
    // need an explicit factor, and 1 works on any cluster.
    let replication_factor = if version >= 4 { -1 } else { 1 };
    let request = CreateTopicsRequest::default()
        .with_topics(vec![CreatableTopic::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_owned())))
            .with_num_partitions(partitions)
            .with_replication_factor(replication_factor)])
        .with_timeout_ms(METADATA_WAIT.as_millis() as i32);
    let response: CreateTopicsResponse = conn.call(ApiKey::CreateTopics, version, &request).await?;
    for result in &response.topics {
        // Another bench process may have created it between our lookup and this request.
        if result.error_code != 0 && result.error_code != TOPIC_ALREADY_EXISTS {
            return Err(BenchError::broker(
                "CreateTopics",
                result.error_code,
                format!(" on topic {topic}"),
            ));
        }
    }
    tracing::info!(topic, partitions, "created topic");
    Ok(())
}

/// `host:port`, bracketing IPv6 literals so the result parses as a socket address.
fn broker_addr(host: &str, port: i32) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_addr_brackets_ipv6() {
        assert_eq!(broker_addr("127.0.0.1", 9092), "127.0.0.1:9092");
        assert_eq!(broker_addr("::1", 9092), "[::1]:9092");
    }
}
