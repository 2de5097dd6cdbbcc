//! The QEMU machine that runs a config: cordon's image, every VM's boot
//! modules where the config places them, and on qemu-virt CPUs for every
//! CPU the config gives out (as many as the machine can have: the check
//! against its device tree reports the others), the management VM's
//! disk, its storage disk and a network card when a VM is given their
//! transports, and a TPM when a VM is given it.

use cordon_config::Config;
use cordon_qemu::config_machine::{ConfigMachine, ConfigVm};
use cordon_qemu::mgmt_vm::MEMORY_MIB;
use cordon_qemu::{
    Board, PlacedFile, PlacedGuest, VIRT_GICV2_MAX_CPUS, VIRT_NIC_TRANSPORT,
    VIRT_STORAGE_TRANSPORT, VIRT_TPM_DEVICE,
};

use super::files::{Made, ModuleFile};
use crate::paths::ConfigOutput;

/// The machine that boots the image in `output`, built for `board` with
/// `config` (placed, its files `made`); none for a board whose configs are
/// not booted under QEMU (x86-pc, for now).
pub fn machine(
    board: Board,
    output: &ConfigOutput,
    config: &Config,
    made: &Made,
) -> Option<ConfigMachine> {
    let image = output.image();
    let highest_cpu = config.vms.iter().flat_map(|vm| &vm.cpus).max();
    let cpus = highest_cpu.map_or(1, |cpu| cpu.saturating_add(1));
    Some(match board {
        Board::QemuVirt => ConfigMachine {
            board,
            image,
            dtb: None,
            cpus: Some(cpus.min(VIRT_GICV2_MAX_CPUS)),
            memory_mib: Some(MEMORY_MIB),
            disk: made.mgmt_vm.as_ref().map(|mgmt_vm| mgmt_vm.disk.clone()),
            storage: given(config, VIRT_STORAGE_TRANSPORT).then(|| output.storage()),
            network: given(config, VIRT_NIC_TRANSPORT),
            tpm: given(config, VIRT_TPM_DEVICE),
            vms: placed_vms(config, made),
        },
        // Fixed CPUs and RAM; no virtio disk or network card.
        Board::Rpi4 => ConfigMachine {
            board,
            image,
            dtb: Some(output.firmware_dtb()),
            cpus: None,
            memory_mib: None,
            disk: None,
            storage: None,
            network: false,
            tpm: false,
            vms: placed_vms(config, made),
        },
        Board::X86Pc => return None,
    })
}

/// Whether a VM of `config` is given the device at `path`.
fn given(config: &Config, path: &str) -> bool {
    config
        .vms
        .iter()
        .any(|vm| vm.devices.iter().any(|device| device == path))
}

/// Each VM's boot modules where `config` (placed) puts them, from the
/// files `made`: what a loader puts into RAM.
pub fn placed_vms(config: &Config, made: &Made) -> Vec<ConfigVm> {
    let vms = config.vms.iter().zip(&made.vms).map(|(vm, files)| {
        let placed = |file: &ModuleFile, address: Option<u64>| PlacedFile {
            file: file.path.clone(),
            address: address.expect("the modules were placed"),
        };
        let initrd = vm.image.initrd.as_ref().zip(files.initrd.as_ref());
        ConfigVm {
            name: vm.name.clone(),
            modules: PlacedGuest {
                kernel: placed(&files.kernel, vm.image.kernel.address),
                initrd: initrd.map(|(module, file)| placed(file, module.address)),
                bootargs: vm.image.bootargs.clone(),
            },
        }
    });
    vms.collect()
}
