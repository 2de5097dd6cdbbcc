//! Where the boot modules go in RAM: the loader (QEMU's `guest-loader`, or
//! a U-Boot script) puts each VM's kernel and initrd there, and the config
//! cordon embeds says where.

use cordon_config::{Bytes, Config, MIB, VmField};
use cordon_qemu::{Board, GUEST_KERNEL_ADDR};

use super::files::VmFiles;

/// Each module starts on a 2 MiB boundary.
pub const MODULE_ALIGNMENT: u64 = 2 * MIB;

/// The RAM set aside for boot modules on a board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: u64,
    pub end: u64,
}

/// qemu-virt: from where the management VM's kernel always went, to 2 GiB
/// (RAM is 0x4000_0000 onwards).
const VIRT_WINDOW: Window = Window {
    start: GUEST_KERNEL_ADDR,
    end: 0x8000_0000,
};
/// rpi4: 128 MiB at 768 MiB, inside the first RAM bank of every Pi 4 (it
/// ends at 0x3b40_0000 or 0x3c00_0000, below the GPU's share), leaving the
/// 766 MiB below it for a VM that must lie below 1 GiB.
const RPI4_WINDOW: Window = Window {
    start: 0x3000_0000,
    end: 0x3800_0000,
};

/// Where boot modules go on `board`; none where the tools do not place
/// them (x86-pc, for now).
pub fn window(board: Board) -> Option<Window> {
    match board {
        Board::QemuVirt => Some(VIRT_WINDOW),
        Board::Rpi4 => Some(RPI4_WINDOW),
        Board::X86Pc => None,
    }
}

/// Fills in every module address: in VM order, kernel then initrd, each
/// 2 MiB aligned from the window's start. A config whose modules all have
/// addresses already keeps them. `files` are the VMs' files, in config
/// order. Errors name the VM and module.
pub fn place(config: &mut Config, files: &[VmFiles], window: Window) -> Result<(), Vec<String>> {
    let all_placed = config
        .vms
        .iter()
        .flat_map(|vm| vm.image.modules())
        .all(|module| module.address.is_some());
    let mut next = window.start;
    let mut placed = Vec::new();
    let mut problems = Vec::new();
    for (vm, files) in config.vms.iter_mut().zip(files) {
        let sizes = [
            Some(files.kernel.size),
            files.initrd.as_ref().map(|f| f.size),
        ];
        let fields = [VmField::ImageKernel, VmField::ImageInitrd];
        let modules = vm.image.modules_mut().zip(sizes.into_iter().flatten());
        for ((module, size), field) in modules.zip(fields) {
            let start = match module.address {
                Some(address) if all_placed => address,
                _ => next,
            };
            let end = start.saturating_add(size);
            let what = format!(
                "VM \"{}\": {field}: {} ({})",
                vm.name,
                module.file,
                Bytes(size)
            );
            if !all_placed && end > window.end {
                problems.push(format!(
                    "{what} does not fit below {:#x}, after the modules before it",
                    window.end
                ));
            }
            if let Some((other, _, _)) = placed.iter().find(|(_, s, e)| start < *e && *s < end) {
                problems.push(format!("{what} at {start:#x} overlaps {other}"));
            }
            module.address = Some(start);
            next = end
                .checked_next_multiple_of(MODULE_ALIGNMENT)
                .unwrap_or(u64::MAX);
            placed.push((what, start, end));
        }
    }
    for (what, start, end) in &placed {
        for vm in &config.vms {
            let memory = &vm.memory;
            let Some(fixed) = memory.address else {
                continue;
            };
            if *start < fixed.saturating_add(memory.size) && fixed < *end {
                problems.push(format!(
                    "{what} at {start:#x} overlaps the fixed memory of VM \"{}\"",
                    vm.name
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition::files::ModuleFile;

    const CONFIG: &str = r#"
        board = "qemu-virt"
        [[vm]]
        name = "mgmt"
        role = "management"
        cpus = [0]
        memory = { size = "512M" }
        image = { kind = "linux", kernel = "vmlinuz", initrd = "initrd" }
        [[vm]]
        name = "rt"
        role = "workload"
        cpus = [1]
        memory = { size = "64M" }
        image = { kind = "bare-metal", kernel = "rt.bin" }
    "#;

    fn file(size: u64) -> ModuleFile {
        ModuleFile {
            path: "f".into(),
            size,
        }
    }

    fn files(kernel: u64, initrd: u64, rt: u64) -> Vec<VmFiles> {
        vec![
            VmFiles {
                kernel: file(kernel),
                initrd: Some(file(initrd)),
            },
            VmFiles {
                kernel: file(rt),
                initrd: None,
            },
        ]
    }

    fn addresses(config: &Config) -> Vec<Option<u64>> {
        config
            .vms
            .iter()
            .flat_map(|vm| vm.image.modules())
            .map(|module| module.address)
            .collect()
    }

    #[test]
    fn places_modules_in_order_on_2_mib_boundaries() {
        let mut config = Config::from_toml(CONFIG).unwrap();
        place(&mut config, &files(27 * MIB + 5, 1, MIB), VIRT_WINDOW).unwrap();
        assert_eq!(
            addresses(&config),
            [Some(0x6000_0000), Some(0x61c0_0000), Some(0x61e0_0000)]
        );
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn modules_must_fit_in_the_window() {
        let mut config = Config::from_toml(CONFIG).unwrap();
        let problems = place(&mut config, &files(600 * MIB, 10 * MIB, MIB), VIRT_WINDOW);
        assert_eq!(
            problems,
            Err(vec![
                "VM \"mgmt\": image.kernel: vmlinuz (600 MiB) does not fit below 0x80000000, \
                 after the modules before it"
                    .to_owned(),
                "VM \"mgmt\": image.initrd: initrd (10 MiB) does not fit below 0x80000000, \
                 after the modules before it"
                    .to_owned(),
                "VM \"rt\": image.kernel: rt.bin (1 MiB) does not fit below 0x80000000, after \
                 the modules before it"
                    .to_owned(),
            ])
        );
    }

    #[test]
    fn modules_keep_clear_of_fixed_vm_memory() {
        let mut config = Config::from_toml(CONFIG).unwrap();
        config.vms[1].memory.address = Some(0x6000_0000);
        let problems = place(&mut config, &files(MIB, MIB, MIB), VIRT_WINDOW).unwrap_err();
        assert_eq!(problems.len(), 3);
        assert_eq!(
            problems[0],
            "VM \"mgmt\": image.kernel: vmlinuz (1 MiB) at 0x60000000 overlaps the fixed memory \
             of VM \"rt\""
        );
    }

    #[test]
    fn given_addresses_are_kept_and_checked() {
        let mut config = Config::from_toml(CONFIG).unwrap();
        let given = [0x7000_0000, 0x7100_0000, 0x70c0_0000];
        for (module, address) in config
            .vms
            .iter_mut()
            .flat_map(|vm| vm.image.modules_mut())
            .zip(given)
        {
            module.address = Some(address);
        }
        let problems = place(&mut config, &files(MIB, MIB, 8 * MIB), VIRT_WINDOW).unwrap_err();
        assert_eq!(
            problems,
            [
                "VM \"rt\": image.kernel: rt.bin (8 MiB) at 0x70c00000 overlaps VM \"mgmt\": \
                 image.initrd: initrd (1 MiB)"
            ]
        );
        assert_eq!(
            addresses(&config),
            given.map(Some),
            "the given addresses stay"
        );
    }
}
