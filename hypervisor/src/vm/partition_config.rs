//! The partition config embedded in cordon's image (by `cargo xtask build
//! --config`): checked again here against the real boot device tree, and
//! turned into the VMs and channels to build.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use cordon_config::{Config, ConfigError, ImageConfig, ModuleRef, VmConfig};
use fdt::Fdt;

use super::spec::{ChannelSpec, MemorySpec, RestartPolicy, Role, VmSpec};
use crate::dt::BootInfo;
use crate::mm::PhysRange;

/// The config bytes the build embedded; empty without a config.
static EMBEDDED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/partition-config.bin"));

#[derive(Debug)]
pub enum PartitionConfigError {
    Config(ConfigError),
    /// The config names a boot module the loader did not provide.
    MissingModule {
        vm: String,
        address: Option<u64>,
    },
}

impl core::fmt::Display for PartitionConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Config(err) => write!(f, "{err}"),
            Self::MissingModule {
                vm,
                address: Some(address),
            } => write!(
                f,
                "VM \"{vm}\": image: no boot module at {address:#x} (did the loader put it there?)"
            ),
            Self::MissingModule { vm, address: None } => {
                write!(f, "VM \"{vm}\": image: the config gives no module address")
            }
        }
    }
}

/// The embedded config, if the image has one.
pub fn embedded() -> Option<&'static [u8]> {
    (!EMBEDDED.is_empty()).then_some(EMBEDDED)
}

/// Decodes and checks `bytes` against this machine, and describes the VMs
/// and channels it asks for.
pub fn specs(
    bytes: &[u8],
    fdt: &Fdt,
    info: &BootInfo,
) -> Result<(Vec<VmSpec>, Vec<ChannelSpec>), PartitionConfigError> {
    let config = Config::from_bytes(bytes).map_err(PartitionConfigError::Config)?;
    config.validate().map_err(PartitionConfigError::Config)?;
    config
        .validate_for_board(fdt)
        .map_err(PartitionConfigError::Config)?;
    let vms = config
        .vms
        .iter()
        .map(|vm| vm_spec(vm, info))
        .collect::<Result<Vec<_>, _>>()?;
    let channels = config
        .channels
        .iter()
        .map(|channel| ChannelSpec {
            name: channel.name.clone(),
            vms: [channel.vms[0].clone(), channel.vms[1].clone()],
            size: channel.size,
        })
        .collect();
    Ok((vms, channels))
}

fn vm_spec(vm: &VmConfig, info: &BootInfo) -> Result<VmSpec, PartitionConfigError> {
    let ImageConfig {
        kernel,
        initrd,
        bootargs,
        ..
    } = &vm.image;
    Ok(VmSpec {
        name: vm.name.clone(),
        role: match vm.role {
            cordon_config::Role::Management => Role::Management,
            cordon_config::Role::Workload => Role::Workload,
        },
        cpus: vm.cpus.iter().map(|&cpu| cpu as usize).collect(),
        memory: MemorySpec {
            size: vm.memory.size,
            address: vm.memory.address,
            identity: vm.memory.identity,
            below: vm.memory.below,
        },
        devices: vm.devices.clone(),
        console: vm.console,
        kernel: module(vm, kernel, info)?,
        initrd: initrd
            .as_ref()
            .map(|initrd| module(vm, initrd, info))
            .transpose()?,
        bootargs: bootargs.to_string(),
        restart: match vm.restart {
            cordon_config::RestartPolicy::Never => RestartPolicy::Never,
            cordon_config::RestartPolicy::Always => RestartPolicy::Always,
            cordon_config::RestartPolicy::OnFailure => RestartPolicy::OnFailure,
        },
        trap_wait: vm.trap_wait,
        dma_trusted: vm.dma_trusted,
    })
}

/// The boot module the loader put where the config says.
fn module(
    vm: &VmConfig,
    module: &ModuleRef,
    info: &BootInfo,
) -> Result<PhysRange, PartitionConfigError> {
    let missing = || PartitionConfigError::MissingModule {
        vm: vm.name.clone(),
        address: module.address,
    };
    let address = module.address.ok_or_else(missing)?;
    info.modules
        .iter()
        .find(|m| m.range.start == address)
        .map(|m| m.range)
        .ok_or_else(missing)
}
