//! The API versions the bench speaks beyond what `wharf-client` builds itself.
//!
//! Deliberately narrower than what `kafka-protocol` can encode: Produce from v3 (record batch
//! v2) and Fetch up to v11 (v13+ addresses topics by id, which the bench does not track).
//! Each connection picks within these with `Connection::version` (KIP-35).

use kafka_protocol::messages::ApiKey;
use wharf_client::OurRange;

pub const PRODUCE: OurRange = OurRange::new(ApiKey::Produce, 3, 9);
pub const FETCH: OurRange = OurRange::new(ApiKey::Fetch, 4, 11);

/// Client id in every request header of the bench.
pub const CLIENT_ID: &str = "wharf-bench";
