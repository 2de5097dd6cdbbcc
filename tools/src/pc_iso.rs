//! The x86-pc board's bootable artifact: a GRUB ISO (`grub-mkrescue`, BIOS
//! boot) whose only menu entry loads cordon by multiboot2 with its command
//! line, and each VM's kernel and initrd as multiboot2 modules named
//! `<vm> kernel` and `<vm> initrd`, as cordon looks for them. The same ISO
//! boots Bochs, QEMU, or written to a USB stick, a PC.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};
use crate::exec;
use crate::paths::create_parent;

/// GRUB's tool that makes a bootable ISO of a directory.
const GRUB_MKRESCUE: &str = "grub-mkrescue";
/// Where cordon and GRUB's configuration go inside the ISO.
const CORDON_IN_ISO: &str = "boot/cordon.elf";
const GRUB_CFG_IN_ISO: &str = "boot/grub/grub.cfg";
/// Where the VMs' images go inside the ISO: `<dir>/<vm>/<role>`.
const VMS_IN_ISO: &str = "boot/vms";

/// One boot module: a VM's kernel or initrd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsoModule {
    pub file: PathBuf,
    pub vm: String,
    /// `kernel` or `initrd`.
    pub role: &'static str,
}

impl IsoModule {
    /// Its path inside the ISO.
    fn in_iso(&self) -> String {
        format!("{VMS_IN_ISO}/{}/{}", self.vm, self.role)
    }
}

/// GRUB's configuration: boot cordon at once, with `command_line`, and
/// with `modules`. GRUB loads them as they are (`--nounzip`: a Linux
/// kernel unpacks its gzip-compressed initramfs itself).
pub fn grub_cfg(command_line: &str, modules: &[IsoModule]) -> String {
    let modules: String = modules
        .iter()
        .map(|module| {
            format!(
                "\x20   module2 --nounzip /{} {} {}\n",
                module.in_iso(),
                module.vm,
                module.role
            )
        })
        .collect();
    format!(
        "set timeout=0\n\
         set default=0\n\
         menuentry \"cordon\" {{\n\
         \x20   multiboot2 /{CORDON_IN_ISO} {command_line}\n\
         {modules}\
         \x20   boot\n\
         }}\n"
    )
}

/// Writes the ISO `iso` that boots the multiboot2 ELF `elf` with
/// `command_line` and `modules`, putting its files together in `staging`
/// first.
pub fn write(
    elf: &Path,
    command_line: &str,
    modules: &[IsoModule],
    staging: &Path,
    iso: &Path,
) -> Result<()> {
    if staging.exists() {
        fs::remove_dir_all(staging)
            .map_err(|error| Error::io(format!("cannot remove {}", staging.display()), error))?;
    }
    let config = staging.join(GRUB_CFG_IN_ISO);
    let cordon = staging.join(CORDON_IN_ISO);
    create_parent(&config)?;
    let copy = |from: &Path, to: &Path| {
        fs::copy(from, to).map(drop).map_err(|error| {
            Error::io(
                format!("cannot copy {} to {}", from.display(), to.display()),
                error,
            )
        })
    };
    copy(elf, &cordon)?;
    for module in modules {
        let to = staging.join(module.in_iso());
        create_parent(&to)?;
        copy(&module.file, &to)?;
    }
    fs::write(&config, grub_cfg(command_line, modules))
        .map_err(|error| Error::io(format!("cannot write {}", config.display()), error))?;
    exec::run(
        Command::new(GRUB_MKRESCUE)
            .arg("--output")
            .arg(iso)
            .arg(staging),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grub_boots_cordon_by_multiboot2_with_its_command_line() {
        let cfg = grub_cfg("cordon.log=debug cordon.selftest=fault", &[]);
        assert!(cfg.starts_with("set timeout=0\n"), "{cfg}");
        assert!(
            cfg.contains(
                "\n    multiboot2 /boot/cordon.elf cordon.log=debug cordon.selftest=fault\n"
            ),
            "{cfg}"
        );
        assert!(cfg.contains("\n    boot\n}\n"), "{cfg}");
        assert!(!cfg.contains("module2"), "{cfg}");
    }

    #[test]
    fn each_vm_image_is_a_module_named_as_cordon_wants() {
        let module = |vm: &str, role| IsoModule {
            file: PathBuf::from("/x"),
            vm: vm.to_owned(),
            role,
        };
        let modules = [
            module("mgmt", "kernel"),
            module("mgmt", "initrd"),
            module("beat", "kernel"),
        ];
        let cfg = grub_cfg("", &modules);
        assert!(
            cfg.contains(
                "\n    module2 --nounzip /boot/vms/mgmt/kernel mgmt kernel\n    \
                 module2 --nounzip /boot/vms/mgmt/initrd mgmt initrd\n    \
                 module2 --nounzip /boot/vms/beat/kernel beat kernel\n    boot\n"
            ),
            "{cfg}"
        );
    }
}
