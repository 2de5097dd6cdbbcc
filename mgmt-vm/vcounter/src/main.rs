//! Prints the virtual counter `CNTVCT_EL0` and its frequency `CNTFRQ_EL0` as
//!
//! ```text
//! cordon-mgmt-vm: virtual counter <ticks> ticks at <hz> Hz
//! ```
//!
//! The counter starts at zero when the machine resets and, as long as the
//! hypervisor leaves `CNTVOFF_EL2` at zero, the guest sees the same count: so
//! `ticks / hz` is the time since reset, under a hypervisor or not. With
//! QEMU's `-icount` it is virtual time, the same from run to run.
//!
//! Linux lets EL0 read both registers (it sets `CNTKCTL_EL1.EL0VCTEN` for the
//! vDSO), so a plain user program can.

#[cfg(not(target_arch = "aarch64"))]
compile_error!(
    "cordon-vcounter reads aarch64 system registers: build it with --target aarch64-unknown-linux-musl"
);

use std::arch::asm;

fn main() {
    let ticks: u64;
    let frequency: u64;
    // SAFETY: reading the counter registers has no side effects; the ISB
    // keeps the read from happening before the instructions that precede it.
    unsafe {
        asm!("isb", "mrs {}, cntvct_el0", out(reg) ticks, options(nomem, nostack));
        asm!("mrs {}, cntfrq_el0", out(reg) frequency, options(nomem, nostack));
    }
    println!("cordon-mgmt-vm: virtual counter {ticks} ticks at {frequency} Hz");
}
