//! The virtual counter, to wait for a while.

use core::arch::asm;

fn read_frequency() -> u64 {
    let frequency: u64;
    // SAFETY: reading the counter frequency has no side effect.
    unsafe {
        asm!("mrs {}, cntfrq_el0", out(reg) frequency, options(nomem, nostack, preserves_flags))
    };
    frequency
}

fn now() -> u64 {
    let count: u64;
    // SAFETY: reading the virtual counter has no side effect.
    unsafe {
        asm!("isb", "mrs {}, cntvct_el0", out(reg) count, options(nomem, nostack, preserves_flags))
    };
    count
}

/// Calls `poll` until it returns `Some` or `micros` microseconds pass.
pub fn poll_for<T>(micros: u64, mut poll: impl FnMut() -> Option<T>) -> Option<T> {
    const MICROS_PER_SECOND: u64 = 1_000_000;
    let ticks = read_frequency().saturating_mul(micros) / MICROS_PER_SECOND;
    let start = now();
    loop {
        if let Some(value) = poll() {
            return Some(value);
        }
        if now().wrapping_sub(start) >= ticks {
            return None;
        }
    }
}
