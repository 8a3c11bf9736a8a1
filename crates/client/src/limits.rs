//! Every bound `wharf-client` applies, in one place.
//!
//! A client still reads lengths from the network: the broker (or anything listening on the
//! port) decides the size prefix of each response frame and the element counts inside it, so
//! those are checked against these bounds before anything is reserved for them.

/// Largest response frame accepted, in bytes: 256 MiB of records (five times Kafka's default
/// `fetch.max.bytes` of 50 MiB) plus 1 MiB of headroom for headers and per-partition fields.
/// A larger length prefix fails with `FrameTooLarge` without allocating.
pub const FRAME_BYTES_MAX: usize = (256 << 20) + (1 << 20);

/// Most partitions of one topic this client tracks from Metadata; Kafka's own default
/// ceiling per broker is far below it.
pub const PARTITIONS_MAX: usize = 100_000;

const _: () = assert!(FRAME_BYTES_MAX <= i32::MAX as usize);
