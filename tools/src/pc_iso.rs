//! The x86-pc board's bootable artifact: a GRUB ISO (`grub-mkrescue`, BIOS
//! boot) whose only menu entry loads cordon by multiboot2 with its command
//! line. The same ISO boots Bochs, QEMU, or written to a USB stick, a PC.

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

/// GRUB's configuration: boot cordon at once, with `command_line`.
pub fn grub_cfg(command_line: &str) -> String {
    format!(
        "set timeout=0\n\
         set default=0\n\
         menuentry \"cordon\" {{\n\
         \x20   multiboot2 /{CORDON_IN_ISO} {command_line}\n\
         \x20   boot\n\
         }}\n"
    )
}

/// Writes the ISO `iso` that boots the multiboot2 ELF `elf` with
/// `command_line`, putting its files together in `staging` first.
pub fn write(elf: &Path, command_line: &str, staging: &Path, iso: &Path) -> Result<()> {
    if staging.exists() {
        fs::remove_dir_all(staging)
            .map_err(|error| Error::io(format!("cannot remove {}", staging.display()), error))?;
    }
    let config = staging.join(GRUB_CFG_IN_ISO);
    let cordon = staging.join(CORDON_IN_ISO);
    let grub_dir = config.parent().expect("the GRUB config is in a directory");
    fs::create_dir_all(grub_dir)
        .map_err(|error| Error::io(format!("cannot create {}", grub_dir.display()), error))?;
    fs::copy(elf, &cordon).map_err(|error| {
        Error::io(
            format!("cannot copy {} to {}", elf.display(), cordon.display()),
            error,
        )
    })?;
    fs::write(&config, grub_cfg(command_line))
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
        let cfg = grub_cfg("cordon.log=debug cordon.selftest=fault");
        assert!(cfg.starts_with("set timeout=0\n"), "{cfg}");
        assert!(
            cfg.contains(
                "\n    multiboot2 /boot/cordon.elf cordon.log=debug cordon.selftest=fault\n"
            ),
            "{cfg}"
        );
        assert!(cfg.contains("\n    boot\n}\n"), "{cfg}");
    }
}
