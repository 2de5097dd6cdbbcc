//! AArch64 at EL2.
//!
//! Pure, host-testable pieces: [`pagetable`] (translation tables), [`esr`] (exception syndromes),
//! [`psci`] (PSCI function numbers and errors). The rest drives the CPU:
//! `entry.S` (header, relocation, entry of every CPU), [`start`] (from entry
//! to the core's boot sequence), [`mmu`] (cordon's EL2 address space),
//! [`exception`] (vectors and the exception report), [`smp`] (starting
//! secondary CPUs) and [`cpu`] (registers and barriers).

pub mod esr;
pub mod pagetable;
pub mod psci;

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod cpu;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod exception;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod mmu;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod smp;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod start;
