//! Kafka request framing: a 4-byte big-endian size, then that many bytes.
//!
//! Sans-I/O: [`FrameDecoder::decode`] looks at buffered bytes and returns a whole frame or asks
//! for more. The size prefix is checked against the frame limit *before* anything is reserved, so
//! a client's length prefix never decides how much the broker allocates.

use bytes::{Buf, Bytes, BytesMut};

/// A length prefix the broker refuses to honour; the connection is closed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("frame of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge { size: i64, max: u32 },
    #[error("negative frame size {size}")]
    Negative { size: i32 },
}

/// Splits a byte stream into request frames no larger than `max_frame_bytes`.
#[derive(Debug, Clone, Copy)]
pub struct FrameDecoder {
    pub max_frame_bytes: u32,
}

impl FrameDecoder {
    /// Returns the next whole frame (without its size prefix) if `buf` holds one, else `None`,
    /// reserving room for the announced frame only once the prefix passed the limit.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        if buf.len() < 4 {
            return Ok(None);
        }
        let size = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
        if size < 0 {
            return Err(FrameError::Negative { size });
        }
        if size as u32 > self.max_frame_bytes {
            return Err(FrameError::TooLarge {
                size: size as i64,
                max: self.max_frame_bytes,
            });
        }
        let total = 4 + size as usize;
        if buf.len() < total {
            buf.reserve(total - buf.len());
            return Ok(None);
        }
        buf.advance(4);
        Ok(Some(buf.split_to(size as usize).freeze()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(body: &[u8]) -> BytesMut {
        let mut b = BytesMut::new();
        b.extend_from_slice(&(body.len() as i32).to_be_bytes());
        b.extend_from_slice(body);
        b
    }

    #[test]
    fn decode_partial_frame_waits() {
        let d = FrameDecoder { max_frame_bytes: 100 };
        let mut b = framed(b"hello");
        b.truncate(6);
        assert_eq!(d.decode(&mut b), Ok(None));
        assert_eq!(b.len(), 6);
    }

    #[test]
    fn decode_two_frames_in_order() {
        let d = FrameDecoder { max_frame_bytes: 100 };
        let mut b = framed(b"one");
        b.extend_from_slice(&framed(b"two"));
        assert_eq!(d.decode(&mut b).unwrap().unwrap().as_ref(), b"one");
        assert_eq!(d.decode(&mut b).unwrap().unwrap().as_ref(), b"two");
        assert_eq!(d.decode(&mut b), Ok(None));
    }

    #[test]
    fn decode_exactly_max_passes() {
        let d = FrameDecoder { max_frame_bytes: 8 };
        let mut b = framed(&[7u8; 8]);
        assert_eq!(d.decode(&mut b).unwrap().unwrap().len(), 8);
    }

    #[test]
    fn decode_max_plus_one_rejected_before_allocating() {
        let d = FrameDecoder { max_frame_bytes: 8 };
        let mut b = BytesMut::from(&9i32.to_be_bytes()[..]);
        let cap = b.capacity();
        assert_eq!(d.decode(&mut b), Err(FrameError::TooLarge { size: 9, max: 8 }));
        assert_eq!(b.capacity(), cap);
    }

    #[test]
    fn decode_huge_prefix_rejected() {
        let d = FrameDecoder {
            max_frame_bytes: 100 * 1024 * 1024,
        };
        let mut b = BytesMut::from(&i32::MAX.to_be_bytes()[..]);
        assert!(matches!(d.decode(&mut b), Err(FrameError::TooLarge { .. })));
        let mut n = BytesMut::from(&(-1i32).to_be_bytes()[..]);
        assert_eq!(d.decode(&mut n), Err(FrameError::Negative { size: -1 }));
    }
}
