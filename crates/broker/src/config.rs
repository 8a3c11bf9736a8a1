//! Broker-wide settings and the limits that bound every resource the network can make us spend.
//!
//! Every limit has a name, a default chosen for a single broker on a small machine, and a
//! documented behaviour at the bound (see docs/LIMITS.md). Values are validated once, at start-up,
//! by [`BrokerConfig::validate`]; the rest of the broker trusts them.

use std::net::SocketAddr;
use std::path::PathBuf;

use std::sync::Arc;
use wharf_coordinator::{GroupLimits, TxnLimits};
use wharf_log::{CleanerConfig, LogConfig, OsStorage, Storage, MIN_DEDUPE_BUFFER_BYTES};

/// Settings of one broker process. Built by the binary from flags, env and the TOML file.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Kafka node.id reported in Metadata and DescribeCluster.
    pub node_id: i32,
    /// Address the Kafka listener binds; port 0 picks a free port.
    pub listen: SocketAddr,
    /// host:port returned to clients in Metadata; `None` means the bound address.
    pub advertised_listener: Option<(String, u16)>,
    /// Directory holding every topic's partitions and metadata.
    pub data_dir: PathBuf,
    /// Cluster id reported in Metadata v2+ and DescribeCluster.
    pub cluster_id: String,
    /// auto.create.topics.enable: Metadata for an unknown topic creates it.
    pub auto_create_topics: bool,
    /// num.partitions for auto-created topics and CreateTopics with num_partitions = -1.
    pub default_num_partitions: i32,
    /// Topic config defaults (log.segment.bytes, log.retention.ms, message.max.bytes, ...).
    pub log_defaults: LogConfig,
    /// How often data written with acks=0/1 is fsynced (log.flush.interval.ms). acks=all is
    /// always fsynced before the answer, whatever this is.
    pub flush_interval_ms: u64,
    /// How often retention and time-based segment rolls are checked (log.retention.check.interval.ms).
    pub retention_check_interval_ms: u64,
    /// log.cleaner.backoff.ms: how long the log cleaner sleeps when no log needs compaction.
    pub log_cleaner_backoff_ms: u64,
    /// log.cleaner.dedupe.buffer.size and the other cleaner bounds.
    pub cleaner: CleanerConfig,
    /// The filesystem under the topic partition logs: the real one, or a fault-injecting one in
    /// tests (`wharf_log::testing::FaultyStorage`).
    pub log_storage: Arc<dyn Storage>,
    pub limits: Limits,
    /// Bounds of the group coordinator (members, groups, offsets, session timeouts).
    pub group_limits: GroupLimits,
    /// Bounds of the transaction coordinator (transaction.max.timeout.ms, ids, partitions).
    pub txn_limits: TxnLimits,
}

/// Bounds on what one client, or all of them, can make the broker hold in memory.
#[derive(Debug, Clone)]
pub struct Limits {
    /// socket.request.max.bytes: the largest request frame accepted. Checked against the length
    /// prefix before any allocation; a larger prefix closes the connection.
    pub max_frame_bytes: u32,
    /// Requests read from one connection but not yet answered. At the bound the broker stops
    /// reading that socket (TCP back-pressure) until the oldest answer is written.
    pub max_in_flight_per_connection: usize,
    /// max.connections: past it, a new connection is closed at once with a log line.
    pub max_connections: usize,
    /// max.connections.per.ip: connections from one client address at once; past it, a new
    /// connection from that address is closed at once with a log line (others are unaffected).
    pub max_connections_per_ip: usize,
    /// Fetch requests parked in long poll at once; past it, a fetch is answered immediately
    /// with whatever data it has (possibly none), as if max_wait_ms had elapsed.
    pub max_delayed_fetches: usize,
    /// fetch.max.bytes: the most record bytes one Fetch response carries, whatever it asks.
    pub max_fetch_response_bytes: i32,
    /// Partitions named in one Produce, Fetch or ListOffsets request; more is answered
    /// with a closed connection since such a request cannot come from a real client.
    pub max_partitions_per_request: usize,
    /// Topics the broker will hold; CreateTopics past it fails with POLICY_VIOLATION.
    pub max_topics: usize,
    /// Partitions in one topic (CreateTopics / CreatePartitions past it: INVALID_PARTITIONS).
    pub max_partitions_per_topic: i32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 100 * 1024 * 1024,
            max_in_flight_per_connection: 128,
            max_connections: 10_000,
            max_connections_per_ip: 10_000,
            max_delayed_fetches: 10_000,
            max_fetch_response_bytes: 55 * 1024 * 1024,
            max_partitions_per_request: 100_000,
            max_topics: 10_000,
            max_partitions_per_topic: 10_000,
        }
    }
}

/// Upper bounds on the limits themselves, so a typo cannot make the broker promise memory it
/// does not have.
pub const MAX_FRAME_BYTES_CEILING: u32 = 1024 * 1024 * 1024;
pub const MAX_IN_FLIGHT_CEILING: usize = 10_000;
pub const MAX_PARTITIONS_PER_TOPIC_CEILING: i32 = 100_000;

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            node_id: 1,
            listen: SocketAddr::from(([127, 0, 0, 1], 9092)),
            advertised_listener: None,
            data_dir: PathBuf::from("./wharf-data"),
            cluster_id: "wharf-cluster".to_string(),
            auto_create_topics: true,
            default_num_partitions: 1,
            log_defaults: LogConfig::default(),
            flush_interval_ms: 1000,
            retention_check_interval_ms: 30_000,
            log_cleaner_backoff_ms: 15_000,
            cleaner: CleanerConfig::default(),
            log_storage: Arc::new(OsStorage),
            limits: Limits::default(),
            group_limits: GroupLimits::default(),
            txn_limits: TxnLimits::default(),
        }
    }
}

/// A setting outside its valid range, named as the user wrote it.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {name}: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub reason: String,
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        name,
        reason: reason.into(),
    }
}

impl BrokerConfig {
    /// Checks every setting and the relations between them; the first violation is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.node_id < 0 {
            return Err(invalid("node-id", "must be >= 0"));
        }
        if let Some((host, port)) = &self.advertised_listener {
            if host.is_empty() || host.contains(char::is_whitespace) {
                return Err(invalid("advertised-listener", format!("bad host {host:?}")));
            }
            if *port == 0 {
                return Err(invalid("advertised-listener", "port must not be 0"));
            }
        }
        if self.data_dir.as_os_str().is_empty() {
            return Err(invalid("data-dir", "must not be empty"));
        }
        if self.cluster_id.is_empty() {
            return Err(invalid("cluster-id", "must not be empty"));
        }
        if !(1..=self.limits.max_partitions_per_topic).contains(&self.default_num_partitions) {
            return Err(invalid(
                "num-partitions",
                format!("must be 1..={}", self.limits.max_partitions_per_topic),
            ));
        }
        self.log_defaults
            .validate()
            .map_err(|e| invalid("log", e.to_string()))?;
        if self.flush_interval_ms == 0 {
            return Err(invalid("flush-interval-ms", "must be > 0"));
        }
        if self.retention_check_interval_ms == 0 {
            return Err(invalid("retention-check-interval-ms", "must be > 0"));
        }
        if self.log_cleaner_backoff_ms == 0 {
            return Err(invalid("log-cleaner-backoff-ms", "must be > 0"));
        }
        if self.cleaner.dedupe_buffer_bytes < MIN_DEDUPE_BUFFER_BYTES {
            return Err(invalid("log-cleaner-dedupe-buffer-bytes", "must be at least 1024"));
        }
        let l = &self.limits;
        if l.max_frame_bytes < 1024 || l.max_frame_bytes > MAX_FRAME_BYTES_CEILING {
            return Err(invalid(
                "max-frame-bytes",
                format!("must be 1024..={MAX_FRAME_BYTES_CEILING}"),
            ));
        }
        if (l.max_frame_bytes as u64) < self.log_defaults.max_message_bytes as u64 {
            return Err(invalid("max-frame-bytes", "must be >= max-message-bytes"));
        }
        if l.max_in_flight_per_connection == 0 || l.max_in_flight_per_connection > MAX_IN_FLIGHT_CEILING {
            return Err(invalid("max-in-flight", format!("must be 1..={MAX_IN_FLIGHT_CEILING}")));
        }
        if l.max_connections_per_ip == 0 {
            return Err(invalid("max.connections.per.ip", "must be > 0"));
        }
        if l.max_connections == 0 {
            return Err(invalid("max-connections", "must be > 0"));
        }
        if l.max_fetch_response_bytes <= 0 {
            return Err(invalid("max-fetch-response-bytes", "must be > 0"));
        }
        if l.max_partitions_per_request == 0 {
            return Err(invalid("max-partitions-per-request", "must be > 0"));
        }
        if l.max_topics == 0 {
            return Err(invalid("max-topics", "must be > 0"));
        }
        if l.max_partitions_per_topic <= 0 || l.max_partitions_per_topic > MAX_PARTITIONS_PER_TOPIC_CEILING {
            return Err(invalid(
                "max-partitions-per-topic",
                format!("must be 1..={MAX_PARTITIONS_PER_TOPIC_CEILING}"),
            ));
        }
        if self.txn_limits.max_timeout_ms <= 0 {
            return Err(invalid("transaction-max-timeout-ms", "must be > 0"));
        }
        if self.txn_limits.transactional_id_expiration_ms <= 0 {
            return Err(invalid("transactional-id-expiration-ms", "must be > 0"));
        }
        let g = &self.group_limits;
        if g.max_members_per_group == 0 || g.max_groups == 0 || g.max_offsets_per_group == 0 {
            return Err(invalid("group limits", "max members, groups and offsets must be > 0"));
        }
        if g.min_session_timeout_ms <= 0 || g.min_session_timeout_ms > g.max_session_timeout_ms {
            return Err(invalid("group session timeouts", "need 0 < min <= max"));
        }
        if g.offsets_retention_ms <= 0 || g.offsets_retention_check_interval_ms <= 0 {
            return Err(invalid(
                "offsets retention",
                "offsets.retention.minutes and offsets.retention.check.interval.ms must be > 0",
            ));
        }
        if g.consumer_heartbeat_interval_ms <= 0 || g.consumer_heartbeat_interval_ms >= g.consumer_session_timeout_ms {
            return Err(invalid(
                "group.consumer heartbeat interval",
                "need 0 < group.consumer.heartbeat.interval.ms < group.consumer.session.timeout.ms",
            ));
        }
        Ok(())
    }

    /// host and port put in Metadata: the advertised listener, else the address actually bound.
    pub fn advertised(&self, bound: SocketAddr) -> (String, u16) {
        match &self.advertised_listener {
            Some((h, p)) => (h.clone(), *p),
            None => (bound.ip().to_string(), bound.port()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_defaults_ok() {
        BrokerConfig::default().validate().expect("defaults are valid");
    }

    #[test]
    fn validate_frame_below_message_max_rejected() {
        let mut c = BrokerConfig::default();
        c.limits.max_frame_bytes = 2048;
        let err = c.validate().expect_err("frame smaller than a message");
        assert_eq!(err.name, "max-frame-bytes");
    }

    #[test]
    fn validate_group_session_bounds_inverted_rejected() {
        let mut c = BrokerConfig::default();
        c.group_limits.min_session_timeout_ms = 10_000;
        c.group_limits.max_session_timeout_ms = 9_999;
        assert_eq!(c.validate().expect_err("min > max").name, "group session timeouts");
        c.group_limits.max_session_timeout_ms = 10_000;
        c.validate().expect("min == max is fine");
    }

    #[test]
    fn validate_zero_in_flight_rejected() {
        let mut c = BrokerConfig::default();
        c.limits.max_in_flight_per_connection = 0;
        assert_eq!(c.validate().expect_err("zero").name, "max-in-flight");
    }
}
