//! What cordon puts into a VM before it starts: kernel images (checked
//! against their format) and the VM's own device tree. `no_std` with
//! `alloc`: the hypervisor uses it at run time; unit tests run on the host.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod arm64_image;
