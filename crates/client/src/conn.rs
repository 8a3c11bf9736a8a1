//! One TCP connection to a broker: connect, ApiVersions handshake, request/response calls.
//!
//! A [`Connection`] is used one request at a time (metadata, topic creation, fetch); it keeps
//! the broker's ApiVersions answer so each caller picks its own version per API with
//! [`Connection::version`]. A pipelining producer (the bench's) works differently: it splits the connection into a [`FrameWriter`] and a [`FrameReader`]
//! and matches responses to requests itself, in order, by correlation id. Responses arrive in
//! request order on one Kafka connection (protocol guide, "Network"), so a FIFO is enough.
//! Every response frame passes through [`split_frame`] and its size bound.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use crate::error::{check_code, ClientError};
use crate::frame::{decode_body, decode_response_header, encode_request, split_frame};
use crate::limits::FRAME_BYTES_MAX;
use crate::versions::{self, OurRange, API_VERSIONS_VERSION};

/// Kafka's UNSUPPORTED_VERSION error code.
const UNSUPPORTED_VERSION: i16 = 35;

/// Initial read buffer; grown per frame by `split_frame` when a larger one is announced.
const READ_BUF_BYTES: usize = 64 * 1024;

/// Reads whole response frames from the read side of a connection.
pub struct FrameReader {
    addr: String,
    read: OwnedReadHalf,
    buf: BytesMut,
}

impl FrameReader {
    /// Waits for the next complete frame (without its length prefix).
    pub async fn read_frame(&mut self) -> Result<Bytes, ClientError> {
        loop {
            if let Some(frame) = split_frame(&mut self.buf, FRAME_BYTES_MAX, &self.addr)? {
                return Ok(frame);
            }
            if self.buf.capacity() == self.buf.len() {
                self.buf.reserve(READ_BUF_BYTES);
            }
            let n = self
                .read
                .read_buf(&mut self.buf)
                .await
                .map_err(|source| ClientError::Io {
                    addr: self.addr.clone(),
                    source,
                })?;
            if n == 0 {
                return Err(ClientError::ConnectionClosed {
                    addr: self.addr.clone(),
                });
            }
        }
    }
}

/// Writes encoded frames to the write side of a connection.
pub struct FrameWriter {
    addr: String,
    client_id: String,
    write: OwnedWriteHalf,
}

impl FrameWriter {
    /// The client id to put in the header of every request written here.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub async fn write_all(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.write.write_all(bytes).await.map_err(|source| ClientError::Io {
            addr: self.addr.clone(),
            source,
        })
    }
}

/// A handshaken connection with the API versions chosen for its broker.
pub struct Connection {
    reader: FrameReader,
    writer: FrameWriter,
    write_buf: BytesMut,
    next_correlation_id: i32,
    broker_versions: ApiVersionsResponse,
    /// Longest wait for one response; `None` waits as long as the broker takes.
    call_timeout: Option<Duration>,
}

impl Connection {
    /// Connects to `addr` and asks which API versions it speaks; `client_id` goes in every
    /// request header (brokers log it and quotas key on it).
    pub async fn connect(addr: &str, client_id: &str) -> Result<Self, ClientError> {
        let stream = TcpStream::connect(addr).await.map_err(|source| ClientError::Connect {
            addr: addr.to_owned(),
            source,
        })?;
        // Produce requests are written whole; Nagle would only add latency to the last segment.
        stream.set_nodelay(true).map_err(|source| ClientError::Io {
            addr: addr.to_owned(),
            source,
        })?;
        let (read, write) = stream.into_split();
        let mut conn = Connection {
            reader: FrameReader {
                addr: addr.to_owned(),
                read,
                buf: BytesMut::with_capacity(READ_BUF_BYTES),
            },
            writer: FrameWriter {
                addr: addr.to_owned(),
                client_id: client_id.to_owned(),
                write,
            },
            write_buf: BytesMut::new(),
            next_correlation_id: 0,
            broker_versions: ApiVersionsResponse::default(),
            call_timeout: None,
        };
        conn.broker_versions = conn.api_versions().await?;
        Ok(conn)
    }

    /// Bounds the wait for each response from now on. A call that times out fails with
    /// [`ClientError::Timeout`]; its answer may still arrive later, so the connection must then
    /// be dropped, not reused.
    pub fn set_call_timeout(&mut self, timeout: Option<Duration>) {
        self.call_timeout = timeout;
    }

    /// The bound set by [`Connection::set_call_timeout`].
    pub fn call_timeout(&self) -> Option<Duration> {
        self.call_timeout
    }

    /// The address this connection was opened to.
    pub fn addr(&self) -> &str {
        &self.reader.addr
    }

    /// The version of `ours.api_key` to speak to this broker (KIP-35), or
    /// [`ClientError::UnsupportedVersion`] when our range and the broker's do not meet.
    pub fn version(&self, ours: OurRange) -> Result<i16, ClientError> {
        versions::pick(ours, &self.broker_versions)
    }

    /// Every API range the broker advertised.
    pub fn broker_versions(&self) -> &ApiVersionsResponse {
        &self.broker_versions
    }

    /// Sends ApiVersions v3; on UNSUPPORTED_VERSION retries once with the broker's highest
    /// version, as KIP-511 intends.
    async fn api_versions(&mut self) -> Result<ApiVersionsResponse, ClientError> {
        let request = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_string(self.writer.client_id.clone()))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let mut version = API_VERSIONS_VERSION;
        for _attempt in 0..2 {
            let mut body = self.call_raw(ApiKey::ApiVersions, version, &request).await?;
            // The error code leads the body in every version; on UNSUPPORTED_VERSION the broker
            // encodes the rest as v0 whatever we asked for.
            let code = match body.get(..2) {
                Some(b) => i16::from_be_bytes([b[0], b[1]]),
                None => {
                    return Err(ClientError::Decode {
                        api: ApiKey::ApiVersions,
                        version,
                        message: "empty body".to_owned(),
                    })
                }
            };
            if code == UNSUPPORTED_VERSION {
                let v0: ApiVersionsResponse = decode_body(&mut body, ApiKey::ApiVersions, 0)?;
                match versions::api_versions_retry(&v0) {
                    Some(retry) if retry != version => {
                        version = retry;
                        continue;
                    }
                    _ => return Err(ClientError::broker(ApiKey::ApiVersions, code, "")),
                }
            }
            let response: ApiVersionsResponse = decode_body(&mut body, ApiKey::ApiVersions, version)?;
            check_code(ApiKey::ApiVersions, response.error_code, String::new)?;
            return Ok(response);
        }
        Err(ClientError::broker(ApiKey::ApiVersions, UNSUPPORTED_VERSION, ""))
    }

    /// Sends one request and decodes its response.
    pub async fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        api_key: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<Resp, ClientError> {
        let mut body = self.call_raw(api_key, version, request).await?;
        decode_body(&mut body, api_key, version)
    }

    /// Sends one request the broker does not answer (Produce with acks=0).
    pub async fn send_only<Req: Encodable>(
        &mut self,
        api_key: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<(), ClientError> {
        self.write_request(api_key, version, request).await.map(|_| ())
    }

    /// Encodes and writes one request under the next correlation id, which it returns.
    async fn write_request<Req: Encodable>(
        &mut self,
        api_key: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<i32, ClientError> {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        self.write_buf.clear();
        encode_request(
            &mut self.write_buf,
            api_key,
            version,
            correlation_id,
            &self.writer.client_id,
            request,
        )?;
        self.writer.write_all(&self.write_buf).await?;
        Ok(correlation_id)
    }

    /// Sends one request and returns its response body, header already checked.
    async fn call_raw<Req: Encodable>(
        &mut self,
        api_key: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<Bytes, ClientError> {
        let correlation_id = self.write_request(api_key, version, request).await?;
        let mut frame = match self.call_timeout {
            None => self.reader.read_frame().await?,
            Some(limit) => tokio::time::timeout(limit, self.reader.read_frame())
                .await
                .map_err(|_| ClientError::Timeout {
                    addr: self.reader.addr.clone(),
                    api: api_key,
                    waited_ms: limit.as_millis() as u64,
                })??,
        };
        let got = decode_response_header(&mut frame, api_key, version)?;
        if got != correlation_id {
            return Err(ClientError::CorrelationMismatch {
                expected: correlation_id,
                got,
            });
        }
        Ok(frame)
    }

    /// Splits into halves for pipelined use; returns the next free correlation id with them.
    pub fn into_split(self) -> (FrameWriter, FrameReader, i32) {
        (self.writer, self.reader, self.next_correlation_id)
    }
}
