//! From the embedded config to the VMs this machine runs: the config
//! checked again against this PC (its CPUs from the MADT, its free RAM from
//! multiboot2), each VM's RAM taken from free RAM and mapped by its EPT,
//! its I/O bitmap passing exactly its devices' ports, its boot modules
//! found and checked.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU64};

use cordon_config::{Config, ConfigError, PcFacts, VmConfig, pc_device};
use log::info;

use super::load::{self, Images, LoadError};
use super::modules::{self, Module};
use crate::arch::x86_64::vmx::ept::{Access, Ept, EptError};
use crate::arch::x86_64::vmx::frames::HeapFrames;
use crate::arch::x86_64::vmx::io::IoBitmaps;
use crate::arch::x86_64::vmx::msr::MsrBitmap;
use crate::arch::x86_64::vmx::operation::VmxCpu;
use crate::mm::PhysRange;
use crate::mm::boot_map::MAX_FREE_RANGES;
use crate::mm::region::RegionSet;
use crate::vm::placement::{self, PlacementError};
use crate::vm::spec::{MemorySpec, RestartPolicy};

/// One VM as this machine runs it.
pub struct PlannedVm {
    pub name: &'static str,
    /// The CPU its one vCPU runs on.
    pub cpu: usize,
    pub vpid: u16,
    pub images: Images,
    /// Its RAM, at guest-physical 0.
    pub ram: PhysRange,
    pub ept_pointer: u64,
    pub io_bitmaps: &'static IoBitmaps,
    pub msr_bitmap: &'static MsrBitmap,
    /// It owns the PIC: the PIC's interrupts reach it directly.
    pub owns_pic: bool,
    pub restart: RestartPolicy,
    /// VM exits so far, over all its starts (others watch it go on).
    pub exits: AtomicU64,
    /// Whether it runs (or is about to start again).
    pub running: AtomicBool,
}

/// Why the config's VMs cannot run here.
#[derive(Debug)]
pub enum PlanError {
    Config(ConfigError),
    /// The loader passed no module for the VM's kernel or initrd.
    MissingModule {
        vm: String,
        role: &'static str,
    },
    Placement {
        vm: String,
        error: PlacementError,
    },
    Ept {
        vm: String,
        error: EptError,
    },
    Load {
        vm: String,
        error: LoadError,
    },
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(error) => write!(f, "partition config: {error}"),
            Self::MissingModule { vm, role } => write!(
                f,
                "VM \"{vm}\": image: the loader passed no module \"{vm} {role}\""
            ),
            Self::Placement { vm, error } => write!(f, "VM \"{vm}\": memory: {error}"),
            Self::Ept { vm, error } => write!(f, "VM \"{vm}\": EPT: {error}"),
            Self::Load { vm, error } => write!(f, "VM \"{vm}\": image: {error}"),
        }
    }
}

/// Decodes `bytes`, checks the config against this PC (`cpus` online,
/// `free` RAM), and sets up every VM: its RAM out of `free`, its EPT, its
/// bitmaps, its images from `modules`.
pub fn plan(
    bytes: &[u8],
    cpus: usize,
    free: &mut RegionSet<MAX_FREE_RANGES>,
    modules: &[Module],
    vmx: &VmxCpu,
) -> Result<Vec<PlannedVm>, PlanError> {
    let config = Config::from_bytes(bytes).map_err(PlanError::Config)?;
    config.validate().map_err(PlanError::Config)?;
    let facts = PcFacts {
        cpus,
        ram: free.iter().map(|range| range.start..range.end).collect(),
    };
    config.validate_for_pc(&facts).map_err(PlanError::Config)?;
    let config: &'static Config = Box::leak(Box::new(config));
    let mut vms = Vec::new();
    for (index, vm) in config.vms.iter().enumerate() {
        vms.push(plan_vm(vm, index, free, modules, vmx)?);
    }
    Ok(vms)
}

fn plan_vm(
    vm: &'static VmConfig,
    index: usize,
    free: &mut RegionSet<MAX_FREE_RANGES>,
    modules: &[Module],
    vmx: &VmxCpu,
) -> Result<PlannedVm, PlanError> {
    let name = vm.name.as_str();
    let module = |role| {
        modules::find(modules, name, role).ok_or_else(|| PlanError::MissingModule {
            vm: vm.name.clone(),
            role,
        })
    };
    let images = Images {
        kind: vm.image.kind,
        kernel: module(modules::KERNEL)?,
        initrd: vm
            .image
            .initrd
            .as_ref()
            .map(|_| module(modules::INITRD))
            .transpose()?,
        bootargs: vm.image.bootargs.as_str(),
    };
    let load_error = |error| PlanError::Load {
        vm: vm.name.clone(),
        error,
    };
    load::check(&images, vm.memory.size).map_err(load_error)?;
    let memory = MemorySpec {
        size: vm.memory.size,
        address: vm.memory.address,
        identity: false,
        below: vm.memory.below,
    };
    let ram = placement::place(free, &memory).map_err(|error| PlanError::Placement {
        vm: vm.name.clone(),
        error,
    })?;
    let ept_error = |error| PlanError::Ept {
        vm: vm.name.clone(),
        error,
    };
    let mut ept = Ept::new(HeapFrames, vmx.ept).map_err(ept_error)?;
    ept.map(0, ram.start, ram.size(), Access::ALL)
        .map_err(ept_error)?;
    let mut io_bitmaps = Box::new(IoBitmaps::deny_all());
    let devices = vm.devices.iter().filter_map(|path| pc_device(path));
    for device in devices.clone() {
        for ports in device.ports {
            io_bitmaps.allow(ports.clone());
        }
    }
    let owns_pic = vm.devices.iter().any(|path| path == cordon_config::PIC);
    let ports = devices.fold(String::new(), |mut list, device| {
        for ports in device.ports {
            list.push_str(&alloc::format!(" {:#x}-{:#x}", ports.start(), ports.end()));
        }
        list
    });
    info!(
        "VM {name}: cpu{}, {} MiB of RAM at host {ram}, I/O ports:{}{}",
        vm.cpus[0],
        ram.size() >> 20,
        if ports.is_empty() { " none" } else { &ports },
        if owns_pic {
            ", the PIC's interrupts"
        } else {
            ""
        }
    );
    Ok(PlannedVm {
        name,
        cpu: vm.cpus[0] as usize,
        vpid: u16::try_from(index + 1).unwrap_or(u16::MAX),
        images,
        ram,
        ept_pointer: ept.pointer(),
        io_bitmaps: Box::leak(io_bitmaps),
        msr_bitmap: Box::leak(Box::new(MsrBitmap::for_cpu_owner())),
        owns_pic,
        restart: match vm.restart {
            cordon_config::RestartPolicy::Never => RestartPolicy::Never,
            cordon_config::RestartPolicy::Always => RestartPolicy::Always,
            cordon_config::RestartPolicy::OnFailure => RestartPolicy::OnFailure,
        },
        exits: AtomicU64::new(0),
        running: AtomicBool::new(false),
    })
}
