//! `frame_decode`: the request framing of `wharf_broker::frame::FrameDecoder` on an arbitrary
//! byte stream delivered in arbitrary chunks, the way TCP may split it.
//!
//! Input: `[max_hi, max_lo, chunk_seed, stream...]`. `max_frame_bytes` is the big-endian u16,
//! except 0xFFFF, which stands for the largest limit the broker config accepts (1 GiB), so
//! prefixes near i32::MAX meet a real limit. Nothing larger: the decoder reserves whatever the
//! limit allows, and under AddressSanitizer a 2 GiB reservation is reported as out-of-memory.
//! `chunk_seed` 0 delivers the stream in one piece; otherwise chunks of 1..=chunk_seed bytes
//! follow a small deterministic generator, so the fuzzer controls the split through one byte.
//!
//! Invariants: no frame exceeds the limit; the frames decoded so far, each with its size prefix
//! put back, followed by the still-buffered bytes, are exactly the bytes delivered so far; the
//! decoder waits (`Ok(None)`) only when no whole frame is buffered and never consumes then; it
//! fails only on a negative or over-limit prefix, with that prefix in the error, without
//! consuming or allocating, and the stream is abandoned there as the broker closes the
//! connection.

use bytes::BytesMut;
use wharf_broker::config::MAX_FRAME_BYTES_CEILING;
use wharf_broker::frame::{FrameDecoder, FrameError};

pub fn frame_decode(data: &[u8]) {
    let (max_frame_bytes, chunk_seed, stream) = match data {
        [hi, lo, seed, rest @ ..] => {
            let max = match u16::from_be_bytes([*hi, *lo]) {
                u16::MAX => MAX_FRAME_BYTES_CEILING,
                max => u32::from(max),
            };
            (max, *seed, rest)
        }
        _ => (1024, 0, data),
    };
    let decoder = FrameDecoder { max_frame_bytes };
    let mut buf = BytesMut::new();
    let mut rebuilt = Vec::with_capacity(stream.len());
    let mut fed = 0usize;
    let mut chunks = ChunkSizes::new(chunk_seed);
    while fed < stream.len() {
        let end = (fed + chunks.next_size(stream.len())).min(stream.len());
        buf.extend_from_slice(&stream[fed..end]);
        fed = end;
        if !drain_frames(&decoder, &mut buf, &mut rebuilt) {
            return;
        }
        rebuilt.extend_from_slice(&buf);
        assert_eq!(
            rebuilt,
            &stream[..fed],
            "frames plus buffered bytes differ from the input"
        );
        rebuilt.truncate(rebuilt.len() - buf.len());
    }
}

/// Decodes every whole frame in `buf`, appending each (size prefix included) to `rebuilt`.
/// Returns false once the decoder rejected a prefix, i.e. the connection would be closed.
fn drain_frames(decoder: &FrameDecoder, buf: &mut BytesMut, rebuilt: &mut Vec<u8>) -> bool {
    loop {
        let len_before = buf.len();
        let capacity_before = buf.capacity();
        let prefix = (len_before >= 4).then(|| i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]));
        match decoder.decode(buf) {
            Ok(Some(frame)) => {
                let size = prefix.expect("a frame was decoded, so a prefix was buffered");
                assert_eq!(
                    i64::from(size),
                    frame.len() as i64,
                    "frame length differs from its prefix"
                );
                assert!(
                    frame.len() as u64 <= u64::from(decoder.max_frame_bytes),
                    "frame over the limit"
                );
                assert_eq!(
                    buf.len(),
                    len_before - 4 - frame.len(),
                    "decode consumed the wrong amount"
                );
                rebuilt.extend_from_slice(&size.to_be_bytes());
                rebuilt.extend_from_slice(&frame);
            }
            Ok(None) => {
                assert_eq!(buf.len(), len_before, "waiting for more bytes consumed some");
                if let Some(size) = prefix {
                    assert!(
                        size >= 0 && size as u32 <= decoder.max_frame_bytes,
                        "bad prefix {size} accepted"
                    );
                    assert!(
                        len_before < 4 + size as usize,
                        "a whole frame was buffered but not returned"
                    );
                }
                return true;
            }
            Err(e) => {
                let size = prefix.expect("an error needs a prefix to judge");
                let expected = if size < 0 {
                    FrameError::Negative { size }
                } else {
                    FrameError::TooLarge {
                        size: i64::from(size),
                        max: decoder.max_frame_bytes,
                    }
                };
                assert!(
                    size < 0 || size as u32 > decoder.max_frame_bytes,
                    "prefix {size} rejected"
                );
                assert_eq!(e, expected);
                assert_eq!(buf.len(), len_before, "a rejected prefix was consumed");
                assert_eq!(
                    buf.capacity(),
                    capacity_before,
                    "a rejected prefix caused an allocation"
                );
                return false;
            }
        }
    }
}

/// Chunk sizes from a xorshift generator seeded by one input byte; 0 means "everything at once".
struct ChunkSizes {
    seed: u8,
    state: u32,
}

impl ChunkSizes {
    fn new(seed: u8) -> ChunkSizes {
        ChunkSizes {
            seed,
            state: 0x9E37_79B9 ^ u32::from(seed),
        }
    }

    fn next_size(&mut self, whole: usize) -> usize {
        if self.seed == 0 {
            return whole;
        }
        self.state ^= self.state << 13;
        self.state ^= self.state >> 17;
        self.state ^= self.state << 5;
        1 + (self.state % u32::from(self.seed)) as usize
    }
}
