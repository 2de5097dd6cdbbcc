//! The global allocator that refuses every request.
//!
//! The guest never allocates, but `cordon-guest-loader` (whose Image header
//! constants the entry code uses) links the `alloc` crate, which needs an
//! allocator to exist. An allocation would fail and panic, which the panic
//! handler reports.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr;

struct NoAllocator;

// SAFETY: returning null is how an allocator says it has no memory.
unsafe impl GlobalAlloc for NoAllocator {
    unsafe fn alloc(&self, _layout: Layout) -> *mut u8 {
        ptr::null_mut()
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static ALLOCATOR: NoAllocator = NoAllocator;
