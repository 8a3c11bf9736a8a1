//! In-process calls to the broker's Kafka API. The HTTP gateway and push delivery encode a
//! Kafka request, hand the frame to the broker's own `dispatch` — the code path every Kafka
//! connection takes — and decode the response. So every rule a Kafka client meets (validation,
//! backlog limits, idempotence, group membership, commit durability) applies to HTTP users
//! unchanged, with no socket, no second implementation and nothing to keep in step.
//!
//! Versions are fixed per API (`versions`): ones the broker serves and whose fields the
//! gateway needs, below the topic-id versions so names work everywhere.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use bytes::{Buf, BytesMut};
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::{Decodable, Encodable};
use wharf_broker::broker::Broker;
use wharf_broker::dispatch::{dispatch, Answer, CloseReason, ConnectionState};
use wharf_client::frame::{decode_body, decode_response_header, encode_request};
use wharf_client::ClientError;

/// The version of each API the gateway speaks.
pub mod versions {
    pub const PRODUCE: i16 = 9;
    pub const FETCH: i16 = 12;
    pub const LIST_OFFSETS: i16 = 7;
    pub const METADATA: i16 = 12;
    pub const CREATE_TOPICS: i16 = 7;
    pub const DELETE_TOPICS: i16 = 5;
    pub const DESCRIBE_CONFIGS: i16 = 4;
    pub const OFFSET_COMMIT: i16 = 8;
    pub const OFFSET_FETCH: i16 = 8;
    pub const JOIN_GROUP: i16 = 7;
    pub const SYNC_GROUP: i16 = 5;
    pub const HEARTBEAT: i16 = 4;
    pub const LEAVE_GROUP: i16 = 5;
    pub const LIST_GROUPS: i16 = 4;
    pub const DESCRIBE_GROUPS: i16 = 5;
    pub const DELETE_GROUPS: i16 = 2;
}

/// Why an in-process call got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("the broker refused the request: {0}")]
    Refused(#[from] CloseReason),
    #[error(transparent)]
    Codec(#[from] ClientError),
    #[error("the broker sent no response to {0:?}")]
    NoResponse(ApiKey),
    #[error("response correlation id {got} does not match {expected}")]
    CorrelationMismatch { expected: i32, got: i32 },
}

/// A Kafka client of the broker it runs in. Cheap to clone; every call is independent, so
/// many HTTP requests use one `LocalClient` at once.
#[derive(Clone)]
pub struct LocalClient {
    broker: Arc<Broker>,
    connection: Arc<ConnectionState>,
    client_id: Arc<str>,
    next_correlation_id: Arc<AtomicI32>,
}

/// The peer address the broker sees for in-process calls (DescribeGroups' client_host).
const LOCAL_PEER: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

impl LocalClient {
    pub fn new(broker: Arc<Broker>, client_id: &str) -> LocalClient {
        LocalClient {
            broker,
            connection: Arc::new(ConnectionState::default()),
            client_id: Arc::from(client_id),
            next_correlation_id: Arc::new(AtomicI32::new(0)),
        }
    }

    pub fn broker(&self) -> &Arc<Broker> {
        &self.broker
    }

    /// Sends one request through the broker's dispatch and decodes its response.
    pub async fn call<Req: Encodable, Resp: Decodable>(
        &self,
        api_key: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<Resp, LocalError> {
        let correlation_id = self.next_correlation_id.fetch_add(1, Ordering::Relaxed);
        let mut framed = BytesMut::new();
        encode_request(&mut framed, api_key, version, correlation_id, &self.client_id, request)?;
        // dispatch takes the frame without its length prefix, as the connection splits it.
        let frame = framed.freeze().slice(4..);
        let mut response = match dispatch(&self.broker, &self.connection, LOCAL_PEER, frame)? {
            Answer::Ready(bytes) => bytes,
            Answer::Later(pending) => pending.await?,
            Answer::Nothing => return Err(LocalError::NoResponse(api_key)),
        };
        response.advance(4.min(response.len()));
        let got = decode_response_header(&mut response, api_key, version)?;
        if got != correlation_id {
            return Err(LocalError::CorrelationMismatch {
                expected: correlation_id,
                got,
            });
        }
        Ok(decode_body(&mut response, api_key, version)?)
    }
}
