//! Finding the topic's partition leaders, creating the topic first when asked to.
//!
//! Metadata may briefly report a new topic as unknown or leaderless while the controller
//! propagates it, so lookups retry on UNKNOWN_TOPIC_OR_PARTITION (after our own create) and
//! LEADER_NOT_AVAILABLE until [`METADATA_WAIT`] runs out. Any other error code fails the run
//! with that code named. The bench never relies on auto-creation: it asks Metadata not to.

use std::time::{Duration, Instant};

use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::{ApiKey, CreateTopicsRequest, CreateTopicsResponse};
use wharf_client::cluster::{leaders_of, topic_name};
use wharf_client::{versions, ClientError, Cluster, PartitionLeader};

use crate::error::BenchError;
use crate::limits::PARTITIONS_MAX;

/// How long to wait for a topic to appear with a leader for every partition.
pub const METADATA_WAIT: Duration = Duration::from_secs(15);

/// Pause between metadata polls while waiting.
const METADATA_RETRY: Duration = Duration::from_millis(100);

const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const LEADER_NOT_AVAILABLE: i16 = 5;
const TOPIC_ALREADY_EXISTS: i16 = 36;

/// Returns every partition of `topic` with its leader, sorted by partition. With
/// `create_partitions`, a missing topic is created with that many partitions.
pub async fn partition_leaders(
    cluster: &mut Cluster,
    topic: &str,
    create_partitions: Option<i32>,
) -> Result<Vec<PartitionLeader>, BenchError> {
    let started = Instant::now();
    let mut created = false;
    loop {
        let response = cluster.metadata(Some(&[topic])).await?;
        let pending_partition = match leaders_of(&response, topic) {
            Ok(leaders) if leaders.len() > PARTITIONS_MAX as usize => {
                return Err(BenchError::InvalidArgs(format!(
                    "topic {topic} has {} partitions, more than the bench tracks ({PARTITIONS_MAX})",
                    leaders.len()
                )))
            }
            Ok(leaders) => return Ok(leaders),
            Err(ClientError::Broker {
                code: UNKNOWN_TOPIC_OR_PARTITION,
                ..
            }) => match create_partitions {
                Some(partitions) if !created => {
                    create_topic(cluster, topic, partitions).await?;
                    created = true;
                    continue;
                }
                Some(_) => -1,
                None => {
                    return Err(BenchError::broker(
                        ApiKey::Metadata,
                        UNKNOWN_TOPIC_OR_PARTITION,
                        format!(" on topic {topic}"),
                    ))
                }
            },
            Err(ClientError::Broker {
                code: LEADER_NOT_AVAILABLE,
                scope,
                ..
            }) => scope.rsplit_once('-').and_then(|(_, p)| p.parse().ok()).unwrap_or(-1),
            Err(other) => return Err(other.into()),
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

async fn create_topic(cluster: &mut Cluster, topic: &str, partitions: i32) -> Result<(), BenchError> {
    let conn = cluster.bootstrap().await?;
    let version = conn.version(versions::CREATE_TOPICS)?;
    // v4+ accepts -1 for "the broker's default replication factor" (KIP-464); older versions
    // need an explicit factor, and 1 works on any cluster.
    let replication_factor = if version >= 4 { -1 } else { 1 };
    let request = CreateTopicsRequest::default()
        .with_topics(vec![CreatableTopic::default()
            .with_name(topic_name(topic))
            .with_num_partitions(partitions)
            .with_replication_factor(replication_factor)])
        .with_timeout_ms(METADATA_WAIT.as_millis() as i32);
    let response: CreateTopicsResponse = conn.call(ApiKey::CreateTopics, version, &request).await?;
    for result in &response.topics {
        // Another bench process may have created it between our lookup and this request.
        if result.error_code != 0 && result.error_code != TOPIC_ALREADY_EXISTS {
            return Err(BenchError::broker(
                ApiKey::CreateTopics,
                result.error_code,
                format!(" on topic {topic}"),
            ));
        }
    }
    tracing::info!(topic, partitions, "created topic");
    Ok(())
}
