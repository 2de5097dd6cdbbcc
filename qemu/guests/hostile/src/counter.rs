//! The virtual counter: to wait for a while, and to time things.

use core::arch::asm;

const MICROS_PER_SECOND: u64 = 1_000_000;
pub const MICROS_PER_MILLI: u64 = 1000;

/// Ticks per second of the counter.
pub fn frequency() -> u64 {
    let frequency: u64;
    // SAFETY: reading the counter frequency has no side effect.
    unsafe {
        asm!("mrs {}, cntfrq_el0", out(reg) frequency, options(nomem, nostack, preserves_flags))
    };
    frequency
}

/// The virtual count (CNTVCT_EL0), after the instructions before it.
pub fn now() -> u64 {
    let count: u64;
    // SAFETY: reading the virtual counter has no side effect.
    unsafe {
        asm!("isb", "mrs {}, cntvct_el0", out(reg) count, options(nomem, nostack, preserves_flags))
    };
    count
}

/// Ticks in `micros` microseconds.
pub fn ticks(micros: u64) -> u64 {
    frequency().saturating_mul(micros) / MICROS_PER_SECOND
}

/// Microseconds in `ticks` ticks.
pub fn micros(ticks: u64) -> u64 {
    ticks.saturating_mul(MICROS_PER_SECOND) / frequency().max(1)
}

/// Milliseconds since the count `start`.
pub fn millis_since(start: u64) -> u64 {
    micros(now().wrapping_sub(start)) / MICROS_PER_MILLI
}

/// Calls `poll` until it returns `Some` or `micros` microseconds pass.
pub fn poll_for<T>(micros: u64, mut poll: impl FnMut() -> Option<T>) -> Option<T> {
    let ticks = ticks(micros);
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
