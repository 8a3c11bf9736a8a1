//! The one place domain errors become Kafka error codes. Exhaustive matches, so a new error
//! variant forces a decision here.

use kafka_protocol::ResponseError;
use wharf_coordinator::{GroupError, TxnError};
use wharf_log::LogError;

use crate::registry::RegistryError;

/// Error code and message for a partition-scoped log failure.
pub fn log_error(e: &LogError) -> ResponseError {
    match e {
        LogError::MessageTooLarge { .. } => ResponseError::MessageTooLarge,
        LogError::CorruptBatch { .. } => ResponseError::CorruptMessage,
        LogError::InvalidRecord { .. } => ResponseError::InvalidRecord,
        LogError::OutOfOrderSequence { .. } => ResponseError::OutOfOrderSequenceNumber,
        // Kafka answers this, not PRODUCER_FENCED, since 2.7 (KIP-588): clients may recover.
        LogError::InvalidProducerEpoch { .. } => ResponseError::InvalidProducerEpoch,
        LogError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
        LogError::InvalidOffset { .. } => ResponseError::OffsetOutOfRange,
        LogError::StorageFailed { .. }
        | LogError::Io { .. }
        | LogError::SegmentCorrupt { .. }
        | LogError::CheckpointCorrupt { .. } => ResponseError::KafkaStorageError,
        LogError::InvalidConfig { .. } => ResponseError::InvalidConfig,
    }
}

pub fn registry_error(e: &RegistryError) -> ResponseError {
    match e {
        RegistryError::TopicExists(_) => ResponseError::TopicAlreadyExists,
        RegistryError::InvalidTopicName(_) => ResponseError::InvalidTopicException,
        RegistryError::UnknownTopic(_) => ResponseError::UnknownTopicOrPartition,
        RegistryError::InvalidPartitions(_) => ResponseError::InvalidPartitions,
        RegistryError::InvalidConfig(_) => ResponseError::InvalidConfig,
        RegistryError::LimitReached(_) => ResponseError::PolicyViolation,
        RegistryError::Log { source, .. } => log_error(source),
        RegistryError::Io { .. } => ResponseError::KafkaStorageError,
        RegistryError::BadMetadata { .. } => ResponseError::KafkaStorageError,
    }
}

/// Error code for a refused group operation, as Kafka's classic GroupCoordinator answers it.
pub fn group_error(e: &GroupError) -> ResponseError {
    match e {
        GroupError::InvalidGroupId => ResponseError::InvalidGroupId,
        GroupError::InvalidSessionTimeout(_) => ResponseError::InvalidSessionTimeout,
        GroupError::MemberIdRequired { .. } => ResponseError::MemberIdRequired,
        GroupError::UnknownMemberId => ResponseError::UnknownMemberId,
        GroupError::IllegalGeneration => ResponseError::IllegalGeneration,
        GroupError::RebalanceInProgress => ResponseError::RebalanceInProgress,
        GroupError::InconsistentGroupProtocol => ResponseError::InconsistentGroupProtocol,
        GroupError::FencedInstanceId => ResponseError::FencedInstanceId,
        GroupError::GroupMaxSizeReached(_) => ResponseError::GroupMaxSizeReached,
        // Retriable: clients back off and retry until DeleteGroups or expiry makes room.
        GroupError::GroupLimitReached(_) => ResponseError::CoordinatorNotAvailable,
        GroupError::OffsetLimitReached(_) => ResponseError::InvalidCommitOffsetSize,
        GroupError::OffsetMetadataTooLarge { .. } => ResponseError::OffsetMetadataTooLarge,
        GroupError::GroupIdNotFound => ResponseError::GroupIdNotFound,
        GroupError::NonEmptyGroup => ResponseError::NonEmptyGroup,
        GroupError::GroupSubscribedToTopic => ResponseError::GroupSubscribedToTopic,
        GroupError::CoordinatorNotAvailable => ResponseError::CoordinatorNotAvailable,
        GroupError::FencedMemberEpoch => ResponseError::FencedMemberEpoch,
        GroupError::StaleMemberEpoch => ResponseError::StaleMemberEpoch,
        GroupError::UnreleasedInstanceId => ResponseError::UnreleasedInstanceId,
        GroupError::UnsupportedAssignor(_) => ResponseError::UnsupportedAssignor,
        // Kafka: "Group {id} is not a consumer group."
        GroupError::NotConsumerGroup => ResponseError::GroupIdNotFound,
        GroupError::InvalidRequest(_) => ResponseError::InvalidRequest,
    }
}

/// Error code for a refused transaction request. `fenced_code_known`: the request version has
/// PRODUCER_FENCED (added in Kafka 2.7); older versions get INVALID_PRODUCER_EPOCH for it, as
/// Kafka answers them.
pub fn txn_error(e: &TxnError, fenced_code_known: bool) -> ResponseError {
    match e {
        TxnError::InvalidRequest(_) => ResponseError::InvalidRequest,
        TxnError::InvalidTransactionTimeout { .. } => ResponseError::InvalidTransactionTimeout,
        TxnError::InvalidProducerIdMapping => ResponseError::InvalidProducerIdMapping,
        TxnError::ProducerFenced { .. } if fenced_code_known => ResponseError::ProducerFenced,
        TxnError::ProducerFenced { .. } => ResponseError::InvalidProducerEpoch,
        TxnError::ConcurrentTransactions => ResponseError::ConcurrentTransactions,
        TxnError::InvalidTxnState(_) => ResponseError::InvalidTxnState,
        // Retriable: the producer backs off and tries again.
        TxnError::TransactionalIdLimit(_) | TxnError::CoordinatorNotAvailable => ResponseError::CoordinatorNotAvailable,
        // Kafka has no code for this bound; the request is refused as a whole.
        TxnError::PartitionLimit(_) => ResponseError::InvalidRequest,
    }
}
