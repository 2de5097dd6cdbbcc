//! AArch64 at EL2.
//!
//! Pure, host-testable pieces: [`pagetable`] and [`stage2`] (translation
//! tables), [`esr`], [`mmio`] and [`sysreg`] (exception syndromes, trapped
//! accesses),
//! [`psci`] (PSCI numbers, errors and guest calls), [`vgic`] (the virtual
//! distributor model and list registers). The rest drives the CPU:
//! `entry.S` (header, relocation, entry of every CPU), [`start`] (from entry
//! to the core's boot sequence), [`mmu`] (cordon's EL2 address space),
//! [`exception`] (vectors and the exception report), [`smp`] (starting
//! secondary CPUs) and [`cpu`] (registers and barriers).

pub mod esr;
pub mod gic;
pub mod mmio;
pub mod pagetable;
pub mod psci;
pub mod stage2;
pub mod sysreg;
pub mod vgic;

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
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod trap;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod vcpu;
