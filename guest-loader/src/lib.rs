//! What cordon puts into a VM before it starts: kernel images (checked
//! against their format), where they go in the VM's RAM, and the VM's own
//! device tree. `no_std` with `alloc`: the hypervisor uses it at run time;
//! unit tests run on the host.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod arm64_image;
pub mod device_tree;
mod guest_memory;
pub mod linux_boot;

pub use guest_memory::GuestMemory;
