//! The virtual GICv2 each VM sees: an emulated distributor (trapped MMIO)
//! and the hardware's virtual CPU interface, fed through list registers.

pub mod distributor;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod injector;
pub mod list_register;

/// Bytes of the distributor's register frame guests see.
pub const DISTRIBUTOR_SIZE: u64 = 0x1000;
/// Bytes of the (virtual) CPU interface frame guests see.
pub const CPU_INTERFACE_SIZE: u64 = 0x2000;
