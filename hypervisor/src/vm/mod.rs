//! Virtual machines: [`spec`] (what a VM is given), [`default_partition`]
//! (the VM cordon runs without a config), [`partition_config`] (the VMs
//! and channels of an embedded config), [`placement`] (where VM RAM
//! goes), [`builder`] (putting a VM together), [`machine`] (a VM and its
//! vCPUs), [`images`] (what it starts from, measured), [`lifecycle`]
//! (stop, restart), [`exits`] (why guests stop), [`dma`] (VMs trusted
//! with DMA).

pub mod default_partition;
pub mod dma;
pub mod exits;
pub mod partition_config;
pub mod placement;
pub mod spec;

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod builder;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod channel;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod images;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod lifecycle;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod machine;

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub use lifecycle::Lifecycle;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub use machine::{
    EmulatedUart, Vcpu, VcpuState, Vm, assign, assignment, by_name, current, input_focus,
    management, next_input_focus, register, registered, run_assigned,
};
