//! cordon: a static-partitioning Type-1 hypervisor.
//!
//! The core is architecture-independent; `arch/` holds what is not. Boards
//! (`boards/*`) describe their hardware with a [`board::Board`] and link this
//! crate into a bootable image. Pure logic builds for the host too, where
//! its unit tests run.
//!
//! Where to look:
//! - boot sequence: [`boot`] (after `arch::aarch64::start` has set up the CPU),
//! - exceptions: `arch::aarch64::exception`,
//! - the boot device tree: [`dt`], memory: [`mm`], CPUs: [`cpu`],
//! - x86-64 (multiboot2, ACPI, VT-x): [`arch::x86_64`], from its `start`.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod arch;
pub mod board;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod boot;
pub mod cmdline;
pub mod console;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod cpu;
pub mod dt;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod fatal;
pub mod firmware;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod logger;
pub mod management;
pub mod mm;
pub mod vdev;
pub mod vm;

/// cordon's version, as printed in the banner.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
