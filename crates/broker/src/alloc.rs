//! The process allocator for the `wharf` binary (and the fuzz targets): the system allocator,
//! except that very large allocations are served by `mmap(MAP_NORESERVE)` so that asking for
//! them never aborts the broker. Installed with `#[global_allocator]` by the binaries, not here.
//!
//! Why: the `kafka-protocol` 0.18 request decoders size a `Vec` from an array length read off the
//! wire before reading any element (`Vec::with_capacity(n)`, upstream issue kafka-protocol-rs #152,
//! fixes unmerged). A 19-byte Metadata request claiming 2^31 topics asks for 154 GB; the system
//! allocator refuses (the kernel's overcommit heuristic) and Rust aborts the process. Served
//! from a `MAP_NORESERVE` mapping, the same request gets address space that is never touched: the
//! decoder fails at the end of the (small) frame, the vector is dropped, the mapping unmapped, and
//! the connection gets its error. Memory that is touched is still bounded by what the frame
//! holds; `max_frame_bytes` bounds that.
//!
//! Only allocations of at least [`LARGE_BYTES`] take this path (none of the broker's own
//! allocations do with default settings; one that did would simply be committed lazily, which is
//! correct for any allocation). Everything else goes to the system allocator unchanged.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::c_void;

/// Allocations at least this large are mapped with `MAP_NORESERVE` instead of `malloc`ed.
pub const LARGE_BYTES: usize = 1 << 30;

/// Page alignment `mmap` guarantees; larger alignments fall back to the system allocator.
const PAGE_BYTES: usize = 4096;

pub struct BrokerAllocator;

fn is_large(layout: &Layout) -> bool {
    layout.size() >= LARGE_BYTES && layout.align() <= PAGE_BYTES
}

fn map(size: usize) -> *mut u8 {
    use rustix::mm::{mmap_anonymous, MapFlags, ProtFlags};
    // SAFETY: a fresh anonymous private mapping at an address the kernel chooses; it aliases
    // nothing. Failure is returned as null, which `GlobalAlloc` callers handle.
    let mapped = unsafe {
        mmap_anonymous(
            std::ptr::null_mut(),
            size,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::PRIVATE | MapFlags::NORESERVE,
        )
    };
    mapped.map_or(std::ptr::null_mut(), |p| p.cast())
}

// SAFETY: every path returns memory satisfying `layout` (mmap returns page-aligned, zeroed memory
// and `is_large` admits only alignments up to a page) or null; `dealloc` and `realloc` route a
// pointer back to the allocator that produced it, decided by the same `is_large(layout)` test on
// the layout the caller must pass back unchanged.
unsafe impl GlobalAlloc for BrokerAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_large(&layout) {
            return map(layout.size());
        }
        // SAFETY: forwarded with the caller's guarantees (non-zero size).
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_large(&layout) {
            return map(layout.size()); // anonymous mappings are zero-filled
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_large(&layout) {
            // SAFETY: `ptr` came from `map(layout.size())` (same layout, same test) and is not
            // used after this call. munmap only fails for arguments that cannot occur here.
            let _ = unsafe { rustix::mm::munmap(ptr.cast::<c_void>(), layout.size()) };
            return;
        }
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY (for the constructor): `GlobalAlloc::realloc` requires `new_size`, rounded up
        // to `layout.align()`, not to overflow isize, so the layout is valid.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if !is_large(&layout) && !is_large(&new_layout) {
            // SAFETY: both old and new blocks belong to `System`.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: allocate, copy the smaller of the two sizes, free the old block: each call with
        // the layout its allocator expects.
        unsafe {
            let new = self.alloc(new_layout);
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_claim_is_served_without_committing_memory() {
        // 2^31 elements of 72 bytes: what a 19-byte Metadata request made the decoder ask for.
        let layout = Layout::from_size_align(154_618_822_584, 8).expect("layout");
        let a = BrokerAllocator;
        // SAFETY: non-zero size; freed with the same layout; only the first page is touched.
        unsafe {
            let p = a.alloc(layout);
            assert!(!p.is_null(), "a NORESERVE mapping of 154 GB is address space only");
            p.write(7);
            assert_eq!(p.read(), 7);
            a.dealloc(p, layout);
        }
    }

    #[test]
    fn growth_across_the_threshold_keeps_contents() {
        let a = BrokerAllocator;
        let small = Layout::from_size_align(64, 8).expect("layout");
        // SAFETY: each block is used within its size and freed with its final layout.
        unsafe {
            let p = a.alloc(small);
            std::ptr::write_bytes(p, 0xAB, 64);
            let q = a.realloc(p, small, LARGE_BYTES);
            assert!(!q.is_null());
            assert_eq!(std::slice::from_raw_parts(q, 64), &[0xAB; 64][..]);
            let large = Layout::from_size_align(LARGE_BYTES, 8).expect("layout");
            let r = a.realloc(q, large, 128);
            assert_eq!(std::slice::from_raw_parts(r, 64), &[0xAB; 64][..]);
            a.dealloc(r, Layout::from_size_align(128, 8).expect("layout"));
        }
    }
}
