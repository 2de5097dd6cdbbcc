//! Virtual machines: [`machine`] (a VM and its vCPUs), [`exits`] (why
//! guests stop), [`management`] (the Linux management VM, built from the
//! boot modules).

pub mod exits;
#[cfg(target_os = "none")]
pub mod machine;
#[cfg(target_os = "none")]
pub mod management;

#[cfg(target_os = "none")]
pub use machine::{
    EmulatedUart, Vcpu, VcpuState, Vm, assign, assignment, current, input_focus, run_assigned,
    set_input_focus,
};
