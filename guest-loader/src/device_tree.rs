//! The device tree a VM boots with, built from the boot device tree: the VM
//! sees only what it was given.
//!
//! cordon makes the CPUs (started through PSCI over HVC), the memory, a
//! GICv2 and `/chosen` from the [`VmDescription`]; the board's identity and
//! architected timer come from the boot tree, and passed-through devices
//! are copied from it at their boot paths (so at the same guest-physical
//! addresses, with the buses above them and the fixed clocks they use;
//! what cordon keeps of theirs, they get as the firmware left it).
//! A copied node that refers by phandle to anything the VM does not get is
//! an error, never a dangling reference.
//!
//! The boot tree must be free of `FDT_NOP` tokens, which the `fdt` crate
//! mis-parses; cordon removes them at boot.

pub mod blob;
mod boot;
mod cells;
pub mod channels;
mod chosen;
mod console;
mod copy;
mod dma;
mod error;
mod initrd_patch;
mod interrupts;
mod kept_resources;
pub mod management;
mod memory;
mod passthrough;
mod platform;
mod references;
mod tree;

use alloc::vec::Vec;

pub use crate::GuestMemory;
pub use dma::{BusDma, RamMapping, bus_address, dma_limit};
pub use error::GuestDtError;
pub use initrd_patch::{InitrdPatchError, set_initrd};
pub use kept_resources::{FirmwareClock, FirmwareClockRate};

/// Most vCPUs a VM has: a GICv2 routes interrupts to at most 8 CPUs.
pub const MAX_VCPUS: usize = 8;

/// Where the VM's GICv2 appears, in guest-physical addresses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct GuestGic {
    pub distributor: u64,
    pub cpu_interface: u64,
}

impl GuestGic {
    /// Size of the distributor frame the guest is told about.
    pub const DISTRIBUTOR_SIZE: u64 = 0x1000;
    /// Size of the CPU interface frame the guest is told about (GICC and
    /// the GICC_DIR page).
    pub const CPU_INTERFACE_SIZE: u64 = 0x2000;
}

/// One end of an inter-VM channel, in guest-physical terms.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct GuestChannel<'a> {
    pub name: &'a str,
    /// The VM at the other end.
    pub peer: &'a str,
    /// The shared memory.
    pub shared_ipa: u64,
    pub size: u64,
    /// A write to this page raises the channel's interrupt in the peer.
    pub doorbell_ipa: u64,
    /// The SPI (interrupt ID) the peer's doorbell writes raise here.
    pub spi: u32,
}

/// The management interface, for the management VM only.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct GuestManagement {
    /// The shared region (the doorbell page follows it).
    pub region_ipa: u64,
    pub size: u64,
    /// The SPI that signals events.
    pub spi: u32,
}

/// What a VM gets.
#[derive(Clone, Copy, Debug)]
pub struct VmDescription<'a> {
    /// vCPUs are numbered 0 to `vcpus - 1`; MPIDR Aff0 is the number.
    pub vcpus: usize,
    pub memory: &'a [GuestMemory],
    /// Full boot-tree paths (unit addresses included) of the devices passed
    /// through, which keep their boot-tree addresses.
    pub devices: &'a [&'a str],
    pub bootargs: &'a str,
    /// Guest-physical `[start, end)` of the initrd.
    pub initrd: Option<(u64, u64)>,
    /// Path of a passed-through device or of the emulated console,
    /// optionally followed by `:options`.
    pub stdout_path: Option<&'a str>,
    /// Boot-tree path of the UART cordon emulates for the VM, if any.
    pub emulated_console: Option<&'a str>,
    pub gic: GuestGic,
    /// Inter-VM channels this VM is an end of.
    pub channels: &'a [GuestChannel<'a>],
    pub management: Option<GuestManagement>,
    /// What the VM's buses say about DMA (`dma-ranges`).
    pub dma: BusDma<'a>,
    /// The rates of the clocks that passed-through devices keep (see
    /// [`FirmwareClock`]), as the board's firmware reported them.
    pub firmware_clocks: &'a [FirmwareClockRate],
}

/// The DTB of the VM described by `vm`, from the boot device tree `boot`.
pub fn build(boot: &fdt::Fdt, vm: &VmDescription) -> Result<Vec<u8>, GuestDtError> {
    if vm.vcpus == 0 || vm.vcpus > MAX_VCPUS {
        return Err(GuestDtError::VcpuCount { vcpus: vm.vcpus });
    }
    let index = boot::BootIndex::new(boot)?;
    let gic = interrupts::find_gic(&index)?;
    let timer = interrupts::find_timer(&index)?;

    let mut root = platform::root(&index, gic.phandle)
        .with_child(platform::cpus(&index, vm.vcpus)?)
        .with_child(platform::psci());
    root.children.extend(memory::nodes(vm.memory)?);
    root = root
        .with_child(interrupts::gic_node(&gic, &vm.gic))
        .with_child(interrupts::timer_node(&index, timer, vm.vcpus)?);

    root.children.extend(vm.channels.iter().map(channels::node));
    root.children
        .extend(vm.management.as_ref().map(management::node));

    let provided = passthrough::provided_by_cordon(&index, gic.path, &timer.path);
    passthrough::add(&index, &provided, vm.devices, vm.firmware_clocks, &mut root)?;
    if let Some(path) = vm.emulated_console {
        console::add(&index, &provided, path, &mut root)?;
    }
    dma::rewrite(&mut root, vm.dma)?;
    if let Some(aliases) = chosen::aliases(&index, &root) {
        root.children.push(aliases);
    }
    let chosen = chosen::chosen(vm, &root)?;
    root.children.push(chosen);

    references::check(&index, &root)?;
    tree::to_dtb(&root).map_err(GuestDtError::Write)
}

#[cfg(test)]
mod tests;
