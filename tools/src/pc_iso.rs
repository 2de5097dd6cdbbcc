//! The x86-pc board's bootable artifact: a GRUB ISO (`grub-mkrescue`, BIOS
//! boot) whose only menu entry loads cordon by multiboot2 with its command
//! line, and with a management VM, its Linux kernel and initramfs as
//! multiboot2 modules (named `linux`, followed by Linux's command line, and
//! `initrd`, as cordon looks for them). The same ISO boots Bochs, QEMU, or
//! written to a USB stick, a PC.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::error::{Error, Result};
use crate::exec;

/// GRUB's tool that makes a bootable ISO of a directory.
const GRUB_MKRESCUE: &str = "grub-mkrescue";
/// Where cordon and GRUB's configuration go inside the ISO.
const CORDON_IN_ISO: &str = "boot/cordon.elf";
const GRUB_CFG_IN_ISO: &str = "boot/grub/grub.cfg";
/// Where the management VM's kernel and initramfs go inside the ISO.
const LINUX_IN_ISO: &str = "boot/linux";
const INITRD_IN_ISO: &str = "boot/initrd";

/// The Linux management VM an ISO carries.
#[derive(Debug, Clone, Copy)]
pub struct MgmtVmFiles<'a> {
    /// A bzImage.
    pub kernel: &'a Path,
    pub initramfs: &'a Path,
    /// Linux's command line.
    pub command_line: &'a str,
}

/// GRUB's configuration: boot cordon at once, with `command_line`, and
/// with the management VM's modules if `linux_command_line` is given.
/// GRUB loads them as they are (`--nounzip`: the kernel unpacks its
/// gzip-compressed initramfs itself).
pub fn grub_cfg(command_line: &str, linux_command_line: Option<&str>) -> String {
    let modules = match linux_command_line {
        Some(linux) => format!(
            "\x20   module2 --nounzip /{LINUX_IN_ISO} linux {linux}\n\
             \x20   module2 --nounzip /{INITRD_IN_ISO} initrd\n"
        ),
        None => String::new(),
    };
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
/// `command_line` (and `mgmt_vm`, if any), putting its files together in
/// `staging` first.
pub fn write(
    elf: &Path,
    command_line: &str,
    mgmt_vm: Option<MgmtVmFiles<'_>>,
    staging: &Path,
    iso: &Path,
) -> Result<()> {
    if staging.exists() {
        fs::remove_dir_all(staging)
            .map_err(|error| Error::io(format!("cannot remove {}", staging.display()), error))?;
    }
    let config = staging.join(GRUB_CFG_IN_ISO);
    let cordon = staging.join(CORDON_IN_ISO);
    let grub_dir = config.parent().expect("the GRUB config is in a directory");
    fs::create_dir_all(grub_dir)
        .map_err(|error| Error::io(format!("cannot create {}", grub_dir.display()), error))?;
    let copy = |from: &Path, to: &Path| {
        fs::copy(from, to).map(drop).map_err(|error| {
            Error::io(
                format!("cannot copy {} to {}", from.display(), to.display()),
                error,
            )
        })
    };
    copy(elf, &cordon)?;
    if let Some(vm) = mgmt_vm {
        copy(vm.kernel, &staging.join(LINUX_IN_ISO))?;
        copy(vm.initramfs, &staging.join(INITRD_IN_ISO))?;
    }
    let linux_command_line = mgmt_vm.map(|vm| vm.command_line);
    fs::write(&config, grub_cfg(command_line, linux_command_line))
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
        let cfg = grub_cfg("cordon.log=debug cordon.selftest=fault", None);
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
    fn a_management_vm_comes_as_two_modules_named_as_cordon_wants() {
        let cfg = grub_cfg("", Some("console=ttyS0"));
        assert!(
            cfg.contains(
                "\n    module2 --nounzip /boot/linux linux console=ttyS0\n    \
                 module2 --nounzip /boot/initrd initrd\n    boot\n"
            ),
            "{cfg}"
        );
    }
}
