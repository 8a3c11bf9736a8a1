//! Sequential batch scanning over a segment file with chunked positioned reads.
//!
//! Used by recovery (full CRC validation), index rebuilds and fetch/timestamp
//! lookups (headers only). Reading in chunks keeps syscalls per batch well below
//! one for small batches. Allocation is bounded by the chunk size or, for one
//! batch being CRC-checked, by the bytes left in the file (never by a length
//! field alone).

use crate::batch::{batch_size_at, BatchHeader, BATCH_HEADER_BYTES, LOG_OVERHEAD_BYTES, MAGIC_V2};
use crate::storage::StorageFile;
use std::io;

/// Bytes read per chunk when scanning a whole segment (recovery, index rebuild).
pub(crate) const RECOVERY_CHUNK_BYTES: usize = 1024 * 1024;
/// Bytes read per chunk when looking for one batch (fetch, ListOffsets); about
/// one index interval, since lookups start at the nearest index entry.
pub(crate) const LOOKUP_CHUNK_BYTES: usize = 16 * 1024;

/// What the scanner found at a position.
#[derive(Debug)]
pub(crate) enum Scanned {
    /// A batch that passed the requested checks.
    Batch(BatchHeader),
    /// Exactly at the end of the scanned range.
    End,
    /// A batch that is incomplete or fails validation: the valid data ends here.
    Invalid(&'static str),
}

/// Reads batches from `file` within `[.., end)`.
pub(crate) struct BatchScanner<'a> {
    file: &'a dyn StorageFile,
    end: u64,
    chunk: usize,
    buf: Vec<u8>,
    buf_start: u64,
}

impl<'a> BatchScanner<'a> {
    pub(crate) fn new(file: &'a dyn StorageFile, end: u64, chunk: usize) -> Self {
        BatchScanner {
            file,
            end,
            chunk,
            buf: Vec::new(),
            buf_start: 0,
        }
    }

    /// Makes `[position, position + n)` available; the caller has checked it is
    /// within `end`.
    fn ensure(&mut self, position: u64, n: usize) -> io::Result<&[u8]> {
        let have_end = self.buf_start + self.buf.len() as u64;
        if position < self.buf_start || position + n as u64 > have_end {
            let want = (n.max(self.chunk) as u64).min(self.end - position) as usize;
            self.buf.resize(want, 0);
            self.file.read_exact_at(&mut self.buf, position)?;
            self.buf_start = position;
        }
        let at = (position - self.buf_start) as usize;
        Ok(&self.buf[at..at + n])
    }

    /// The `n` bytes at `position`, within the scanned range (after `batch_at` found a batch of
    /// that size there, they are already buffered).
    pub(crate) fn bytes(&mut self, position: u64, n: usize) -> io::Result<&[u8]> {
        if position + n as u64 > self.end {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "past the scanned range"));
        }
        self.ensure(position, n)
    }

    /// Reads the batch at `position`. With `verify_crc` the whole batch is read and
    /// validated (magic, lengths, CRC, counts); otherwise only the header is read
    /// and the magic byte checked.
    pub(crate) fn batch_at(&mut self, position: u64, verify_crc: bool) -> io::Result<Scanned> {
        if position >= self.end {
            return Ok(Scanned::End);
        }
        let left = self.end - position;
        if left < LOG_OVERHEAD_BYTES as u64 {
            return Ok(Scanned::Invalid("incomplete batch length"));
        }
        let Some(size) = batch_size_at(self.ensure(position, LOG_OVERHEAD_BYTES)?) else {
            return Ok(Scanned::Invalid("batchLength smaller than a header"));
        };
        if size as u64 > left {
            return Ok(Scanned::Invalid("incomplete batch"));
        }
        if verify_crc {
            let bytes = self.ensure(position, size)?;
            return Ok(match BatchHeader::validate(bytes, position) {
                Ok(h) => Scanned::Batch(h),
                Err(_) => Scanned::Invalid("batch failed validation"),
            });
        }
        let bytes = self.ensure(position, BATCH_HEADER_BYTES)?;
        match BatchHeader::parse(bytes) {
            Ok(h) if h.magic == MAGIC_V2 && h.last_offset_delta >= 0 => Ok(Scanned::Batch(h)),
            _ => Ok(Scanned::Invalid("bad batch header")),
        }
    }
}
