//! The QEMU machine that runs a config: cordon's image, and on qemu-virt
//! every VM's boot modules where the config places them, CPUs for every
//! CPU the config gives out (as many as the machine can have: the check
//! against its device tree reports the others), and the management VM's
//! disk.

use cordon_config::Config;
use cordon_qemu::mgmt_vm::MEMORY_MIB;
use cordon_qemu::{Board, Machine, PlacedFile, PlacedGuest, VIRT_GICV2_MAX_CPUS};

use super::files::{Made, ModuleFile};
use crate::paths::Workspace;
use crate::prereq;

pub fn machine(workspace: &Workspace, board: Board, config: &Config, made: &Made) -> Machine {
    let image = workspace.board_image(board);
    if board == Board::Rpi4 {
        return Machine::rpi4(image, prereq::rpi4_dtb(workspace));
    }
    let highest_cpu = config.vms.iter().flat_map(|vm| &vm.cpus).max();
    let cpus = highest_cpu.map_or(1, |cpu| cpu.saturating_add(1));
    let mut machine = Machine::qemu_virt(image)
        .cpus(cpus.min(VIRT_GICV2_MAX_CPUS))
        .memory_mib(MEMORY_MIB);
    for (vm, files) in config.vms.iter().zip(&made.vms) {
        let placed = |file: &ModuleFile, address: Option<u64>| PlacedFile {
            file: file.path.clone(),
            address: address.expect("the modules were placed"),
        };
        let initrd = vm.image.initrd.as_ref().zip(files.initrd.as_ref());
        machine = machine.placed_guest(PlacedGuest {
            kernel: placed(&files.kernel, vm.image.kernel.address),
            initrd: initrd.map(|(module, file)| placed(file, module.address)),
            bootargs: vm.image.bootargs.clone(),
        });
    }
    if let Some(mgmt_vm) = &made.mgmt_vm {
        machine = machine.disk(&mgmt_vm.disk);
    }
    machine
}
