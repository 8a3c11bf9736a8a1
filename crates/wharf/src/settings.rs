//! `wharf serve` settings: each one a flag, an environment variable (WHARF_…) and a key of the
//! optional TOML file, in that order of precedence, then the built-in default. Everything is
//! validated once here and in `BrokerConfig::validate`, before anything is opened.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use wharf_broker::BrokerConfig;
use wharf_http::{HttpConfig, HttpLimits};

/// Settings as given on the command line / env (all optional), also the TOML file's schema.
#[derive(Debug, Default, Clone, clap::Args, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServeSettings {
    /// Address of the Kafka listener, HOST:PORT (port 0 picks a free one) [default: 127.0.0.1:9092]
    #[arg(long, env = "WHARF_LISTEN")]
    pub listen: Option<String>,
    /// HOST:PORT returned to clients in Metadata [default: the bound listen address]
    #[arg(long, env = "WHARF_ADVERTISED_LISTENER")]
    pub advertised_listener: Option<String>,
    /// Directory for topic data [default: ./wharf-data]
    #[arg(long, env = "WHARF_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Kafka node.id of this broker [default: 1]
    #[arg(long, env = "WHARF_NODE_ID")]
    pub node_id: Option<i32>,
    /// Cluster id reported to clients [default: wharf-cluster]
    #[arg(long, env = "WHARF_CLUSTER_ID")]
    pub cluster_id: Option<String>,
    /// auto.create.topics.enable [default: true]
    #[arg(long, env = "WHARF_AUTO_CREATE_TOPICS")]
    pub auto_create_topics: Option<bool>,
    /// num.partitions of auto-created topics [default: 1]
    #[arg(long, env = "WHARF_NUM_PARTITIONS")]
    pub num_partitions: Option<i32>,
    /// log.segment.bytes [default: 1073741824]
    #[arg(long, env = "WHARF_SEGMENT_BYTES")]
    pub segment_bytes: Option<u64>,
    /// log.roll.ms [default: 604800000]
    #[arg(long, env = "WHARF_SEGMENT_MS")]
    pub segment_ms: Option<i64>,
    /// log.retention.ms, -1 for no time limit [default: 604800000]
    #[arg(long, env = "WHARF_RETENTION_MS", allow_negative_numbers = true)]
    pub retention_ms: Option<i64>,
    /// log.retention.bytes per partition, -1 for no limit [default: -1]
    #[arg(long, env = "WHARF_RETENTION_BYTES", allow_negative_numbers = true)]
    pub retention_bytes: Option<i64>,
    /// message.max.bytes: the largest record batch [default: 1048588]
    #[arg(long, env = "WHARF_MAX_MESSAGE_BYTES")]
    pub max_message_bytes: Option<u32>,
    /// log.index.interval.bytes [default: 4096]
    #[arg(long, env = "WHARF_INDEX_INTERVAL_BYTES")]
    pub index_interval_bytes: Option<u32>,
    /// log.index.size.max.bytes [default: 10485760]
    #[arg(long, env = "WHARF_SEGMENT_INDEX_BYTES")]
    pub segment_index_bytes: Option<u32>,
    /// producer.id.expiration.ms: idle time after which a partition forgets an idempotent producer [default: 86400000]
    #[arg(long, env = "WHARF_PRODUCER_ID_EXPIRATION_MS")]
    pub producer_id_expiration_ms: Option<i64>,
    /// Idempotent producers whose state one partition keeps; a new one evicts the longest idle [default: 10000]
    #[arg(long, env = "WHARF_MAX_PRODUCERS_PER_PARTITION")]
    pub max_producers_per_partition: Option<usize>,
    /// fsync interval for acks=0/1 data, ms; acks=all is always fsynced first [default: 1000]
    #[arg(long, env = "WHARF_FLUSH_INTERVAL_MS")]
    pub flush_interval_ms: Option<u64>,
    /// How often retention and time-based rolls run, ms [default: 30000]
    #[arg(long, env = "WHARF_RETENTION_CHECK_INTERVAL_MS")]
    pub retention_check_interval_ms: Option<u64>,
    /// log.cleaner.backoff.ms: how often the log cleaner looks for logs to compact [default: 15000]
    #[arg(long, env = "WHARF_LOG_CLEANER_BACKOFF_MS")]
    pub log_cleaner_backoff_ms: Option<u64>,
    /// log.cleaner.dedupe.buffer.size: memory for one compaction pass's key map [default: 134217728]
    #[arg(long, env = "WHARF_LOG_CLEANER_DEDUPE_BUFFER_BYTES")]
    pub log_cleaner_dedupe_buffer_bytes: Option<usize>,
    /// socket.request.max.bytes: largest request frame [default: 104857600]
    #[arg(long, env = "WHARF_MAX_FRAME_BYTES")]
    pub max_frame_bytes: Option<u32>,
    /// Requests in flight per connection before reading pauses [default: 128]
    #[arg(long, env = "WHARF_MAX_IN_FLIGHT")]
    pub max_in_flight: Option<usize>,
    /// max.connections [default: 10000]
    #[arg(long, env = "WHARF_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// max.connections.per.ip: connections from one client address [default: 10000]
    #[arg(long, env = "WHARF_MAX_CONNECTIONS_PER_IP")]
    pub max_connections_per_ip: Option<usize>,
    /// Fetches parked in long poll at once [default: 10000]
    #[arg(long, env = "WHARF_MAX_DELAYED_FETCHES")]
    pub max_delayed_fetches: Option<usize>,
    /// fetch.max.bytes: record bytes in one Fetch response [default: 57671680]
    #[arg(long, env = "WHARF_MAX_FETCH_BYTES")]
    pub max_fetch_bytes: Option<i32>,
    /// Partitions named in one request [default: 100000]
    #[arg(long, env = "WHARF_MAX_PARTITIONS_PER_REQUEST")]
    pub max_partitions_per_request: Option<usize>,
    /// Topics on this broker [default: 10000]
    #[arg(long, env = "WHARF_MAX_TOPICS")]
    pub max_topics: Option<usize>,
    /// Partitions per topic [default: 10000]
    #[arg(long, env = "WHARF_MAX_PARTITIONS_PER_TOPIC")]
    pub max_partitions_per_topic: Option<i32>,
    /// group.max.size: members of one consumer group [default: 1000]
    #[arg(long, env = "WHARF_GROUP_MAX_SIZE")]
    pub group_max_size: Option<usize>,
    /// Consumer groups held by the coordinator [default: 10000]
    #[arg(long, env = "WHARF_MAX_GROUPS")]
    pub max_groups: Option<usize>,
    /// Committed (topic, partition) offsets of one group [default: 100000]
    #[arg(long, env = "WHARF_MAX_OFFSETS_PER_GROUP")]
    pub max_offsets_per_group: Option<usize>,
    /// offset.metadata.max.bytes [default: 4096]
    #[arg(long, env = "WHARF_OFFSET_METADATA_MAX_BYTES")]
    pub offset_metadata_max_bytes: Option<usize>,
    /// group.min.session.timeout.ms [default: 6000]
    #[arg(long, env = "WHARF_GROUP_MIN_SESSION_TIMEOUT_MS")]
    pub group_min_session_timeout_ms: Option<i32>,
    /// group.max.session.timeout.ms [default: 1800000]
    #[arg(long, env = "WHARF_GROUP_MAX_SESSION_TIMEOUT_MS")]
    pub group_max_session_timeout_ms: Option<i32>,
    /// transaction.max.timeout.ms: the longest transaction.timeout.ms a producer may ask for [default: 900000]
    #[arg(long, env = "WHARF_TRANSACTION_MAX_TIMEOUT_MS")]
    pub transaction_max_timeout_ms: Option<i32>,
    /// transactional.id.expiration.ms: a transactional id unused this long (no transaction open) is forgotten [default: 604800000]
    #[arg(long, env = "WHARF_TRANSACTIONAL_ID_EXPIRATION_MS")]
    pub transactional_id_expiration_ms: Option<i64>,
    /// group.consumer.session.timeout.ms, for KIP-848 (group.protocol=consumer) members [default: 45000]
    #[arg(long, env = "WHARF_GROUP_CONSUMER_SESSION_TIMEOUT_MS")]
    pub group_consumer_session_timeout_ms: Option<i32>,
    /// group.consumer.heartbeat.interval.ms, for KIP-848 members [default: 5000]
    #[arg(long, env = "WHARF_GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS")]
    pub group_consumer_heartbeat_interval_ms: Option<i32>,
    /// offsets.retention.minutes: committed offsets of an abandoned group are deleted after this [default: 10080]
    #[arg(long, env = "WHARF_OFFSETS_RETENTION_MINUTES")]
    pub offsets_retention_minutes: Option<i64>,
    /// offsets.retention.check.interval.ms [default: 600000]
    #[arg(long, env = "WHARF_OFFSETS_RETENTION_CHECK_INTERVAL_MS")]
    pub offsets_retention_check_interval_ms: Option<i64>,
    /// Address of the HTTP API, metrics and web console, HOST:PORT, or `off` [default: 127.0.0.1:8080]
    #[arg(long, env = "WHARF_HTTP_LISTEN")]
    pub http_listen: Option<String>,
    /// Largest HTTP request body; larger gets 413 [default: 8388608]
    #[arg(long, env = "WHARF_HTTP_BODY_BYTES_MAX")]
    pub http_body_bytes_max: Option<usize>,
    /// Records in one HTTP produce request [default: 10000]
    #[arg(long, env = "WHARF_HTTP_PRODUCE_RECORDS_MAX")]
    pub http_produce_records_max: Option<usize>,
    /// Group members created over HTTP that exist at once [default: 1000]
    #[arg(long, env = "WHARF_HTTP_MEMBERS_MAX")]
    pub http_members_max: Option<usize>,
    /// Server-Sent Events streams open at once [default: 1000]
    #[arg(long, env = "WHARF_HTTP_SSE_STREAMS_MAX")]
    pub http_sse_streams_max: Option<usize>,
    /// Push subscriptions that exist at once [default: 100]
    #[arg(long, env = "WHARF_PUSH_SUBSCRIPTIONS_MAX")]
    pub push_subscriptions_max: Option<usize>,
    /// How long connecting to a webhook may take, ms [default: 5000]
    #[arg(long, env = "WHARF_PUSH_CONNECT_TIMEOUT_MS")]
    pub push_connect_timeout_ms: Option<u64>,
    /// How long one whole webhook request may take, ms [default: 30000]
    #[arg(long, env = "WHARF_PUSH_REQUEST_TIMEOUT_MS")]
    pub push_request_timeout_ms: Option<u64>,
}

macro_rules! merge {
    ($a:ident, $b:ident, $($f:ident),* $(,)?) => {
        ServeSettings { $($f: $a.$f.or($b.$f)),* }
    };
}

impl ServeSettings {
    /// Flags/env win over the file.
    pub fn over(self, file: ServeSettings) -> ServeSettings {
        let a = self;
        let b = file;
        merge!(
            a,
            b,
            listen,
            advertised_listener,
            data_dir,
            node_id,
            cluster_id,
            auto_create_topics,
            num_partitions,
            segment_bytes,
            segment_ms,
            retention_ms,
            retention_bytes,
            max_message_bytes,
            index_interval_bytes,
            segment_index_bytes,
            producer_id_expiration_ms,
            max_producers_per_partition,
            flush_interval_ms,
            retention_check_interval_ms,
            log_cleaner_backoff_ms,
            log_cleaner_dedupe_buffer_bytes,
            max_frame_bytes,
            max_in_flight,
            max_connections,
            max_connections_per_ip,
            max_delayed_fetches,
            max_fetch_bytes,
            max_partitions_per_request,
            max_topics,
            max_partitions_per_topic,
            group_max_size,
            max_groups,
            max_offsets_per_group,
            offset_metadata_max_bytes,
            group_min_session_timeout_ms,
            group_max_session_timeout_ms,
            transaction_max_timeout_ms,
            transactional_id_expiration_ms,
            group_consumer_session_timeout_ms,
            group_consumer_heartbeat_interval_ms,
            offsets_retention_minutes,
            offsets_retention_check_interval_ms,
            http_listen,
            http_body_bytes_max,
            http_produce_records_max,
            http_members_max,
            http_sse_streams_max,
            push_subscriptions_max,
            push_connect_timeout_ms,
            push_request_timeout_ms
        )
    }

    pub fn from_file(path: &Path) -> Result<ServeSettings> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
    }

    /// The HTTP gateway's settings, validated.
    pub fn http_config(&self) -> Result<HttpConfig> {
        let listen = match self.http_listen.as_deref() {
            Some("off") => None,
            Some(l) => Some(resolve(l).context("invalid --http-listen")?),
            None => Some(SocketAddr::from(([127, 0, 0, 1], 8080))),
        };
        let mut limits = HttpLimits::default();
        let l = &mut limits;
        for (flag, field) in [
            (self.http_body_bytes_max, &mut l.body_bytes_max),
            (self.http_produce_records_max, &mut l.produce_records_max),
            (self.http_members_max, &mut l.members_max),
            (self.http_sse_streams_max, &mut l.sse_streams_max),
            (self.push_subscriptions_max, &mut l.subscriptions_max),
        ] {
            if let Some(v) = flag {
                *field = v;
            }
        }
        for (flag, field) in [
            (self.push_connect_timeout_ms, &mut l.push_connect_timeout_ms),
            (self.push_request_timeout_ms, &mut l.push_request_timeout_ms),
        ] {
            if let Some(v) = flag {
                *field = v;
            }
        }
        limits.validate().map_err(anyhow::Error::msg)?;
        Ok(HttpConfig { listen, limits })
    }

    /// Builds and validates the broker configuration.
    pub fn into_config(self) -> Result<BrokerConfig> {
        let mut c = BrokerConfig::default();
        if let Some(l) = self.listen {
            c.listen = resolve(&l).context("invalid --listen")?;
        }
        if let Some(a) = self.advertised_listener {
            c.advertised_listener = Some(split_host_port(&a).context("invalid --advertised-listener")?);
        }
        let d = &mut c.log_defaults;
        macro_rules! set {
            ($src:expr => $dst:expr) => {
                if let Some(v) = $src {
                    $dst = v;
                }
            };
        }
        set!(self.segment_bytes => d.segment_bytes);
        set!(self.segment_ms => d.segment_ms);
        set!(self.retention_ms => d.retention_ms);
        set!(self.retention_bytes => d.retention_bytes);
        set!(self.max_message_bytes => d.max_message_bytes);
        set!(self.index_interval_bytes => d.index_interval_bytes);
        set!(self.segment_index_bytes => d.segment_index_bytes);
        set!(self.producer_id_expiration_ms => d.producer_id_expiration_ms);
        set!(self.max_producers_per_partition => d.max_producers);
        set!(self.data_dir => c.data_dir);
        set!(self.node_id => c.node_id);
        set!(self.cluster_id => c.cluster_id);
        set!(self.auto_create_topics => c.auto_create_topics);
        set!(self.num_partitions => c.default_num_partitions);
        set!(self.flush_interval_ms => c.flush_interval_ms);
        set!(self.retention_check_interval_ms => c.retention_check_interval_ms);
        set!(self.log_cleaner_backoff_ms => c.log_cleaner_backoff_ms);
        set!(self.log_cleaner_dedupe_buffer_bytes => c.cleaner.dedupe_buffer_bytes);
        let l = &mut c.limits;
        set!(self.max_frame_bytes => l.max_frame_bytes);
        set!(self.max_in_flight => l.max_in_flight_per_connection);
        set!(self.max_connections => l.max_connections);
        set!(self.max_connections_per_ip => l.max_connections_per_ip);
        set!(self.max_delayed_fetches => l.max_delayed_fetches);
        set!(self.max_fetch_bytes => l.max_fetch_response_bytes);
        set!(self.max_partitions_per_request => l.max_partitions_per_request);
        set!(self.max_topics => l.max_topics);
        set!(self.max_partitions_per_topic => l.max_partitions_per_topic);
        let g = &mut c.group_limits;
        set!(self.group_max_size => g.max_members_per_group);
        set!(self.max_groups => g.max_groups);
        set!(self.max_offsets_per_group => g.max_offsets_per_group);
        set!(self.offset_metadata_max_bytes => g.max_offset_metadata_bytes);
        set!(self.group_min_session_timeout_ms => g.min_session_timeout_ms);
        set!(self.group_max_session_timeout_ms => g.max_session_timeout_ms);
        set!(self.transaction_max_timeout_ms => c.txn_limits.max_timeout_ms);
        set!(self.transactional_id_expiration_ms => c.txn_limits.transactional_id_expiration_ms);
        set!(self.group_consumer_session_timeout_ms => g.consumer_session_timeout_ms);
        set!(self.group_consumer_heartbeat_interval_ms => g.consumer_heartbeat_interval_ms);
        if let Some(minutes) = self.offsets_retention_minutes {
            g.offsets_retention_ms = minutes.saturating_mul(60_000);
        }
        set!(self.offsets_retention_check_interval_ms => g.offsets_retention_check_interval_ms);
        c.validate()?;
        Ok(c)
    }
}

fn split_host_port(s: &str) -> Result<(String, u16)> {
    let (host, port) = s.rsplit_once(':').with_context(|| format!("{s:?} is not HOST:PORT"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        bail!("{s:?} has an empty host");
    }
    let port: u16 = port.parse().with_context(|| format!("{port:?} is not a port number"))?;
    Ok((host.to_string(), port))
}

fn resolve(s: &str) -> Result<SocketAddr> {
    split_host_port(s)?;
    s.to_socket_addrs()
        .with_context(|| format!("cannot resolve {s:?}"))?
        .next()
        .with_context(|| format!("{s:?} resolves to no address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn into_config_defaults_ok() {
        let c = ServeSettings::default().into_config().expect("defaults");
        assert_eq!(c.listen.to_string(), "127.0.0.1:9092");
        assert_eq!(c.data_dir, PathBuf::from("./wharf-data"));
    }

    #[test]
    fn over_flag_wins_over_file() {
        let flags = ServeSettings {
            listen: Some("127.0.0.1:1".into()),
            ..Default::default()
        };
        let file: ServeSettings = toml::from_str("listen = \"127.0.0.1:2\"\nnode-id = 7\n").expect("toml");
        let m = flags.over(file);
        assert_eq!(m.listen.as_deref(), Some("127.0.0.1:1"));
        assert_eq!(m.node_id, Some(7));
    }

    #[test]
    fn http_config_off_and_limits_from_flags() {
        let off = ServeSettings {
            http_listen: Some("off".into()),
            ..Default::default()
        };
        assert_eq!(off.http_config().expect("valid").listen, None);
        let set = ServeSettings {
            push_subscriptions_max: Some(7),
            push_request_timeout_ms: Some(1_500),
            ..Default::default()
        };
        let c = set.http_config().expect("valid");
        assert_eq!(c.listen.map(|a| a.to_string()).as_deref(), Some("127.0.0.1:8080"));
        assert_eq!(
            (c.limits.subscriptions_max, c.limits.push_request_timeout_ms),
            (7, 1_500)
        );
        let zero = ServeSettings {
            http_sse_streams_max: Some(0),
            ..Default::default()
        };
        assert!(zero.http_config().is_err());
    }

    #[test]
    fn from_toml_unknown_key_rejected() {
        assert!(toml::from_str::<ServeSettings>("no-such = 1").is_err());
    }

    #[test]
    fn into_config_bad_advertised_rejected() {
        let s = ServeSettings {
            advertised_listener: Some("nohostport".into()),
            ..Default::default()
        };
        assert!(s.into_config().is_err());
        let z = ServeSettings {
            advertised_listener: Some("host:0".into()),
            ..Default::default()
        };
        assert!(z.into_config().is_err());
    }

    #[test]
    fn into_config_segment_too_small_rejected() {
        let s = ServeSettings {
            max_in_flight: Some(0),
            ..Default::default()
        };
        assert!(s.into_config().is_err());
    }
}
