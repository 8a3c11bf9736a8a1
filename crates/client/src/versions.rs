//! API version negotiation: which version of an API to speak to a given broker.
//!
//! The rule is Kafka's (KIP-35): for every API, use min(our max, broker max), provided that is
//! at least max(our min, broker min). Each user of this crate declares the range it speaks per
//! API as an [`OurRange`] (the bench, for instance, stops Fetch at v11 because v13+ addresses
//! topics by id); the ranges of the requests this crate builds itself are below. Pure: the
//! broker's ranges come in as an `ApiVersionsResponse`, so tests need no socket.

use kafka_protocol::messages::{ApiKey, ApiVersionsResponse};

use crate::error::ClientError;

/// The ApiVersions version sent first; v3 is what current clients send (flexible versions).
pub const API_VERSIONS_VERSION: i16 = 3;

/// Versions of one API that we are willing to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OurRange {
    pub api_key: ApiKey,
    pub min: i16,
    pub max: i16,
}

impl OurRange {
    pub const fn new(api_key: ApiKey, min: i16, max: i16) -> Self {
        OurRange { api_key, min, max }
    }
}

/// Metadata by topic name; v1 is the first with null for "all topics", v12 the last before
/// KIP-516 topic-id-only lookups matter to us.
pub const METADATA: OurRange = OurRange::new(ApiKey::Metadata, 1, 12);
/// FindCoordinator up to v3 (one key per request; v4 batches keys, KIP-699).
pub const FIND_COORDINATOR: OurRange = OurRange::new(ApiKey::FindCoordinator, 0, 3);
/// ListOffsets from v1 (a single offset per partition, not v0's list).
pub const LIST_OFFSETS: OurRange = OurRange::new(ApiKey::ListOffsets, 1, 8);
/// Produce from v3 (record batch v2 only) to v9 (v10+ adds KIP-890 and KIP-516 fields).
pub const PRODUCE: OurRange = OurRange::new(ApiKey::Produce, 3, 9);
/// InitProducerId for idempotent producing: v0–v4 carry what a non-transactional producer sends.
pub const INIT_PRODUCER_ID: OurRange = OurRange::new(ApiKey::InitProducerId, 0, 4);
/// Fetch from v4 (record batch v2, last stable offset) to v11: v13+ addresses topics by id,
/// which would need a topic-id map this crate does not keep.
pub const FETCH: OurRange = OurRange::new(ApiKey::Fetch, 4, 11);
/// CreateTopics from v2, the oldest Kafka 4 still accepts.
pub const CREATE_TOPICS: OurRange = OurRange::new(ApiKey::CreateTopics, 2, 7);

/// Picks min(our max, broker max) for `ours`, failing when the ranges do not overlap or the
/// broker does not list the API at all.
pub fn pick(ours: OurRange, broker: &ApiVersionsResponse) -> Result<i16, ClientError> {
    let unsupported = |broker_range: String| ClientError::UnsupportedVersion {
        api: ours.api_key,
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
pub(crate) mod tests {
    use super::*;
    use kafka_protocol::messages::api_versions_response::ApiVersion;

    pub(crate) fn broker(ranges: &[(ApiKey, i16, i16)]) -> ApiVersionsResponse {
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
    fn pick_newer_broker_uses_our_max() {
        let b = broker(&[(ApiKey::Metadata, 0, 13), (ApiKey::CreateTopics, 2, 7)]);
        assert_eq!(pick(METADATA, &b).expect("overlap"), 12);
        assert_eq!(pick(CREATE_TOPICS, &b).expect("overlap"), 7);
    }

    #[test]
    fn pick_older_broker_uses_broker_max() {
        let b = broker(&[(ApiKey::Metadata, 0, 5)]);
        assert_eq!(pick(METADATA, &b).expect("overlap"), 5);
    }

    #[test]
    fn pick_without_overlap_fails_naming_the_api() {
        let b = broker(&[(ApiKey::ListOffsets, 0, 0)]);
        let err = pick(LIST_OFFSETS, &b).expect_err("no overlap");
        assert!(err.to_string().contains("ListOffsets"), "{err}");
        let b = broker(&[(ApiKey::Metadata, 13, 18)]);
        assert!(pick(METADATA, &b).is_err(), "broker min above our max");
    }

    #[test]
    fn pick_missing_api_fails() {
        assert!(pick(METADATA, &broker(&[])).is_err());
    }

    #[test]
    fn api_versions_retry_uses_broker_range() {
        assert_eq!(api_versions_retry(&broker(&[(ApiKey::ApiVersions, 0, 2)])), Some(2));
        assert_eq!(api_versions_retry(&broker(&[(ApiKey::ApiVersions, 0, 4)])), Some(3));
        assert_eq!(api_versions_retry(&broker(&[])), None);
    }
}
