//! Thin wrappers over AArch64 registers and instructions cordon needs on
//! every CPU.

use aarch64_cpu::asm;
use aarch64_cpu::registers::{
    CNTFRQ_EL0, CNTPCT_EL0, CurrentEL, ID_AA64MMFR0_EL1, MPIDR_EL1, TPIDR_EL2,
};
use tock_registers::interfaces::{Readable, Writeable};

/// Exception level the CPU is running at.
pub fn current_el() -> u8 {
    CurrentEL.read(CurrentEL::EL) as u8
}

pub fn mpidr() -> u64 {
    MPIDR_EL1.get()
}

/// This CPU's logical number (kept in TPIDR_EL2).
pub fn id() -> usize {
    TPIDR_EL2.get() as usize
}

/// Records this CPU's logical number. Only at EL2.
pub fn set_id(id: usize) {
    TPIDR_EL2.set(id as u64);
}

pub fn wait_for_event() {
    asm::wfe();
}

pub fn send_event() {
    asm::sev();
}

/// Generic timer count and its frequency in Hz.
pub fn counter() -> (u64, u64) {
    (CNTPCT_EL0.get(), CNTFRQ_EL0.get())
}

/// Physical address size: (bits, ID_AA64MMFR0_EL1.PARange encoding).
pub fn physical_address_bits() -> (u32, u64) {
    const BITS: [u32; 7] = [32, 36, 40, 42, 44, 48, 52];
    let field = ID_AA64MMFR0_EL1.read(ID_AA64MMFR0_EL1::PARange);
    let bits = BITS.get(field as usize).copied().unwrap_or(48);
    (bits, field)
}

/// Bytes in the smallest data cache line (CTR_EL0.DminLine).
fn dcache_line_size() -> usize {
    let ctr: u64;
    // SAFETY: reading CTR_EL0 has no side effects.
    unsafe { core::arch::asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
    4 << ((ctr >> 16) & 0xf)
}

/// Cleans and invalidates `[start, start + len)` to the point of coherency,
/// so that a CPU running with its MMU off sees what this one wrote.
pub fn clean_dcache_range(start: usize, len: usize) {
    let line = dcache_line_size();
    let mut addr = start & !(line - 1);
    while addr < start + len {
        // SAFETY: cache maintenance by address does not change memory contents.
        unsafe { core::arch::asm!("dc civac, {}", in(reg) addr, options(nostack)) };
        addr += line;
    }
    asm::barrier::dsb(asm::barrier::SY);
}

/// Invalidates `[start, start + len)` from the data caches without writing
/// back: for memory that was written with the MMU (and caches) off.
///
/// # Safety
/// Dirty cache lines in the range are discarded.
pub unsafe fn invalidate_dcache_range(start: usize, len: usize) {
    let line = dcache_line_size();
    let mut addr = start & !(line - 1);
    while addr < start + len {
        // SAFETY: the caller accepts losing dirty lines in the range.
        unsafe { core::arch::asm!("dc ivac, {}", in(reg) addr, options(nostack)) };
        addr += line;
    }
    asm::barrier::dsb(asm::barrier::SY);
}
