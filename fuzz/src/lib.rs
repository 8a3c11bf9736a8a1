//! The bodies of Wharf's fuzz targets, kept in a library so that the same code runs under
//! libFuzzer (`fuzz_targets/*.rs` are one-line wrappers) and under plain `cargo test` on stable,
//! which replays the committed corpus and every saved regression input.
//!
//! Each target feeds untrusted bytes to one parser or recovery path and checks the invariants
//! that path promises, panicking when one is broken; a panic is what libFuzzer reports as a
//! crash. Nothing here is used by the broker itself.

mod batch_validate;
mod frame_decode;
mod index_rebuild;
mod log_check;
mod log_recovery;
mod request_decode;
mod scratch;
#[cfg(test)]
mod seeds;

pub use batch_validate::batch_validate;
pub use frame_decode::frame_decode;
pub use index_rebuild::index_rebuild;
pub use log_recovery::log_recovery;
pub use request_decode::request_decode;

/// The broker's allocator, as in the `wharf` binary: request decoding asks for what array
/// lengths claim before reading them, and only this allocator survives a claim of 2^31 elements.
#[global_allocator]
static GLOBAL: wharf_broker::alloc::BrokerAllocator = wharf_broker::alloc::BrokerAllocator;

/// A target body: takes one input, panics if an invariant breaks.
pub type Target = fn(&[u8]);

/// Every target by the name of its `fuzz_targets/<name>.rs`, for tools that replay inputs.
pub const TARGETS: [(&str, Target); 5] = [
    ("frame_decode", frame_decode),
    ("batch_validate", batch_validate),
    ("log_recovery", log_recovery),
    ("index_rebuild", index_rebuild),
    ("request_decode", request_decode),
];
