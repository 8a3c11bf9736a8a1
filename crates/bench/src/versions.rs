//! API version negotiation: which version of each API the bench speaks to a given broker.
//!
//! The rule is Kafka's (KIP-35): for every API, use min(our max, broker max), provided that is
//! at least max(our min, broker min). Our ranges are deliberately narrower than what
//! `kafka-protocol` can encode: Produce from v3 (record batch v2) and Fetch up to v11 (v13+
//! addresses topics by id, which the bench does not track). Pure: the broker's ranges come in as
//! an `ApiVersionsResponse`, so tests need no socket.

use kafka_protocol::messages::{ApiKey, ApiVersionsResponse};

use crate::error::BenchError;
use crate::frame::api_name;

/// The ApiVersions version sent first; v3 is what current clients send (flexible versions).
pub const API_VERSIONS_VERSION: i16 = 3;

/// Versions of one API that we are willing to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OurRange {
    pub api_key: ApiKey,
    pub min: i16,
    pub max: i16,
}

pub const PRODUCE: OurRange = OurRange {
    api_key: ApiKey::Produce,
    min: 3,
    max: 9,
};
pub const FETCH: OurRange = OurRange {
    api_key: ApiKey::Fetch,
    min: 4,
    max: 11,
};
pub const METADATA: OurRange = OurRange {
    api_key: ApiKey::Metadata,
    min: 1,
    max: 12,
};
pub const CREATE_TOPICS: OurRange = OurRange {
    api_key: ApiKey::CreateTopics,
    min: 2,
    max: 7,
};

/// The versions chosen for one broker connection. CreateTopics is optional: a broker that does
/// not offer it can still be benchmarked against an existing topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    pub produce: i16,
    pub fetch: i16,
    pub metadata: i16,
    pub create_topics: Option<i16>,
}

/// Picks min(our max, broker max) for `ours`, failing when the ranges do not overlap or the
/// broker does not list the API at all.
pub fn pick(ours: OurRange, broker: &ApiVersionsResponse) -> Result<i16, BenchError> {
    let unsupported = |broker_range: String| BenchError::UnsupportedVersion {
        api: api_name(ours.api_key),
        ours_min: ours.min,
        ours_max: ours.max,
        broker: broker_range,
    };
    let entry = broker
        .api_keys
        .iter()
        .find(|k| k.api_key == ours.api_key as i16)
        .ok_or_else(|| unsupported("none".to_owned()))?;
    let version = ours.max.min(entry.max_version);
    if version < ours.min.max(entry.min_version) {
        return Err(unsupported(format!("{}..={}", entry.min_version, entry.max_version)));
    }
    Ok(version)
}

/// Chooses every version the bench needs.
pub fn negotiate(broker: &ApiVersionsResponse) -> Result<Negotiated, BenchError> {
    Ok(Negotiated {
        produce: pick(PRODUCE, broker)?,
        fetch: pick(FETCH, broker)?,
        metadata: pick(METADATA, broker)?,
        create_topics: pick(CREATE_TOPICS, broker).ok(),
    })
}

/// The ApiVersions version to retry with after the broker answered UNSUPPORTED_VERSION: the
/// highest one both sides know, per the range the broker put in its (v0-encoded) reply.
pub fn api_versions_retry(broker: &ApiVersionsResponse) -> Option<i16> {
    let entry = broker
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::ApiVersions as i16)?;
    let version = API_VERSIONS_VERSION.min(entry.max_version);
    (version >= entry.min_version && version >= 0).then_some(version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::api_versions_response::ApiVersion;

    fn broker(ranges: &[(ApiKey, i16, i16)]) -> ApiVersionsResponse {
        ApiVersionsResponse::default().with_api_keys(
            ranges
                .iter()
                .map(|&(key, min, max)| {
                    ApiVersion::default()
                        .with_api_key(key as i16)
                        .with_min_version(min)
                        .with_max_version(max)
                })
                .collect(),
        )
    }

    #[test]
    fn negotiate_newer_broker_uses_our_max() {
        let b = broker(&[
            (ApiKey::Produce, 3, 13),
            (ApiKey::Fetch, 4, 18),
            (ApiKey::Metadata, 0, 13),
            (ApiKey::CreateTopics, 2, 7),
        ]);
        let n = negotiate(&b).expect("overlap");
        assert_eq!(n.produce, 9);
        assert_eq!(n.fetch, 11);
        assert_eq!(n.metadata, 12);
        assert_eq!(n.create_topics, Some(7));
    }

    #[test]
    fn negotiate_older_broker_uses_broker_max() {
        let b = broker(&[(ApiKey::Produce, 0, 7), (ApiKey::Fetch, 0, 6), (ApiKey::Metadata, 0, 5)]);
        let n = negotiate(&b).expect("overlap");
        assert_eq!((n.produce, n.fetch, n.metadata), (7, 6, 5));
        assert_eq!(n.create_topics, None, "missing CreateTopics is not fatal");
    }

    #[test]
    fn pick_without_overlap_fails_naming_the_api() {
        let b = broker(&[(ApiKey::Produce, 0, 2)]);
        let err = pick(PRODUCE, &b).expect_err("no overlap");
        assert!(err.to_string().contains("Produce"), "{err}");
        let b = broker(&[(ApiKey::Fetch, 12, 18)]);
        assert!(pick(FETCH, &b).is_err(), "broker min above our max");
    }

    #[test]
    fn pick_missing_api_fails() {
        assert!(pick(FETCH, &broker(&[])).is_err());
    }

    #[test]
    fn api_versions_retry_uses_broker_range() {
        assert_eq!(api_versions_retry(&broker(&[(ApiKey::ApiVersions, 0, 2)])), Some(2));
        assert_eq!(api_versions_retry(&broker(&[(ApiKey::ApiVersions, 0, 4)])), Some(3));
        assert_eq!(api_versions_retry(&broker(&[])), None);
    }
}
