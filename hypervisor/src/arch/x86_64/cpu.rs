//! Thin wrappers around the x86 instructions and registers cordon uses:
//! CPUID, MSRs, halting, and which CPU this is.

use core::arch::x86_64::{__cpuid_count, CpuidResult};

use x86_64::VirtAddr;
use x86_64::instructions::port::PortWriteOnly;
use x86_64::registers::model_specific::{GsBase, Msr};

/// The POST diagnostic port: a write to it takes about a microsecond on PC
/// hardware and has no other effect, the classic short delay.
const DELAY_PORT: u16 = 0x80;

/// CPUID `leaf`/`subleaf`.
pub fn cpuid(leaf: u32, subleaf: u32) -> CpuidResult {
    __cpuid_count(leaf, subleaf)
}

/// Reads the MSR `index`.
///
/// # Safety
/// The MSR must exist on this CPU (otherwise #GP).
pub unsafe fn read_msr(index: u32) -> u64 {
    // SAFETY: the caller checked the MSR exists; reading has no side effects.
    unsafe { Msr::new(index).read() }
}

/// Writes `value` to the MSR `index`.
///
/// # Safety
/// The MSR must exist, and the write must not break what cordon relies on.
pub unsafe fn write_msr(index: u32, value: u64) {
    // SAFETY: as the caller promised.
    unsafe { Msr::new(index).write(value) }
}

/// Waits about `microseconds` µs (far less under emulation).
pub fn delay_us(microseconds: u32) {
    let mut port = PortWriteOnly::<u8>::new(DELAY_PORT);
    for _ in 0..microseconds {
        // SAFETY: port 0x80 is the POST code port; writes change nothing.
        unsafe { port.write(0) };
    }
}

/// Records this CPU's index (its place in the MADT's list of CPUs); each
/// CPU sets it once at start. Kept in the GS base, which cordon has no
/// other use for.
pub fn set_index(index: usize) {
    GsBase::write(VirtAddr::new(index as u64));
}

/// This CPU's index, as [`set_index`] recorded it.
pub fn index() -> usize {
    GsBase::read().as_u64() as usize
}

/// Stops this CPU for good: interrupts off, halted.
pub fn park() -> ! {
    x86_64::instructions::interrupts::disable();
    loop {
        x86_64::instructions::hlt();
    }
}
