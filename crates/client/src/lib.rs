//! `wharf-client`: a small Kafka-protocol client shared by `wharf bench` and the `wharf`
//! command-line tools (topic, group, produce, consume). It works against any Kafka-compatible
//! broker, not only Wharf.
//!
//! Message types and record batches come from the `kafka-protocol` crate; this crate owns
//! framing (`frame`: length prefix, headers, size bound), the connection (`conn`: TCP,
//! ApiVersions handshake, one call at a time or split for pipelining), version choice
//! (`versions`, KIP-35), the cluster view (`cluster`: metadata, leaders, coordinators, offsets
//! by time), group offsets and assignments (`groups`), group membership (`member`: join,
//! sync, heartbeat, leave, range assignor) and splitting fetched records into batches (`batches`). What it does not do: SASL,
//! TLS, idempotent or transactional producing, KIP-848 consumer groups, or retries beyond the
//! transient waits `cluster` documents.

// Issue #6: network-facing code never unwraps or panics; each `expect` left is a documented
// invariant, allowed where it stands.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod batches;
pub mod cluster;
pub mod conn;
pub mod error;
pub mod frame;
pub mod groups;
pub mod limits;
pub mod member;
pub mod records;
pub mod versions;

pub use cluster::{Cluster, PartitionLeader};
pub use conn::Connection;
pub use error::{check_code, check_response, error_name, ClientError};
pub use versions::OurRange;
