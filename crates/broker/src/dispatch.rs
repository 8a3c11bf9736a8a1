//! Request dispatch: parse the header, enforce the version table, decode the body with the
//! `kafka-protocol` codecs and hand it to the API's handler; encode and frame the answer.
//!
//! A request that cannot be parsed, names an unknown API or a version outside the table closes
//! the connection — except ApiVersions, which KIP-511 says must be answered with
//! UNSUPPORTED_VERSION and the supported ranges in a v0 body so the client can retry.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};
use futures::future::BoxFuture;
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable};

use crate::api;
use crate::broker::{now_ms, Broker};
use crate::quota::QuotaKind;
use crate::versions;

/// What the connection learns about the request it is answering.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub api_key: ApiKey,
    pub api_version: i16,
    pub correlation_id: i32,
    pub client_id: Option<String>,
    /// The client's address, for DescribeGroups' client_host.
    pub peer: std::net::SocketAddr,
    /// The connection the request came on (quota muting).
    pub connection: Arc<ConnectionState>,
}

/// What handlers may change about the connection a request came on.
#[derive(Debug, Default)]
pub struct ConnectionState {
    /// KIP-219: no further request is read from the connection before this time (ms since
    /// the epoch); a throttled client's response says how long.
    mute_until_ms: AtomicI64,
}

impl ConnectionState {
    /// Mutes the connection for `throttle_ms` from `now_ms` (a longer mute already set stays).
    pub fn mute_for(&self, now_ms: i64, throttle_ms: i64) {
        if throttle_ms > 0 {
            self.mute_until_ms.fetch_max(now_ms + throttle_ms, Ordering::AcqRel);
        }
    }

    pub fn muted_until_ms(&self) -> i64 {
        self.mute_until_ms.load(Ordering::Acquire)
    }
}

/// How a request is answered.
pub enum Answer {
    /// A framed response, ready to write.
    Ready(Bytes),
    /// A framed response that needs waiting for (fsync, long poll). Side effects already happened.
    /// An `Err` closes the connection, since the client would otherwise wait forever.
    Later(BoxFuture<'static, Result<Bytes, CloseReason>>),
    /// Nothing is written back (Produce with acks=0).
    Nothing,
}

/// Why a connection is closed instead of answered.
#[derive(Debug, thiserror::Error)]
pub enum CloseReason {
    #[error("request shorter than its header ({0} bytes)")]
    Truncated(usize),
    #[error("unknown API key {0}")]
    UnknownApi(i16),
    #[error("unsupported version {version} of {key:?}")]
    UnsupportedVersion { key: ApiKey, version: i16 },
    #[error("malformed {key:?} v{version} request: {reason}")]
    Malformed { key: ApiKey, version: i16, reason: String },
    #[error("cannot encode {key:?} response: {reason}")]
    Encode { key: ApiKey, reason: String },
    #[error("request exceeds a limit: {0}")]
    Limit(String),
}

/// Frames a response: size prefix, response header of the API's header version, body.
pub fn encode<R: Encodable>(ctx: &RequestContext, body: &R) -> Result<Bytes, CloseReason> {
    let header_version = ctx.api_key.response_header_version(ctx.api_version);
    encode_with(ctx, body, ctx.api_version, header_version)
}

fn encode_with<R: Encodable>(
    ctx: &RequestContext,
    body: &R,
    body_version: i16,
    header_version: i16,
) -> Result<Bytes, CloseReason> {
    let fail = encode_failed(ctx.api_key);
    let header = ResponseHeader::default().with_correlation_id(ctx.correlation_id);
    let size = header.compute_size(header_version).map_err(&fail)? + body.compute_size(body_version).map_err(&fail)?;
    let mut buf = BytesMut::with_capacity(4 + size);
    buf.put_i32(size as i32);
    header.encode(&mut buf, header_version).map_err(&fail)?;
    body.encode(&mut buf, body_version).map_err(&fail)?;
    debug_assert_eq!(buf.len(), 4 + size, "compute_size disagrees with encode");
    Ok(buf.freeze())
}

fn encode_failed<E: std::fmt::Display>(key: ApiKey) -> impl Fn(E) -> CloseReason {
    move |e| CloseReason::Encode {
        key,
        reason: e.to_string(),
    }
}

fn decode<R: Decodable>(ctx: &RequestContext, body: &mut Bytes) -> Result<R, CloseReason> {
    R::decode(body, ctx.api_version).map_err(|e| CloseReason::Malformed {
        key: ctx.api_key,
        version: ctx.api_version,
        reason: e.to_string(),
    })
}

/// Answers one request frame.
pub fn dispatch(
    broker: &Arc<Broker>,
    connection: &Arc<ConnectionState>,
    peer: std::net::SocketAddr,
    frame: Bytes,
) -> Result<Answer, CloseReason> {
    let dispatched = Instant::now();
    if frame.len() < 8 {
        return Err(CloseReason::Truncated(frame.len()));
    }
    let raw_key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let key = ApiKey::try_from(raw_key).map_err(|_| CloseReason::UnknownApi(raw_key))?;
    if !versions::is_supported(key, version) {
        if key == ApiKey::ApiVersions {
            let ctx = RequestContext {
                api_key: key,
                api_version: 0,
                correlation_id,
                client_id: None,
                peer,
                connection: Arc::clone(connection),
            };
            let body = api::api_versions::unsupported_version_response();
            return encode_with(&ctx, &body, 0, 0).map(Answer::Ready);
        }
        return Err(CloseReason::UnsupportedVersion { key, version });
    }
    if version < key.valid_versions().min {
        // Advertised for old clients' feature detection but never sent by a client that can
        // talk to us (Produce v0–v2; see versions.rs), and the codecs cannot read them.
        return Err(CloseReason::UnsupportedVersion { key, version });
    }
    let mut body = frame;
    let header_version = key.request_header_version(version);
    let header = RequestHeader::decode(&mut body, header_version).map_err(|e| CloseReason::Malformed {
        key,
        version,
        reason: format!("header: {e}"),
    })?;
    let ctx = RequestContext {
        api_key: key,
        api_version: version,
        correlation_id,
        client_id: header.client_id.map(|c| c.to_string()),
        peer,
        connection: Arc::clone(connection),
    };
    if !broker.quotas.is_active() {
        return route(broker, ctx, body).map(|a| timed(broker, key, dispatched, a));
    }
    // request_percentage (KIP-124): broker time spent on the request's synchronous part.
    let started = Instant::now();
    let client_id = ctx.client_id.clone().unwrap_or_default();
    let answer = route(broker, ctx, body);
    let spent_ms = started.elapsed().as_secs_f64() * 1000.0;
    let now = now_ms();
    let throttle = broker.quotas.record(QuotaKind::Request, &client_id, spent_ms, now);
    connection.mute_for(now, throttle);
    answer.map(|a| timed(broker, key, dispatched, a))
}

/// Request latency for /metrics, from `dispatched` until the response is ready to write: now
/// for an answer that is ready, when its future resolves for one that waits (fsync, long poll,
/// a rebalance). A request that closes the connection in dispatch is not observed.
fn timed(broker: &Arc<Broker>, key: ApiKey, dispatched: Instant, answer: Answer) -> Answer {
    match answer {
        Answer::Later(pending) => {
            let broker = Arc::clone(broker);
            Answer::Later(Box::pin(async move {
                let response = pending.await;
                broker.metrics.requests.observe(key, dispatched.elapsed());
                response
            }))
        }
        ready => {
            broker.metrics.requests.observe(key, dispatched.elapsed());
            ready
        }
    }
}

fn route(broker: &Arc<Broker>, ctx: RequestContext, mut body: Bytes) -> Result<Answer, CloseReason> {
    let b = &mut body;
    match ctx.api_key {
        ApiKey::ApiVersions => api::api_versions::handle(&ctx, decode(&ctx, b)?),
        ApiKey::Metadata => api::metadata::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::Produce => api::produce::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::Fetch => api::fetch::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::ListOffsets => api::list_offsets::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::CreateTopics => api::create_topics::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::DeleteTopics => api::delete_topics::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::CreatePartitions => api::create_partitions::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::DescribeConfigs => api::describe_configs::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::IncrementalAlterConfigs => api::alter_configs::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::DeleteRecords => api::delete_records::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::InitProducerId => api::init_producer_id::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::DescribeCluster => api::describe_cluster::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::FindCoordinator => api::find_coordinator::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::JoinGroup => api::join_group::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::SyncGroup => api::sync_group::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::Heartbeat => api::heartbeat::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::LeaveGroup => api::leave_group::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::OffsetCommit => api::offset_commit::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::OffsetFetch => api::offset_fetch::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::ListGroups => api::list_groups::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::DescribeGroups => api::describe_groups::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::DeleteGroups => api::delete_groups::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::OffsetDelete => api::offset_delete::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::DescribeClientQuotas => api::describe_client_quotas::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::AlterClientQuotas => api::alter_client_quotas::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::ConsumerGroupHeartbeat => api::consumer_group_heartbeat::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::ConsumerGroupDescribe => api::consumer_group_describe::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::AddPartitionsToTxn => api::add_partitions_to_txn::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::AddOffsetsToTxn => api::add_offsets_to_txn::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::EndTxn => api::end_txn::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::TxnOffsetCommit => api::txn_offset_commit::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::DescribeTransactions => api::describe_transactions::handle(broker, &ctx, decode(&ctx, b)?),
        ApiKey::ListTransactions => api::list_transactions::handle(broker, &ctx, decode(&ctx, b)?),
        key => Err(CloseReason::UnsupportedVersion {
            key,
            version: ctx.api_version,
        }),
    }
}
