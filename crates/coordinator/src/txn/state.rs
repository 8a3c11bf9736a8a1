//! What the transaction coordinator knows of one transactional id (Kafka's TransactionMetadata),
//! its errors and its bounds.

use std::collections::BTreeSet;

/// Kafka's TransactionState, minus the Dead and PrepareEpochFence states (an epoch fence is a
/// PrepareAbort with the bumped epoch here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnStatus {
    /// Producer id assigned; no transaction yet.
    Empty,
    /// Partitions or offsets added; markers not yet decided.
    Ongoing,
    /// EndTxn(commit) accepted and durable; markers being written.
    PrepareCommit,
    /// EndTxn(abort), a timeout, or a newer producer fenced the transaction; markers being written.
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
}

impl TxnStatus {
    /// The name Kafka's DescribeTransactions / ListTransactions use.
    pub fn name(self) -> &'static str {
        match self {
            TxnStatus::Empty => "Empty",
            TxnStatus::Ongoing => "Ongoing",
            TxnStatus::PrepareCommit => "PrepareCommit",
            TxnStatus::PrepareAbort => "PrepareAbort",
            TxnStatus::CompleteCommit => "CompleteCommit",
            TxnStatus::CompleteAbort => "CompleteAbort",
        }
    }

    pub fn is_preparing(self) -> bool {
        matches!(self, TxnStatus::PrepareCommit | TxnStatus::PrepareAbort)
    }
}

/// An offset committed inside a transaction (TxnOffsetCommit): visible to the group only when
/// the transaction commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingOffset {
    pub group_id: String,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnMetadata {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// transaction.timeout.ms the producer asked for in InitProducerId.
    pub timeout_ms: i32,
    pub status: TxnStatus,
    /// Broker clock (ms) when the current transaction became Ongoing.
    pub start_ms: i64,
    /// Broker clock (ms) of the last change; transactional.id.expiration.ms counts from here.
    pub last_update_ms: i64,
    /// Topic partitions added to the current transaction (AddPartitionsToTxn).
    pub partitions: BTreeSet<(String, i32)>,
    /// Groups added to the current transaction (AddOffsetsToTxn).
    pub groups: BTreeSet<String>,
    /// Offsets committed in the current transaction; at most one per (group, topic, partition).
    pub offsets: Vec<PendingOffset>,
}

impl TxnMetadata {
    pub fn new(transactional_id: String, producer_id: i64, producer_epoch: i16, timeout_ms: i32) -> TxnMetadata {
        TxnMetadata {
            transactional_id,
            producer_id,
            producer_epoch,
            timeout_ms,
            status: TxnStatus::Empty,
            start_ms: -1,
            last_update_ms: -1,
            partitions: BTreeSet::new(),
            groups: BTreeSet::new(),
            offsets: Vec::new(),
        }
    }
}

/// What the caller must do to finish a transaction, in order: write a marker (commit or abort,
/// with `producer_epoch`) to every partition, make the pending offsets visible if it commits,
/// then call [`crate::TxnCoordinator::complete`]. Doing it twice is harmless (a repeated marker
/// ends nothing, offsets are overwritten with the same values), which is what recovery relies on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub commit: bool,
    pub partitions: Vec<(String, i32)>,
    /// Empty when aborting.
    pub offsets: Vec<PendingOffset>,
}

/// Refusals, named as Kafka's TransactionCoordinator answers them (the broker maps the codes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxnError {
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    #[error("transaction timeout {timeout_ms} ms outside 1..={max_ms}")]
    InvalidTransactionTimeout { timeout_ms: i32, max_ms: i32 },
    #[error("producer id does not match the transactional id")]
    InvalidProducerIdMapping,
    #[error("producer epoch {epoch} is not the current one ({current}): fenced by a newer producer")]
    ProducerFenced { epoch: i16, current: i16 },
    #[error("a previous transaction of this transactional id is still completing")]
    ConcurrentTransactions,
    #[error("cannot {0} in the transaction's current state")]
    InvalidTxnState(&'static str),
    #[error("the coordinator holds its maximum of {0} transactional ids")]
    TransactionalIdLimit(usize),
    #[error("a transaction may hold at most {0} partitions")]
    PartitionLimit(usize),
    #[error("no producer id can be allocated")]
    CoordinatorNotAvailable,
}

/// Bounds of one [`crate::TxnCoordinator`]; docs/LIMITS.md lists them too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnLimits {
    /// transaction.max.timeout.ms: the longest transaction.timeout.ms a producer may ask for.
    /// More gets INVALID_TRANSACTION_TIMEOUT, so no producer can hold back the last stable offset
    /// of its partitions (and every read_committed consumer behind it) for longer.
    pub max_timeout_ms: i32,
    /// Transactional ids held at once. InitProducerId for one more answers
    /// COORDINATOR_NOT_AVAILABLE (retriable).
    pub max_transactional_ids: usize,
    /// Topic partitions plus pending offsets in one transaction. More answers the adding request
    /// with an error for the new partitions (the transaction itself is unharmed).
    pub max_partitions_per_txn: usize,
    /// transactional.id.expiration.ms: an id with no transaction open, unchanged this long, is
    /// forgotten (and tombstoned in the log), so abandoned ids do not fill the coordinator.
    pub transactional_id_expiration_ms: i64,
}

impl Default for TxnLimits {
    fn default() -> Self {
        TxnLimits {
            // Kafka's default transaction.max.timeout.ms: 15 minutes.
            max_timeout_ms: 900_000,
            max_transactional_ids: 100_000,
            max_partitions_per_txn: 100_000,
            // Kafka's default: 7 days.
            transactional_id_expiration_ms: 7 * 24 * 60 * 60 * 1000,
        }
    }
}
