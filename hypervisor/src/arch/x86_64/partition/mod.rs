//! The VMs of the partition config embedded in the image (`cargo xtask
//! build|image --board x86-pc --config FILE`), on a PC: [`modules`] (the
//! boot modules GRUB passed, by VM), [`plan`] (the config checked against
//! this PC, each VM's RAM, EPT and bitmaps), [`load`] (its images into its
//! RAM at every start), [`run`] (a VM on its CPU, with its restart
//! policy). Each VM has one vCPU on a CPU of its own; without a config,
//! cordon runs no VM.

mod load;
mod modules;
mod plan;
mod run;

use alloc::vec::Vec;

use log::info;
use multiboot2::BootInformation;
use spin::Once;

use super::gdt::CpuTables;
use super::lapic::Lapic;
use super::vmx::operation::{VmxCpu, VmxError};
use crate::mm::boot_map::MAX_FREE_RANGES;
use crate::mm::region::RegionSet;
use crate::vm::partition_config;
pub use plan::PlanError;
use plan::PlannedVm;

/// The VMs this machine runs, once the boot CPU has set them up (none
/// without a config, or if it cannot be honoured).
static PLAN: Once<Vec<PlannedVm>> = Once::new();

/// The boot CPU, with `cpus` CPUs online: sets up the embedded config's
/// VMs with RAM from `free`, and lets every CPU run its own.
pub fn set_up(
    info: &BootInformation<'_>,
    cpus: usize,
    free: &mut RegionSet<MAX_FREE_RANGES>,
    vmx: &VmxCpu,
) -> Result<(), PlanError> {
    let Some(bytes) = partition_config::embedded() else {
        info!("no partition config in this image: no VM to run");
        no_vms();
        return Ok(());
    };
    let modules = modules::all(info);
    match plan::plan(bytes, cpus, free, &modules, vmx) {
        Ok(vms) => {
            info!("partition config: {} VMs set up", vms.len());
            PLAN.call_once(|| vms);
            Ok(())
        }
        Err(error) => {
            no_vms();
            Err(error)
        }
    }
}

/// Lets every CPU know there is no VM for it.
pub fn no_vms() {
    PLAN.call_once(Vec::new);
}

/// CPU `index`: once the boot CPU has set up the VMs, runs the one the
/// config gives this CPU, if any, until it stops for good.
pub fn run_this_cpu(
    index: usize,
    vmx: &VmxCpu,
    tables: &CpuTables,
    lapic: &Lapic,
) -> Result<(), VmxError> {
    let plan = PLAN.wait();
    match plan.iter().find(|vm| vm.cpu == index) {
        Some(vm) => run::run(vm, plan, vmx, tables, lapic),
        None => Ok(()),
    }
}
