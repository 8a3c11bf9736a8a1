//! The API versions this broker implements — the single table ApiVersions advertises and the
//! dispatcher enforces, so the two can never disagree.
//!
//! Ranges are chosen from what real clients send (see shared/KAFKA_NOTES.md):
//! - Produce starts at 0 although v0–v2 (magic 0/1 message sets) are refused: librdkafka before
//!   2.11.1 derives compression support from Produce v0–v2 being advertised and otherwise falls
//!   back to uncompressed produce (KAFKA-18659).
//! - Fetch starts at 4, the first version that carries RecordBatch v2 and the last stable offset.
//! - InitProducerId stops at 5: v6 is KIP-939's two-phase commit. AddPartitionsToTxn,
//!   AddOffsetsToTxn, EndTxn and TxnOffsetCommit stop at 3: v4 adds KIP-890's
//!   TRANSACTION_ABORTABLE (and AddPartitionsToTxn v4+ is broker-to-broker), v5 its epoch bump per
//!   transaction; librdkafka needs AddPartitionsToTxn 0, AddOffsetsToTxn 0, EndTxn 1.
//! - Nothing above the newest version whose semantics are implemented (e.g. Produce v12+ belongs
//!   to KIP-890 transactions, Fetch v17+ to KIP-853 replica directories).

use kafka_protocol::messages::ApiKey;

/// One implemented API and its inclusive version range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SupportedApi {
    pub key: ApiKey,
    pub min: i16,
    pub max: i16,
}

const fn api(key: ApiKey, min: i16, max: i16) -> SupportedApi {
    SupportedApi { key, min, max }
}

/// Every API the broker answers, in API-key order.
pub const SUPPORTED_APIS: &[SupportedApi] = &[
    api(ApiKey::Produce, 0, 11),
    api(ApiKey::Fetch, 4, 16),
    api(ApiKey::ListOffsets, 1, 8),
    api(ApiKey::Metadata, 0, 12),
    api(ApiKey::OffsetCommit, 2, 9),
    api(ApiKey::OffsetFetch, 1, 9),
    api(ApiKey::FindCoordinator, 0, 4),
    api(ApiKey::JoinGroup, 0, 9),
    api(ApiKey::Heartbeat, 0, 4),
    api(ApiKey::LeaveGroup, 0, 5),
    api(ApiKey::SyncGroup, 0, 5),
    api(ApiKey::DescribeGroups, 0, 6),
    api(ApiKey::ListGroups, 0, 5),
    api(ApiKey::ApiVersions, 0, 3),
    api(ApiKey::CreateTopics, 2, 7),
    api(ApiKey::DeleteTopics, 1, 6),
    api(ApiKey::DeleteRecords, 0, 2),
    api(ApiKey::InitProducerId, 0, 5),
    api(ApiKey::AddPartitionsToTxn, 0, 3),
    api(ApiKey::AddOffsetsToTxn, 0, 3),
    api(ApiKey::EndTxn, 0, 3),
    api(ApiKey::TxnOffsetCommit, 0, 3),
    api(ApiKey::DescribeConfigs, 1, 4),
    api(ApiKey::CreatePartitions, 0, 3),
    api(ApiKey::DeleteGroups, 0, 2),
    api(ApiKey::IncrementalAlterConfigs, 0, 1),
    api(ApiKey::OffsetDelete, 0, 0),
    api(ApiKey::DescribeCluster, 0, 1),
    api(ApiKey::DescribeClientQuotas, 0, 1),
    api(ApiKey::AlterClientQuotas, 0, 1),
    api(ApiKey::ConsumerGroupHeartbeat, 0, 1),
    api(ApiKey::ConsumerGroupDescribe, 0, 1),
    api(ApiKey::DescribeTransactions, 0, 0),
    api(ApiKey::ListTransactions, 0, 1),
];

/// The implemented range for `key`, or `None` if the broker does not implement it.
pub fn supported(key: ApiKey) -> Option<SupportedApi> {
    SUPPORTED_APIS.iter().copied().find(|a| a.key == key)
}

/// True when `version` of `key` is implemented.
pub fn is_supported(key: ApiKey, version: i16) -> bool {
    supported(key).is_some_and(|a| (a.min..=a.max).contains(&version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::protocol::Message;

    #[test]
    fn supported_ranges_within_codec_ranges() {
        for a in SUPPORTED_APIS {
            let codec = a.key.valid_versions();
            assert!(a.min <= a.max, "{:?}", a.key);
            // Produce v0–v2 are advertised on purpose (see the module doc) and refused.
            let min = if a.key == ApiKey::Produce { 3 } else { a.min };
            assert!(codec.min <= min && a.max <= codec.max, "{:?} outside {codec}", a.key);
        }
        let _ = kafka_protocol::messages::ProduceRequest::VERSIONS;
    }

    #[test]
    fn is_supported_respects_bounds() {
        assert!(is_supported(ApiKey::Fetch, 4));
        assert!(!is_supported(ApiKey::Fetch, 3));
        assert!(is_supported(ApiKey::ApiVersions, 3));
        assert!(!is_supported(ApiKey::ApiVersions, 4));
        assert!(is_supported(ApiKey::JoinGroup, 9));
        assert!(is_supported(ApiKey::ConsumerGroupHeartbeat, 1));
        assert!(!is_supported(ApiKey::ConsumerGroupHeartbeat, 2));
    }
}
