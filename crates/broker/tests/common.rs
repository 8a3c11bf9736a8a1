//! Test harness: a real broker on 127.0.0.1:0 in a temp dir, and a raw Kafka-protocol client
//! that frames requests with the `kafka-protocol` codecs.

#![allow(dead_code)]

use std::net::SocketAddr;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, CreateTopicsRequest, CreateTopicsResponse, FetchRequest, ProduceRequest, RequestHeader, ResponseHeader,
    TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wharf_broker::{BrokerConfig, Server};

pub struct TestBroker {
    pub addr: SocketAddr,
    /// The running broker's shared state (for tests that reach past the wire protocol).
    pub broker: std::sync::Arc<wharf_broker::broker::Broker>,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestBroker {
    pub async fn start() -> TestBroker {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut BrokerConfig)) -> TestBroker {
        let dir = tempfile::tempdir().expect("tempdir");
        Self::start_in(dir, tweak).await
    }

    pub async fn start_in(dir: tempfile::TempDir, tweak: impl FnOnce(&mut BrokerConfig)) -> TestBroker {
        let mut config = BrokerConfig {
            listen: "127.0.0.1:0".parse().expect("addr"),
            data_dir: dir.path().to_path_buf(),
            ..Default::default()
        };
        tweak(&mut config);
        let server = Server::start(config).await.expect("start broker");
        let addr = server.local_addr();
        let broker = std::sync::Arc::clone(&server.broker);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(server.run(async {
            let _ = rx.await;
        }));
        TestBroker {
            addr,
            broker,
            dir,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// Clean shutdown; returns the data dir for a restart.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.expect("server task");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        std::mem::replace(&mut self.dir, dir)
    }

    pub async fn client(&self) -> Client {
        Client::connect(self.addr).await
    }
}

pub struct Client {
    pub stream: TcpStream,
    next_correlation: i32,
}

impl Client {
    /// Connects from a chosen local address (any 127.x.y.z works on loopback), to test limits
    /// that depend on the client's address.
    pub async fn connect_from(local: std::net::IpAddr, addr: SocketAddr) -> Client {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.bind(SocketAddr::new(local, 0)).expect("bind");
        Client {
            stream: socket.connect(addr).await.expect("connect"),
            next_correlation: 1,
        }
    }

    pub async fn connect(addr: SocketAddr) -> Client {
        Client {
            stream: TcpStream::connect(addr).await.expect("connect"),
            next_correlation: 1,
        }
    }

    pub fn frame<R: Encodable>(&mut self, key: ApiKey, version: i16, req: &R) -> (i32, Bytes) {
        let correlation = self.next_correlation;
        self.next_correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation)
            .with_client_id(Some(StrBytes::from_static_str("wharf-test")));
        let hv = key.request_header_version(version);
        let mut body = BytesMut::new();
        header.encode(&mut body, hv).expect("encode header");
        req.encode(&mut body, version).expect("encode body");
        let mut out = BytesMut::with_capacity(body.len() + 4);
        out.put_i32(body.len() as i32);
        out.extend_from_slice(&body);
        (correlation, out.freeze())
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Reads one response frame; `None` if the broker closed the connection.
    pub async fn read_frame(&mut self) -> Option<Bytes> {
        let mut len = [0u8; 4];
        if self.stream.read_exact(&mut len).await.is_err() {
            return None;
        }
        let n = i32::from_be_bytes(len) as usize;
        let mut buf = vec![0u8; n];
        self.stream.read_exact(&mut buf).await.ok()?;
        Some(Bytes::from(buf))
    }

    pub async fn read_response<R: Decodable>(&mut self, key: ApiKey, version: i16, correlation: i32) -> R {
        let mut frame = self.read_frame().await.expect("response frame");
        let header = ResponseHeader::decode(&mut frame, key.response_header_version(version)).expect("header");
        assert_eq!(header.correlation_id, correlation, "answers come in request order");
        R::decode(&mut frame, version).expect("decode body")
    }

    pub async fn call<Req: Encodable, Resp: Decodable>(&mut self, key: ApiKey, version: i16, req: &Req) -> Resp {
        let (c, bytes) = self.frame(key, version, req);
        self.send_raw(&bytes).await;
        self.read_response(key, version, c).await
    }
}

/// A v2 record batch of `n` records with values `"{prefix}-{i}"` and timestamps `ts0 + i`.
pub fn batch(prefix: &str, n: usize, ts0: i64, compression: Compression) -> Bytes {
    producer_batch(prefix, n, ts0, compression, (-1, -1, -1), false)
}

/// Like [`batch`], from an idempotent producer: `(producer_id, producer_epoch, base_sequence)`.
pub fn idempotent_batch(prefix: &str, n: usize, producer: (i64, i16, i32)) -> Bytes {
    producer_batch(prefix, n, 1000, Compression::None, producer, false)
}

/// Like [`idempotent_batch`], inside a transaction (attributes bit 4).
pub fn transactional_batch(prefix: &str, n: usize, producer: (i64, i16, i32)) -> Bytes {
    producer_batch(prefix, n, 1000, Compression::None, producer, true)
}

fn producer_batch(
    prefix: &str,
    n: usize,
    ts0: i64,
    compression: Compression,
    producer: (i64, i16, i32),
    transactional: bool,
) -> Bytes {
    let (producer_id, producer_epoch, base_sequence) = producer;
    let records: Vec<Record> = (0..n)
        .map(|i| Record {
            transactional,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id,
            producer_epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // kafka-protocol's encoder starts a new batch whenever offset - sequence changes,
            // so sequence runs with the offset; the first record's sequence is the batch's base
            // sequence (-1 for a non-idempotent producer; the rest are then ignored).
            sequence: if base_sequence < 0 {
                i as i32 - 1
            } else {
                base_sequence + i as i32
            },
            timestamp: ts0 + i as i64,
            key: Some(Bytes::from(format!("k{i}"))),
            value: Some(Bytes::from(format!("{prefix}-{i}"))),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records.iter(),
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .expect("encode batch");
    buf.freeze()
}

/// Values of every record in `records` (concatenated batches), in order.
pub fn values(records: &Bytes) -> Vec<String> {
    let mut b = records.clone();
    let mut out = Vec::new();
    while b.has_remaining() {
        let set = kafka_protocol::records::RecordBatchDecoder::decode(&mut b).expect("decode");
        for r in set.records {
            out.push(String::from_utf8(r.value.expect("value").to_vec()).expect("utf8"));
        }
    }
    out
}

/// A JoinGroup for group `group` with one "range" protocol, 30 s rebalance timeout.
pub fn join_req(group: &str, member_id: &str, session_timeout_ms: i32) -> kafka_protocol::messages::JoinGroupRequest {
    use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
    kafka_protocol::messages::JoinGroupRequest::default()
        .with_group_id(kafka_protocol::messages::GroupId(StrBytes::from_string(
            group.to_string(),
        )))
        .with_member_id(StrBytes::from_string(member_id.to_string()))
        .with_session_timeout_ms(session_timeout_ms)
        .with_rebalance_timeout_ms(30_000)
        .with_protocol_type(StrBytes::from_static_str("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(StrBytes::from_static_str("range"))
            .with_metadata(Bytes::from_static(b"sub"))])
}

/// JoinGroup at `version` through KIP-394 when needed: returns the completed answer.
pub async fn join_group(c: &mut Client, group: &str, version: i16) -> kafka_protocol::messages::JoinGroupResponse {
    let r: kafka_protocol::messages::JoinGroupResponse =
        c.call(ApiKey::JoinGroup, version, &join_req(group, "", 10_000)).await;
    if r.error_code != kafka_protocol::ResponseError::MemberIdRequired.code() {
        return r;
    }
    c.call(ApiKey::JoinGroup, version, &join_req(group, &r.member_id, 10_000))
        .await
}

pub fn group_id(g: &str) -> kafka_protocol::messages::GroupId {
    kafka_protocol::messages::GroupId(StrBytes::from_string(g.to_string()))
}

pub fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

pub async fn create(c: &mut Client, topic: &str, partitions: i32, configs: &[(&str, &str)]) -> CreateTopicsResponse {
    let t = CreatableTopic::default()
        .with_name(name(topic))
        .with_num_partitions(partitions)
        .with_replication_factor(1)
        .with_configs(
            configs
                .iter()
                .map(|(k, v)| {
                    CreatableTopicConfig::default()
                        .with_name(StrBytes::from_string(k.to_string()))
                        .with_value(Some(StrBytes::from_string(v.to_string())))
                })
                .collect(),
        );
    c.call(
        ApiKey::CreateTopics,
        7,
        &CreateTopicsRequest::default()
            .with_topics(vec![t])
            .with_timeout_ms(5000),
    )
    .await
}

pub fn produce_req(topic: &str, partition: i32, records: Bytes, acks: i16) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(records))])])
}

pub fn fetch_req(topic: &str, partition: i32, offset: i64, max_wait_ms: i32, min_bytes: i32) -> FetchRequest {
    FetchRequest::default()
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(min_bytes)
        .with_max_bytes(50 * 1024 * 1024)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default().with_topic(name(topic)).with_partitions(
            vec![FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(1024 * 1024)],
        )])
}
