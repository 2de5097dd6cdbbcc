//! Memory for VMX structures and guests, from cordon's heap: zeroed,
//! aligned, identity-mapped (so an address is its own physical address),
//! and never given back.

use alloc::alloc::{Layout, alloc_zeroed};

use super::ept::{ENTRIES, Frames, PAGE_SIZE};

/// `size` zeroed bytes aligned to `align`, for good; `None` if the heap
/// has no such block.
pub fn allocate(size: u64, align: u64) -> Option<u64> {
    let layout = Layout::from_size_align(size as usize, align as usize).ok()?;
    // SAFETY: the layout has a non-zero size (every caller asks for pages).
    let block = unsafe { alloc_zeroed(layout) };
    (!block.is_null()).then_some(block as u64)
}

/// A zeroed 4 KiB page (VMXON region, VMCS, EPT table).
pub fn allocate_page() -> Option<u64> {
    allocate(PAGE_SIZE, PAGE_SIZE)
}

/// EPT tables from the heap.
pub struct HeapFrames;

impl Frames for HeapFrames {
    fn allocate(&mut self) -> Option<u64> {
        allocate_page()
    }

    fn table(&mut self, address: u64) -> &mut [u64; ENTRIES] {
        // SAFETY: `address` came from `allocate` above: an identity-mapped,
        // page-aligned table that only this EPT uses.
        unsafe { &mut *(address as *mut [u64; ENTRIES]) }
    }
}
