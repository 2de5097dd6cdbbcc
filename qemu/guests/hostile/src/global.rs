//! Mutable statics for a guest that runs on one CPU.
//!
//! The guest never starts a second vCPU and never takes interrupts, so the
//! only code that can run "concurrently" with a `get` or `set` is the
//! exception handler, and it only ever runs in place of a probe's faulting
//! instruction: never in the middle of a `get` or `set`.

use core::cell::UnsafeCell;

#[repr(transparent)]
pub struct Global<T>(UnsafeCell<T>);

// SAFETY: one CPU, no interrupts, and exceptions only at probe instructions
// (see the module documentation): accesses never overlap.
unsafe impl<T: Copy> Sync for Global<T> {}

impl<T: Copy> Global<T> {
    pub const fn new(value: T) -> Self {
        Self(UnsafeCell::new(value))
    }

    /// Volatile, so that the exception handler's writes are seen after the
    /// instruction that faulted.
    pub fn get(&self) -> T {
        // SAFETY: the cell is valid and accesses never overlap (above).
        unsafe { self.0.get().read_volatile() }
    }

    pub fn set(&self, value: T) {
        // SAFETY: as for `get`.
        unsafe { self.0.get().write_volatile(value) }
    }
}
