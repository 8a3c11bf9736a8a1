//! Test support, also exported under the `test-util` feature for other crates'
//! tests and fuzz targets: a RecordBatch v2 builder, a fault-injecting storage and
//! a tiny config that makes rolls and full indexes reachable in a few appends.

mod builder;
mod faulty;

pub use builder::BatchBuilder;
pub use faulty::{Fault, FaultyStorage};

use crate::config::LogConfig;

/// A config with tiny segments and indexes so tests roll often. Time-based roll
/// and retention are off unless a test turns them on.
pub fn tiny_config() -> LogConfig {
    LogConfig {
        segment_bytes: 1024,
        segment_ms: i64::MAX,
        index_interval_bytes: 128,
        segment_index_bytes: 96,
        max_message_bytes: 64 * 1024,
        retention_ms: -1,
        retention_bytes: -1,
        ..LogConfig::default()
    }
}
