//! Kafka wire framing: a 4-byte big-endian length prefix, then a header, then the body.
//!
//! Sans-I/O on purpose: [`split_frame`] looks at bytes already received and either returns one
//! whole frame or says "need more"; [`encode_request`] appends a whole request to a buffer. The
//! length prefix is checked against the caller's bound before any space is reserved for it, so
//! a hostile or confused peer cannot make us allocate what its prefix claims. Header versions
//! come from `ApiKey::request_header_version` / `response_header_version`; the one exception is
//! ApiVersions, whose response header is always v0 (KIP-511), which that function already encodes.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use crate::error::ClientError;

/// Bytes of the length prefix.
pub const LENGTH_PREFIX_BYTES: usize = 4;

/// Takes one complete frame (without its length prefix) off the front of `buf`, or returns
/// `Ok(None)` when the frame has not fully arrived. A prefix above `frame_bytes_max` (or
/// negative, read as a huge unsigned value) is an error before anything is allocated; when a
/// valid frame is partial, room for the rest is reserved so the next read lands in one go.
pub fn split_frame(buf: &mut BytesMut, frame_bytes_max: usize, addr: &str) -> Result<Option<Bytes>, ClientError> {
    if buf.len() < LENGTH_PREFIX_BYTES {
        return Ok(None);
    }
    let prefix: [u8; LENGTH_PREFIX_BYTES] = [buf[0], buf[1], buf[2], buf[3]];
    let len = u32::from_be_bytes(prefix) as usize;
    if len > frame_bytes_max {
        return Err(ClientError::FrameTooLarge {
            addr: addr.to_owned(),
            len,
            max: frame_bytes_max,
        });
    }
    let total = LENGTH_PREFIX_BYTES + len;
    if buf.len() < total {
        buf.reserve(total - buf.len());
        return Ok(None);
    }
    buf.advance(LENGTH_PREFIX_BYTES);
    Ok(Some(buf.split_to(len).freeze()))
}

/// Appends one framed request (prefix, header, body) to `out`.
pub fn encode_request<R: Encodable>(
    out: &mut BytesMut,
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    client_id: &str,
    body: &R,
) -> Result<(), ClientError> {
    let encode_err = |message: String| ClientError::Encode {
        api: api_key,
        version,
        message,
    };
    let header = RequestHeader::default()
        .with_request_api_key(api_key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_string(client_id.to_owned())));
    let header_version = api_key.request_header_version(version);

    let start = out.len();
    out.put_u32(0); // length, filled in below once known
    header
        .encode(out, header_version)
        .map_err(|e| encode_err(format!("{e:#}")))?;
    body.encode(out, version).map_err(|e| encode_err(format!("{e:#}")))?;
    let len = out.len() - start - LENGTH_PREFIX_BYTES;
    let len = u32::try_from(len)
        .ok()
        .filter(|&l| l <= i32::MAX as u32)
        .ok_or_else(|| encode_err(format!("request of {len} bytes is too large")))?;
    out[start..start + LENGTH_PREFIX_BYTES].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// Decodes the response header at the front of `frame`, returning its correlation id and
/// leaving `frame` at the start of the body.
pub fn decode_response_header(frame: &mut Bytes, api_key: ApiKey, version: i16) -> Result<i32, ClientError> {
    let header_version = api_key.response_header_version(version);
    ResponseHeader::decode(frame, header_version)
        .map(|h| h.correlation_id)
        .map_err(|e| ClientError::Decode {
            api: api_key,
            version,
            message: format!("response header: {e:#}"),
        })
}

/// Decodes a response body of type `T`.
pub fn decode_body<T: Decodable>(frame: &mut Bytes, api_key: ApiKey, version: i16) -> Result<T, ClientError> {
    T::decode(frame, version).map_err(|e| ClientError::Decode {
        api: api_key,
        version,
        message: format!("{e:#}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::MetadataRequest;

    const MAX: usize = 1024;

    #[test]
    fn split_frame_partial_prefix_returns_none() {
        let mut buf = BytesMut::from(&[0u8, 0, 0][..]);
        assert!(split_frame(&mut buf, MAX, "t").expect("no error").is_none());
        assert_eq!(buf.len(), 3, "nothing consumed");
    }

    #[test]
    fn split_frame_partial_body_returns_none_and_keeps_bytes() {
        let mut buf = BytesMut::new();
        buf.put_u32(10);
        buf.put_slice(b"12345");
        assert!(split_frame(&mut buf, MAX, "t").expect("no error").is_none());
        assert_eq!(buf.len(), 9);
        buf.put_slice(b"67890extra");
        let frame = split_frame(&mut buf, MAX, "t").expect("ok").expect("complete");
        assert_eq!(&frame[..], b"1234567890");
        assert_eq!(&buf[..], b"extra");
    }

    #[test]
    fn split_frame_at_limit_passes() {
        let mut buf = BytesMut::new();
        buf.put_u32(MAX as u32);
        buf.put_bytes(7, MAX);
        let frame = split_frame(&mut buf, MAX, "t").expect("ok").expect("complete");
        assert_eq!(frame.len(), MAX);
    }

    #[test]
    fn split_frame_over_limit_fails_before_allocating() {
        let mut buf = BytesMut::with_capacity(8);
        buf.put_u32(MAX as u32 + 1);
        let capacity = buf.capacity();
        let err = split_frame(&mut buf, MAX, "t").expect_err("too large");
        assert!(matches!(err, ClientError::FrameTooLarge { len, .. } if len == MAX + 1));
        assert_eq!(buf.capacity(), capacity, "no space reserved for the claimed length");
    }

    #[test]
    fn split_frame_negative_length_is_rejected() {
        let mut buf = BytesMut::new();
        buf.put_i32(-1);
        assert!(split_frame(&mut buf, MAX, "t").is_err());
    }

    #[test]
    fn encode_request_prefix_matches_length_and_header_round_trips() {
        let mut out = BytesMut::new();
        let body = MetadataRequest::default();
        encode_request(&mut out, ApiKey::Metadata, 12, 42, "t", &body).expect("encodes");
        let mut frame = split_frame(&mut out, MAX, "t").expect("ok").expect("whole frame");
        assert!(out.is_empty());
        let header_version = ApiKey::Metadata.request_header_version(12);
        let header = RequestHeader::decode(&mut frame, header_version).expect("header");
        assert_eq!(header.correlation_id, 42);
        assert_eq!(header.request_api_version, 12);
        assert_eq!(header.request_api_key, ApiKey::Metadata as i16);
        let decoded = MetadataRequest::decode(&mut frame, 12).expect("body");
        assert_eq!(decoded, body);
    }
}
