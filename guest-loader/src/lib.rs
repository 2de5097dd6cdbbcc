//! What cordon puts into a VM before it starts: kernel images (checked
//! against their format: arm64 `Image`, x86 `bzImage`), where they go in the
//! VM's RAM, and the VM's own device tree (arm64) or zero page (x86).
//! `no_std` with `alloc`: the hypervisor uses it at run time; unit tests run
//! on the host.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod arm64_image;
pub mod bzimage;
pub mod device_tree;
mod guest_memory;
pub mod linux_boot;
pub mod x86_bare_metal;
pub mod x86_boot;
pub mod x86_linux;

pub use guest_memory::GuestMemory;
