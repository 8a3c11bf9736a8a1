//! Every bound `wharf bench` applies, in one place.
//!
//! The size prefix of each response frame is bounded by `wharf_client::limits::FRAME_BYTES_MAX`;
//! a Fetch response carries at most `--fetch-max-bytes` of records plus small per-partition
//! overhead, so the largest fetch must fit in that frame with [`FRAME_OVERHEAD_BYTES`] to spare.
//! The other bounds keep a mistyped flag from asking for absurd memory or connection counts.

use wharf_client::limits::FRAME_BYTES_MAX;

/// Headroom over the record bytes of a response for headers, topic names and per-partition
/// fields; 1 MiB is generous for the few partitions a bench fetches.
pub const FRAME_OVERHEAD_BYTES: usize = 1 << 20;

/// Largest `--fetch-max-bytes`: 256 MiB, five times Kafka's default `fetch.max.bytes` (50 MiB).
pub const FETCH_BYTES_MAX: i32 = 256 << 20;

/// Largest `--batch-size` (bytes of one record batch). Kafka's default `message.max.bytes` is
/// about 1 MiB; 64 MiB leaves room for brokers configured far above that.
pub const BATCH_BYTES_MAX: usize = 64 << 20;

/// Largest `--message-size`; a single record must fit in a batch.
pub const MESSAGE_BYTES_MAX: usize = BATCH_BYTES_MAX;

/// Smallest `--message-size`: the value prefix holding the send timestamp and sequence number.
pub const MESSAGE_BYTES_MIN: usize = crate::batch::VALUE_PREFIX_BYTES;

/// Largest `--in-flight` (outstanding produce requests per connection). Kafka's Java producer
/// caps `max.in.flight.requests.per.connection` at 5 for idempotence; 1000 is far past the point
/// where more pipelining helps and keeps the in-flight queue small.
pub const IN_FLIGHT_MAX: usize = 1000;

/// Largest `--producers` (producer connections); each is one task and one TCP connection.
pub const PRODUCERS_MAX: usize = 1024;

/// Largest `--partitions` when creating the topic; also the most partitions the bench will
/// track from metadata.
pub const PARTITIONS_MAX: i32 = 10_000;

const _: () = assert!(BATCH_BYTES_MAX < FRAME_BYTES_MAX);
const _: () = assert!(MESSAGE_BYTES_MIN <= MESSAGE_BYTES_MAX);
const _: () = assert!(FETCH_BYTES_MAX as usize + FRAME_OVERHEAD_BYTES <= FRAME_BYTES_MAX);
