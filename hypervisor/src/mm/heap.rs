//! cordon's heap: a buddy allocator over a block of free RAM.

use buddy_system_allocator::LockedHeap;

use super::region::PhysRange;

/// Bytes of RAM given to the heap at boot.
pub const HEAP_SIZE: u64 = 8 << 20;
/// Orders of the heap's buddy allocator (largest block 2^31 bytes).
const HEAP_ORDER: usize = 32;

#[global_allocator]
static HEAP: LockedHeap<HEAP_ORDER> = LockedHeap::empty();

/// Hands `range` (identity-mapped, otherwise unused RAM) to the heap.
///
/// # Safety
/// `range` must be mapped read-write and used by nothing else, ever.
pub unsafe fn init(range: PhysRange) {
    // SAFETY: the caller gives the range to the heap for good.
    unsafe {
        HEAP.lock()
            .init(range.start as usize, range.size() as usize);
    }
}
