//! SD card images that U-Boot boots cordon from: one FAT32 partition with
//! cordon's image, the boot modules of its partition config, a U-Boot
//! script (`boot.scr`) that loads them and describes the modules in the
//! device tree as QEMU's `guest-loader` would, and on the Raspberry Pi 4
//! also its firmware, `config.txt`, its device tree and U-Boot itself.
//! QEMU's `virt` starts U-Boot from its flash instead, and finds the same
//! script on the image as a virtio disk.

mod boot_script;
mod card_image;
mod layout;
mod rpi_config;

use std::fs;
use std::path::{Path, PathBuf};

use cordon_qemu::Board;
use cordon_qemu::config_machine::ConfigVm;

use crate::error::{Error, Result};
use crate::partition;
use crate::paths::{Workspace, create_dir};
use crate::prereq::{self, BootFiles};
use boot_script::{Module, ModuleKind, boot_script};
use card_image::CardFile;
use layout::Layout;

/// cordon's image on the card.
const CORDON_FILE: &str = "cordon.bin";
/// U-Boot on the Pi's card, which `config.txt` names.
const U_BOOT_FILE: &str = "u-boot.bin";
/// The compiled boot script, where distro boot looks for it.
const BOOT_SCR: &str = "boot.scr";
/// Its source, kept beside the card image for reading.
const BOOT_CMD: &str = "boot.cmd";
/// The directory the card's files are made in, beside cordon's image.
const WORK_DIR: &str = "sdcard";
/// The card image's name in it.
const IMAGE_FILE: &str = "sd.img";
/// The card's directory of VM boot modules: `vms/<vm>/kernel` and `initrd`.
const VMS_DIR: &str = "vms";

/// A card image and what boots it under QEMU.
#[derive(Debug, Clone)]
pub struct Card {
    /// The raw image, to flash or to give QEMU.
    pub image: PathBuf,
    /// The board's U-Boot (for `virt`, its `-bios`; also on the Pi's card).
    pub u_boot: PathBuf,
}

/// Makes the card image for `board` with the partition config `config`
/// (`guest_append` added to its management VM's command line).
pub fn make(
    workspace: &Workspace,
    board: Board,
    config: &Path,
    guest_append: Option<&str>,
) -> Result<Card> {
    let boot_files = prereq::for_sd_card(workspace, board)?;
    let prepared = partition::prepare(workspace, config, Some(board), guest_append, |m| m)?;
    let (cordon, vms) = (prepared.machine.image().to_owned(), prepared.vms);
    let dir = cordon
        .parent()
        .expect("an image lies in an output directory")
        .join(WORK_DIR);
    create_dir(&dir)?;

    let mut files = board_files(workspace, board, &boot_files, &dir)?;
    files.push(CardFile {
        source: cordon,
        dest: CORDON_FILE.to_owned(),
    });
    let (modules, module_files) = modules(&vms);
    files.extend(module_files);
    let script = boot_script(CORDON_FILE, &modules).map_err(|error| Error::BadFile {
        path: dir.join(BOOT_CMD),
        problem: error.to_string(),
    })?;
    let script_source = write(&dir, BOOT_CMD, script)?;
    let script_image = dir.join(BOOT_SCR);
    card_image::mkimage_script(&script_source, &script_image)?;
    files.push(CardFile {
        source: script_image,
        dest: BOOT_SCR.to_owned(),
    });

    let image = dir.join(IMAGE_FILE);
    let layout = Layout::for_files(total_size(&files)?).map_err(|error| Error::BadFile {
        path: image.clone(),
        problem: error.to_string(),
    })?;
    card_image::write(&image, &layout, &files)?;
    Ok(Card {
        image,
        u_boot: boot_files.u_boot,
    })
}

/// What the board's firmware needs on the card: for the Pi 4 its firmware,
/// device tree, `config.txt` (written to `dir`) and U-Boot; nothing for
/// `virt`, whose U-Boot is in its flash.
fn board_files(
    workspace: &Workspace,
    board: Board,
    boot_files: &BootFiles,
    dir: &Path,
) -> Result<Vec<CardFile>> {
    if board != Board::Rpi4 {
        return Ok(Vec::new());
    }
    let config_txt = write(
        dir,
        rpi_config::CONFIG_TXT,
        rpi_config::config_txt(U_BOOT_FILE),
    )?;
    let mut files: Vec<CardFile> = boot_files
        .firmware
        .iter()
        .chain([&prereq::rpi4_dtb(workspace), &config_txt])
        .map(|source| CardFile {
            dest: file_name(source),
            source: source.clone(),
        })
        .collect();
    files.push(CardFile {
        source: boot_files.u_boot.clone(),
        dest: U_BOOT_FILE.to_owned(),
    });
    Ok(files)
}

/// The boot script's modules and their files on the card, for `vms`.
fn modules(vms: &[ConfigVm]) -> (Vec<Module>, Vec<CardFile>) {
    let mut modules = Vec::new();
    let mut files = Vec::new();
    for vm in vms {
        let placed = &vm.modules;
        let kernel = (&placed.kernel, ModuleKind::Kernel);
        let initrd = placed.initrd.as_ref().map(|f| (f, ModuleKind::Ramdisk));
        for (file, kind) in std::iter::once(kernel).chain(initrd) {
            let dest = format!("{VMS_DIR}/{}/{}", vm.name, card_name(kind));
            modules.push(Module {
                file: dest.clone(),
                address: file.address,
                kind,
                bootargs: (kind == ModuleKind::Kernel).then(|| placed.bootargs.clone()),
            });
            files.push(CardFile {
                source: file.file.clone(),
                dest,
            });
        }
    }
    (modules, files)
}

/// A module's file name in its VM's directory on the card.
fn card_name(kind: ModuleKind) -> &'static str {
    match kind {
        ModuleKind::Kernel => "kernel",
        ModuleKind::Ramdisk => "initrd",
    }
}

fn total_size(files: &[CardFile]) -> Result<u64> {
    files.iter().try_fold(0u64, |total, file| {
        let metadata = fs::metadata(&file.source)
            .map_err(|error| Error::io(format!("cannot read {}", file.source.display()), error))?;
        Ok(total.saturating_add(metadata.len()))
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .expect("a fetched file has a name")
        .to_string_lossy()
        .into_owned()
}

/// Writes `contents` to `dir/name` and returns the path.
fn write(dir: &Path, name: &str, contents: String) -> Result<PathBuf> {
    let path = dir.join(name);
    fs::write(&path, contents)
        .map_err(|error| Error::io(format!("cannot write {}", path.display()), error))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use cordon_qemu::{PlacedFile, PlacedGuest};

    use super::*;

    #[test]
    fn each_vm_gets_its_kernel_and_initrd_on_the_card() {
        let placed = |file: &str, address| PlacedFile {
            file: file.into(),
            address,
        };
        let vms = [
            ConfigVm {
                name: "mgmt".to_owned(),
                modules: PlacedGuest {
                    kernel: placed("/cache/vmlinuz", 0x3000_0000),
                    initrd: Some(placed("/out/initramfs.cpio.gz", 0x3200_0000)),
                    bootargs: "console=ttyAMA0".to_owned(),
                },
            },
            ConfigVm {
                name: "rt".to_owned(),
                modules: PlacedGuest {
                    kernel: placed("/out/hostile.bin", 0x3400_0000),
                    initrd: None,
                    bootargs: String::new(),
                },
            },
        ];
        let (modules, files) = modules(&vms);
        let on_card: Vec<(&str, &Path)> = files
            .iter()
            .map(|file| (file.dest.as_str(), file.source.as_path()))
            .collect();
        assert_eq!(
            on_card,
            [
                ("vms/mgmt/kernel", Path::new("/cache/vmlinuz")),
                ("vms/mgmt/initrd", Path::new("/out/initramfs.cpio.gz")),
                ("vms/rt/kernel", Path::new("/out/hostile.bin")),
            ]
        );
        let described: Vec<(u64, ModuleKind, Option<&str>)> = modules
            .iter()
            .map(|m| (m.address, m.kind, m.bootargs.as_deref()))
            .collect();
        assert_eq!(
            described,
            [
                (0x3000_0000, ModuleKind::Kernel, Some("console=ttyAMA0")),
                (0x3200_0000, ModuleKind::Ramdisk, None),
                (0x3400_0000, ModuleKind::Kernel, Some("")),
            ]
        );
    }
}
