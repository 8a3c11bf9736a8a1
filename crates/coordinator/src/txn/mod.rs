//! The transaction coordinator (KIP-98): transactional ids, their producer ids and epochs, and
//! the two-phase end of each transaction, as a pure state machine (`coordinator.rs`) whose state
//! changes are records of the internal `__transaction_state` log (`record.rs`).

mod coordinator;
mod group_offsets;
mod record;
mod state;

#[cfg(test)]
mod tests;

pub use coordinator::{EndResult, InitResult, TxnCoordinator};
pub use record::record_key;
pub use state::{Completion, PendingOffset, TxnError, TxnLimits, TxnMetadata, TxnStatus};
