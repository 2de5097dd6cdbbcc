//! Device register access the guest expects to work (its console).
//!
//! Written as single `ldr`/`str` instructions without writeback, so that an
//! access cordon traps carries a full syndrome and can be emulated (a
//! compiler-chosen form with writeback would not).

use core::arch::asm;

/// Reads the 32-bit register at `addr`.
///
/// # Safety
/// `addr` must be a device register of the guest's, 4-byte aligned, whose
/// read has no side effect the caller does not want.
pub unsafe fn read32(addr: u64) -> u32 {
    let value: u32;
    // SAFETY: the caller vouches for the address.
    unsafe {
        asm!("ldr {v:w}, [{a}]", a = in(reg) addr, v = out(reg) value, options(nostack, preserves_flags));
    }
    value
}

/// Writes the 32-bit register at `addr`.
///
/// # Safety
/// As for [`read32`], for a write.
pub unsafe fn write32(addr: u64, value: u32) {
    // SAFETY: the caller vouches for the address.
    unsafe {
        asm!("str {v:w}, [{a}]", a = in(reg) addr, v = in(reg) value, options(nostack, preserves_flags));
    }
}
