//! The management interface: how the management VM's userspace (cordonctl)
//! asks cordon for information and actions, with the ABI of `cordon-abi`.
//!
//! The management VM alone gets a shared region (outside its RAM, in its
//! device tree as `cordon,management` reserved memory) and, right after
//! it, a doorbell page that traps: a write there hands cordon a request,
//! which cordon checks on a private copy and answers in the region.
//! [`ring`] keeps the end of each VM's console and of cordon's log.

pub mod image_load;
pub mod ring;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod service;

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub use service::{LOG, ManagementPort, doorbell, record_event, uptime_ns};
