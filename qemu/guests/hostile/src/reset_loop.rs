//! Reset-loop mode: every life prints `reset-loop: life` and resets the VM
//! (PSCI SYSTEM_RESET) at once; a test counts the lives in the transcript.
//!
//! Each life also leaves two marks for the next to look for: a word in the
//! RAM below its image (see `entry::TEXT_OFFSET`) and its number in
//! TPIDR_EL1 (a register no code of the guest's uses). cordon restarts a VM
//! from its pristine images, so a mark that survives is reported:
//!
//! ```text
//! hostile: reset-loop: RAM kept from an earlier life (marker at <addr>)
//! hostile: reset-loop: TPIDR_EL1 kept from life <k>
//! ```

use core::arch::asm;
use core::ptr;

use crate::platform::Platform;
use crate::{entry, say, smccc};

/// What a life leaves in RAM ("hstlife!").
const MARKER: u64 = u64::from_le_bytes(*b"hstlife!");
const MARKER_BYTES: u64 = size_of::<u64>() as u64;
/// What a life leaves in TPIDR_EL1: this tag in the top half ("hstl"),
/// its number in the bottom half.
const LIFE_TAG: u64 = 0x6873_746c << 32;
const TAG_MASK: u64 = 0xffff_ffff << 32;

pub fn run(platform: &Platform) -> ! {
    say!("reset-loop: life");
    check_ram(platform);
    let previous = read_tpidr();
    let life = if previous & TAG_MASK == LIFE_TAG {
        let previous = previous & !TAG_MASK;
        say!("hostile: reset-loop: TPIDR_EL1 kept from life {previous}");
        previous + 1
    } else {
        1
    };
    write_tpidr(LIFE_TAG | life);
    smccc::reset()
}

/// Looks for the RAM marker of an earlier life, then leaves this one's.
fn check_ram(platform: &Platform) {
    let below_image = entry::image_start().saturating_sub(platform.ram.start);
    if below_image < MARKER_BYTES {
        return;
    }
    let marker = platform.ram.start as *mut u64;
    // SAFETY: the first word of its RAM, below its image: RAM nothing else
    // uses (the device tree is at the top), 8-byte aligned.
    let found = unsafe { ptr::read_volatile(marker) };
    if found == MARKER {
        say!("hostile: reset-loop: RAM kept from an earlier life (marker at {marker:p})");
    }
    // SAFETY: as above.
    unsafe { ptr::write_volatile(marker, MARKER) };
}

fn read_tpidr() -> u64 {
    let value: u64;
    // SAFETY: reading a software thread ID register has no side effect.
    unsafe { asm!("mrs {}, tpidr_el1", out(reg) value, options(nomem, nostack, preserves_flags)) };
    value
}

fn write_tpidr(value: u64) {
    // SAFETY: nothing in the guest uses TPIDR_EL1.
    unsafe { asm!("msr tpidr_el1, {}", in(reg) value, options(nomem, nostack, preserves_flags)) };
}
