//! A client's view of a cluster: one bootstrap address, connections opened on demand to the
//! brokers Metadata names, and the lookups every tool needs — metadata, partition leaders, a
//! group's coordinator, offsets by timestamp.
//!
//! Requests that concern a partition (ListOffsets) go to its leader; group requests go to the
//! group's coordinator (FindCoordinator). Connections are kept by address and reused. Nothing
//! here retries except the two waits Kafka documents as transient: a coordinator that is still
//! loading (COORDINATOR_NOT_AVAILABLE) and a leader not yet elected (LEADER_NOT_AVAILABLE), each
//! for at most [`TRANSIENT_WAIT`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, BrokerId, FindCoordinatorResponse, ListOffsetsRequest, ListOffsetsResponse, MetadataRequest,
    MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::conn::Connection;
use crate::error::ClientError;
use crate::limits::PARTITIONS_MAX;
use crate::versions::{FIND_COORDINATOR, LIST_OFFSETS, METADATA};

/// How long a transient condition (coordinator loading, leader election) is waited out.
pub const TRANSIENT_WAIT: Duration = Duration::from_secs(10);
/// Pause between retries of a transient condition.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// ListOffsets timestamp meaning "the log end offset" (high watermark).
pub const LATEST_TIMESTAMP: i64 = -1;
/// ListOffsets timestamp meaning "the log start offset".
pub const EARLIEST_TIMESTAMP: i64 = -2;

const LEADER_NOT_AVAILABLE: i16 = 5;
const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
const COORDINATOR_NOT_AVAILABLE: i16 = 15;

/// Connections to a cluster, opened lazily by address.
pub struct Cluster {
    bootstrap: String,
    client_id: String,
    conns: HashMap<String, Connection>,
    /// Bound on connecting and on each response (see [`Connection::set_call_timeout`]).
    timeout: Option<Duration>,
}

/// One partition of a topic and the address of its leader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLeader {
    pub partition: i32,
    pub leader_addr: String,
}

impl Cluster {
    /// Connects to `bootstrap` at once, so an unreachable broker fails before anything else.
    /// `timeout` bounds each connect and each response wait (`None`: no bound).
    pub async fn connect(bootstrap: &str, client_id: &str, timeout: Option<Duration>) -> Result<Self, ClientError> {
        let mut cluster = Cluster {
            bootstrap: bootstrap.to_owned(),
            client_id: client_id.to_owned(),
            conns: HashMap::new(),
            timeout,
        };
        cluster.connection(bootstrap).await?;
        Ok(cluster)
    }

    /// The connection to `addr`, opened now if there is none.
    pub async fn connection(&mut self, addr: &str) -> Result<&mut Connection, ClientError> {
        if !self.conns.contains_key(addr) {
            let connecting = Connection::connect(addr, &self.client_id);
            let mut conn = match self.timeout {
                None => connecting.await?,
                Some(limit) => {
                    tokio::time::timeout(limit, connecting)
                        .await
                        .map_err(|_| ClientError::ConnectTimeout {
                            addr: addr.to_owned(),
                            waited_ms: limit.as_millis() as u64,
                        })??
                }
            };
            conn.set_call_timeout(self.timeout);
            self.conns.insert(addr.to_owned(), conn);
        }
        self.conns
            .get_mut(addr)
            .ok_or_else(|| ClientError::ConnectionClosed { addr: addr.to_owned() })
    }

    /// The connection to the bootstrap broker, for cluster-wide requests (Metadata,
    /// CreateTopics, DescribeConfigs of topics).
    pub async fn bootstrap(&mut self) -> Result<&mut Connection, ClientError> {
        let addr = self.bootstrap.clone();
        self.connection(&addr).await
    }

    /// Metadata for `topics` (every topic when `None`), never auto-creating one.
    pub async fn metadata(&mut self, topics: Option<&[&str]>) -> Result<MetadataResponse, ClientError> {
        let conn = self.bootstrap().await?;
        let version = conn.version(METADATA)?;
        conn.call(ApiKey::Metadata, version, &metadata_request(version, topics))
            .await
    }

    /// Every partition of `topic` with its leader's address, sorted by partition. A topic error
    /// (UNKNOWN_TOPIC_OR_PARTITION, ...) fails naming it; a leader still being elected is
    /// waited for.
    pub async fn partition_leaders(&mut self, topic: &str) -> Result<Vec<PartitionLeader>, ClientError> {
        let started = Instant::now();
        loop {
            let response = self.metadata(Some(&[topic])).await?;
            match leaders_of(&response, topic) {
                Err(ClientError::Broker {
                    code: LEADER_NOT_AVAILABLE,
                    ..
                }) if started.elapsed() < TRANSIENT_WAIT => tokio::time::sleep(RETRY_PAUSE).await,
                other => return other,
            }
        }
    }

    /// The address of `group`'s coordinator, waiting out a coordinator that is still loading.
    pub async fn coordinator(&mut self, group: &str) -> Result<String, ClientError> {
        let started = Instant::now();
        loop {
            let conn = self.bootstrap().await?;
            let version = conn.version(FIND_COORDINATOR)?;
            let request = FindCoordinatorRequest::default().with_key(StrBytes::from_string(group.to_owned()));
            let response: FindCoordinatorResponse = conn.call(ApiKey::FindCoordinator, version, &request).await?;
            match response.error_code {
                0 => return Ok(broker_addr(response.host.as_str(), response.port)),
                COORDINATOR_NOT_AVAILABLE | COORDINATOR_LOAD_IN_PROGRESS if started.elapsed() < TRANSIENT_WAIT => {
                    tokio::time::sleep(RETRY_PAUSE).await
                }
                code => {
                    return Err(ClientError::broker(
                        ApiKey::FindCoordinator,
                        code,
                        format!(" for group {group}"),
                    ))
                }
            }
        }
    }

    /// The connection to `group`'s coordinator.
    pub async fn coordinator_connection(&mut self, group: &str) -> Result<&mut Connection, ClientError> {
        let addr = self.coordinator(group).await?;
        self.connection(&addr).await
    }

    /// For each of `leaders`, the offset ListOffsets answers for `timestamp` (a time in ms, or
    /// [`LATEST_TIMESTAMP`] / [`EARLIEST_TIMESTAMP`]); -1 when no record has a timestamp at or
    /// after it. Each request goes to the partition's leader. Returned in the order given.
    pub async fn list_offsets(
        &mut self,
        topic: &str,
        leaders: &[PartitionLeader],
        timestamp: i64,
    ) -> Result<Vec<i64>, ClientError> {
        let mut offsets = vec![None; leaders.len()];
        let mut addrs: Vec<&str> = leaders.iter().map(|l| l.leader_addr.as_str()).collect();
        addrs.sort_unstable();
        addrs.dedup();
        for addr in addrs {
            let mine: Vec<i32> = leaders
                .iter()
                .filter(|l| l.leader_addr == addr)
                .map(|l| l.partition)
                .collect();
            let conn = self.connection(addr).await?;
            let version = conn.version(LIST_OFFSETS)?;
            let request = ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(vec![ListOffsetsTopic::default()
                    .with_name(topic_name(topic))
                    .with_partitions(
                        mine.iter()
                            .map(|&p| {
                                ListOffsetsPartition::default()
                                    .with_partition_index(p)
                                    .with_timestamp(timestamp)
                            })
                            .collect(),
                    )]);
            let response: ListOffsetsResponse = conn.call(ApiKey::ListOffsets, version, &request).await?;
            for p in response.topics.iter().flat_map(|t| t.partitions.iter()) {
                if p.error_code != 0 {
                    return Err(ClientError::broker(
                        ApiKey::ListOffsets,
                        p.error_code,
                        format!(" on {topic}-{}", p.partition_index),
                    ));
                }
                if let Some(i) = leaders.iter().position(|l| l.partition == p.partition_index) {
                    offsets[i] = Some(p.offset);
                }
            }
        }
        leaders
            .iter()
            .zip(offsets)
            .map(|(l, o)| {
                o.ok_or_else(|| ClientError::Decode {
                    api: ApiKey::ListOffsets,
                    version: 0,
                    message: format!("response lacks {topic}-{}", l.partition),
                })
            })
            .collect()
    }
}

/// Metadata for `topics` (all when `None`) that never auto-creates a topic.
fn metadata_request(version: i16, topics: Option<&[&str]>) -> MetadataRequest {
    let topics = topics.map(|names| {
        names
            .iter()
            .map(|&n| MetadataRequestTopic::default().with_name(Some(topic_name(n))))
            .collect()
    });
    // The field exists from v4 (before it the broker decides); sending its non-default value to
    // an older version cannot be encoded.
    MetadataRequest::default()
        .with_topics(topics)
        .with_allow_auto_topic_creation(version < 4)
}

/// The partition leaders of `topic` in a metadata response.
pub fn leaders_of(response: &MetadataResponse, topic: &str) -> Result<Vec<PartitionLeader>, ClientError> {
    let scope = || format!(" on topic {topic}");
    let found = response
        .topics
        .iter()
        .find(|t| t.name.as_ref().map(|n| n.0.as_str()) == Some(topic))
        .ok_or_else(|| ClientError::broker(ApiKey::Metadata, 3, scope()))?;
    if found.error_code != 0 {
        return Err(ClientError::broker(ApiKey::Metadata, found.error_code, scope()));
    }
    if found.partitions.len() > PARTITIONS_MAX {
        return Err(ClientError::TooMany {
            what: "topic metadata",
            count: found.partitions.len(),
            max: PARTITIONS_MAX,
        });
    }
    let mut leaders = Vec::with_capacity(found.partitions.len());
    for p in &found.partitions {
        let partition = p.partition_index;
        if p.error_code != 0 || p.leader_id.0 < 0 {
            let code = if p.error_code != 0 {
                p.error_code
            } else {
                LEADER_NOT_AVAILABLE
            };
            return Err(ClientError::broker(
                ApiKey::Metadata,
                code,
                format!(" on {topic}-{partition}"),
            ));
        }
        let broker = response
            .brokers
            .iter()
            .find(|b| b.node_id == p.leader_id)
            .ok_or(ClientError::UnknownBroker {
                broker_id: p.leader_id.0,
            })?;
        leaders.push(PartitionLeader {
            partition,
            leader_addr: broker_addr(broker.host.as_str(), broker.port),
        });
    }
    if leaders.is_empty() {
        return Err(ClientError::broker(ApiKey::Metadata, LEADER_NOT_AVAILABLE, scope()));
    }
    leaders.sort_by_key(|l| l.partition);
    Ok(leaders)
}

/// A topic name for a request.
pub fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_owned()))
}

/// `host:port`, bracketing IPv6 literals so the result parses as a socket address.
pub fn broker_addr(host: &str, port: i32) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::metadata_response::{
        MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
    };

    #[tokio::test]
    async fn connect_to_a_silent_broker_times_out() {
        // Accepts the connection but never answers ApiVersions.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let keep = tokio::spawn(async move { listener.accept().await });
        let result = Cluster::connect(&addr, "t", Some(Duration::from_millis(50))).await;
        assert!(
            matches!(result, Err(ClientError::ConnectTimeout { waited_ms: 50, .. })),
            "{:?}",
            result.err()
        );
        keep.abort();
    }

    #[test]
    fn metadata_request_encodes_at_every_version_we_speak() {
        use bytes::BytesMut;
        use kafka_protocol::protocol::Encodable;
        let mut buf = BytesMut::new();
        for v in METADATA.min..=METADATA.max {
            for topics in [None, Some(&["t"][..]), Some(&[][..])] {
                metadata_request(v, topics).encode(&mut buf, v).expect("Metadata");
            }
        }
    }

    #[test]
    fn broker_addr_brackets_ipv6() {
        assert_eq!(broker_addr("127.0.0.1", 9092), "127.0.0.1:9092");
        assert_eq!(broker_addr("::1", 9092), "[::1]:9092");
    }

    fn response(leader: i32) -> MetadataResponse {
        MetadataResponse::default()
            .with_brokers(vec![MetadataResponseBroker::default()
                .with_node_id(BrokerId(1))
                .with_host(StrBytes::from_static_str("h"))
                .with_port(9)])
            .with_topics(vec![MetadataResponseTopic::default()
                .with_name(Some(topic_name("t")))
                .with_partitions(vec![
                    MetadataResponsePartition::default()
                        .with_partition_index(1)
                        .with_leader_id(BrokerId(leader)),
                    MetadataResponsePartition::default()
                        .with_partition_index(0)
                        .with_leader_id(BrokerId(1)),
                ])])
    }

    #[test]
    fn leaders_of_partition_count_bound() {
        let with = |count: usize| {
            let mut r = response(1);
            r.topics[0].partitions = (0..count as i32)
                .map(|p| {
                    MetadataResponsePartition::default()
                        .with_partition_index(p)
                        .with_leader_id(BrokerId(1))
                })
                .collect();
            r
        };
        assert_eq!(
            leaders_of(&with(PARTITIONS_MAX), "t").expect("at the bound").len(),
            PARTITIONS_MAX
        );
        assert!(matches!(
            leaders_of(&with(PARTITIONS_MAX + 1), "t"),
            Err(ClientError::TooMany { count, .. }) if count == PARTITIONS_MAX + 1
        ));
    }

    #[test]
    fn leaders_of_sorts_by_partition_and_resolves_addresses() {
        let leaders = leaders_of(&response(1), "t").expect("ready");
        let parts: Vec<_> = leaders.iter().map(|l| (l.partition, l.leader_addr.as_str())).collect();
        assert_eq!(parts, vec![(0, "h:9"), (1, "h:9")]);
    }

    #[test]
    fn leaders_of_missing_topic_or_leader_names_the_code() {
        assert_eq!(leaders_of(&response(1), "other").err().and_then(|e| e.code()), Some(3));
        assert_eq!(leaders_of(&response(-1), "t").err().and_then(|e| e.code()), Some(5));
        assert!(matches!(
            leaders_of(&response(7), "t"),
            Err(ClientError::UnknownBroker { broker_id: 7 })
        ));
    }
}
