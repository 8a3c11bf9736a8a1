//! `request_decode`: every request body the broker accepts, decoded from arbitrary bytes.
//!
//! Input: `[api key selector, version selector, body...]`. The selectors pick one of the APIs the
//! broker serves (its ApiVersions table, `wharf_broker::versions`) and a version in its advertised
//! range; the body goes to the same `kafka-protocol` decoder the broker's dispatch uses.
//!
//! Invariants: decoding returns `Ok` or `Err`, never panics, never aborts. Array lengths read off
//! the wire size their vectors before any element is read (kafka-protocol 0.18), so a body of a
//! few bytes can ask for hundreds of gigabytes: this target runs under the broker's own allocator
//! (`wharf_broker::alloc`, installed in `lib.rs`), as the broker does, and without it would abort
//! on the first such input.

use bytes::Bytes;
use kafka_protocol::messages::RequestKind;
use wharf_broker::versions::SUPPORTED_APIS;

pub fn request_decode(data: &[u8]) {
    let [key, version, body @ ..] = data else {
        return;
    };
    let api = SUPPORTED_APIS[usize::from(*key) % SUPPORTED_APIS.len()];
    // Produce v0-v2 are advertised but refused before decoding (versions.rs); the decoder
    // itself starts where kafka-protocol does.
    let min = api.min.max(api.key.valid_versions().min);
    let span = (api.max - min + 1) as u16;
    let version = min + (u16::from(*version) % span) as i16;
    let mut bytes = Bytes::copy_from_slice(body);
    let _ = RequestKind::decode(api.key, &mut bytes, version);
}
