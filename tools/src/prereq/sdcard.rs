//! What `cargo xtask sdcard` needs: the host tools that make a card image
//! (`mkimage`, `sfdisk`, `mkfs.fat`, mtools), installed with apt, and the
//! Debian files that go on the card, kept in the download cache: U-Boot for
//! the board and, for the Raspberry Pi 4, its boot firmware. The firmware is
//! in Debian's `non-free-firmware` component; on Debian 12 its apt source is
//! added on the mirror the machine already uses when no source has it.

use std::path::{Path, PathBuf};

use cordon_qemu::Board;

use super::apt_sources::{self, Source};
use super::debian_package::{self, Origin, PackageFile, PackageFiles};
use super::os_release::OsRelease;
use super::qemu::BOOKWORM;
use super::system::{self, Step};
use crate::error::{Error, Result};
use crate::paths::Workspace;

/// The Debian packages of the host tools that make a card image: `mkimage`,
/// `sfdisk`, `mkfs.fat`, and `mmd` and `mcopy`.
const TOOL_PACKAGES: [&str; 4] = ["u-boot-tools", "fdisk", "dosfstools", "mtools"];

/// The component of Debian's archive with `raspi-firmware`.
const FIRMWARE_COMPONENT: &str = "non-free-firmware";
/// The apt source file this task adds for it.
const FIRMWARE_SOURCE_FILE: &str = "/etc/apt/sources.list.d/cordon-non-free-firmware.sources";

/// The name U-Boot is kept under in its cache directory.
const U_BOOT_NAME: &str = "u-boot.bin";

/// The Raspberry Pi 4's boot firmware: the VideoCore's program and its
/// memory-split data. (A Pi 4 boots from its EEPROM, without `bootcode.bin`.)
const RPI_FIRMWARE: PackageFiles<'static> = PackageFiles {
    origin: Origin::ArchAll("raspi-firmware"),
    files: &[
        PackageFile {
            member: "usr/lib/raspi-firmware/start4.elf",
            name: "start4.elf",
        },
        PackageFile {
            member: "usr/lib/raspi-firmware/fixup4.dat",
            name: "fixup4.dat",
        },
    ],
};
/// U-Boot for every 64-bit Raspberry Pi, the Pi 4 among them.
const U_BOOT_RPI: PackageFiles<'static> = PackageFiles {
    origin: Origin::Package("u-boot-rpi"),
    files: &[PackageFile {
        member: "usr/lib/u-boot/rpi_arm64/u-boot.bin",
        name: U_BOOT_NAME,
    }],
};
/// U-Boot for QEMU's arm64 `virt`, started with `-bios`.
const U_BOOT_QEMU: PackageFiles<'static> = PackageFiles {
    origin: Origin::ArchAll("u-boot-qemu"),
    files: &[PackageFile {
        member: "usr/lib/u-boot/qemu_arm64/u-boot.bin",
        name: U_BOOT_NAME,
    }],
};

/// The Debian files for a board's card.
#[derive(Debug, Clone)]
pub struct BootFiles {
    /// U-Boot: on the card for the Pi, QEMU's firmware for `virt`.
    pub u_boot: PathBuf,
    /// The board's boot firmware, which goes on the card as it is.
    pub firmware: Vec<PathBuf>,
}

/// Installs the tools and fetches the Debian files of `board`'s card.
pub fn fetch(workspace: &Workspace, board: Board) -> Result<BootFiles> {
    let u_boot = u_boot_package(board).ok_or_else(|| no_sd_card(board))?;
    system::ensure_packages("the tools that make SD card images", &TOOL_PACKAGES)?;
    let cache = workspace.cache();
    let firmware = if board == Board::Rpi4 {
        let dir = cache.join(package_name(&RPI_FIRMWARE));
        if !debian_package::is_cached(&RPI_FIRMWARE, &dir) {
            ensure_firmware_source()?;
        }
        debian_package::fetch(&RPI_FIRMWARE, &dir)?
    } else {
        Vec::new()
    };
    debian_package::fetch(u_boot, &cache.join(package_name(u_boot)))?;
    Ok(BootFiles {
        u_boot: u_boot_path(workspace, u_boot),
        firmware,
    })
}

/// Why `board` gets no SD card image.
pub fn no_sd_card(board: Board) -> Error {
    Error::Usage(format!(
        "{board} boots from a GRUB ISO, not an SD card: `cargo xtask image --board {board}`"
    ))
}

/// Where [`fetch`] puts U-Boot from its package `u_boot`.
fn u_boot_path(workspace: &Workspace, u_boot: &PackageFiles<'static>) -> PathBuf {
    workspace
        .cache()
        .join(package_name(u_boot))
        .join(U_BOOT_NAME)
}

/// The package with `board`'s U-Boot; none for a board that does not boot
/// from a card.
fn u_boot_package(board: Board) -> Option<&'static PackageFiles<'static>> {
    match board {
        Board::Rpi4 => Some(&U_BOOT_RPI),
        Board::QemuVirt => Some(&U_BOOT_QEMU),
        Board::X86Pc => None,
    }
}

/// The package's name, which is also its cache directory's.
fn package_name(package: &PackageFiles<'static>) -> &'static str {
    match package.origin {
        Origin::Package(name)
        | Origin::DependencyOf(name)
        | Origin::ArchAll(name)
        | Origin::Amd64(name)
        | Origin::Amd64DependencyOf(name) => name,
    }
}

/// Adds an apt source for [`FIRMWARE_COMPONENT`] if none serves it.
fn ensure_firmware_source() -> Result<()> {
    let steps = firmware_source_steps(&OsRelease::read(), &apt_sources::read_system()?)
        .map_err(Error::Prerequisite)?;
    if steps.is_empty() {
        return Ok(());
    }
    system::carry_out(
        &format!("adding Debian's {FIRMWARE_COMPONENT} component to apt's sources"),
        &steps,
    )
}

/// The steps that let apt find `raspi-firmware`: none if a source serves
/// [`FIRMWARE_COMPONENT`] already, or why there are none.
fn firmware_source_steps(release: &OsRelease, sources: &[Source]) -> Result<Vec<Step>, String> {
    if sources
        .iter()
        .any(|source| source.serves_component(BOOKWORM, FIRMWARE_COMPONENT))
    {
        return Ok(Vec::new());
    }
    let source = apt_sources::component_source(sources, BOOKWORM, FIRMWARE_COMPONENT)
        .filter(|_| release.is_debian_bookworm())
        .ok_or_else(|| {
            format!(
                "the Raspberry Pi firmware comes from Debian 12's {FIRMWARE_COMPONENT} \
                 component, and no apt source serves {BOOKWORM} here; add {BOOKWORM} \
                 {FIRMWARE_COMPONENT} to apt's sources"
            )
        })?;
    Ok(vec![
        Step::Write {
            path: Path::new(FIRMWARE_SOURCE_FILE).to_owned(),
            contents: format!(
                "# Added by `cargo xtask` (cordon): the Raspberry Pi firmware for SD card \
                 images.\n{}",
                source.to_deb822()
            ),
        },
        Step::run(&["apt-get", "update"]),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bookworm() -> OsRelease {
        OsRelease::parse("ID=debian\nVERSION_CODENAME=bookworm\n")
    }

    fn mirror(components: &[&str]) -> Source {
        Source {
            types: vec!["deb".to_owned()],
            uris: vec!["http://mirror.example/debian".to_owned()],
            suites: vec![BOOKWORM.to_owned()],
            components: components.iter().map(|&c| c.to_owned()).collect(),
            signed_by: None,
        }
    }

    #[test]
    fn adds_the_firmware_component_on_the_same_mirror() {
        let steps = firmware_source_steps(&bookworm(), &[mirror(&["main"])]).unwrap();
        let [Step::Write { path, contents }, update] = steps.as_slice() else {
            panic!("a source and an update: {steps:?}");
        };
        assert_eq!(path, Path::new(FIRMWARE_SOURCE_FILE));
        assert!(contents.contains("URIs: http://mirror.example/debian\n"));
        assert!(contents.contains("Suites: bookworm\nComponents: non-free-firmware\n"));
        assert_eq!(update, &Step::run(&["apt-get", "update"]));
    }

    #[test]
    fn nothing_to_add_when_a_source_has_the_component() {
        let sources = [mirror(&["main", "non-free-firmware"])];
        assert_eq!(firmware_source_steps(&bookworm(), &sources), Ok(Vec::new()));
    }

    #[test]
    fn other_releases_are_told_what_to_add() {
        let trixie = OsRelease::parse("ID=debian\nVERSION_CODENAME=trixie\n");
        let error = firmware_source_steps(&trixie, &[mirror(&["main"])]).unwrap_err();
        assert!(error.contains("non-free-firmware"), "{error}");
        assert!(firmware_source_steps(&bookworm(), &[]).is_err());
    }

    #[test]
    fn each_board_has_its_u_boot() {
        let workspace = Workspace::locate();
        let u_boot = |board| u_boot_path(&workspace, u_boot_package(board).unwrap());
        let (rpi4, virt) = (u_boot(Board::Rpi4), u_boot(Board::QemuVirt));
        assert!(
            u_boot_package(Board::X86Pc).is_none(),
            "x86-pc boots from an ISO"
        );
        assert!(
            rpi4.ends_with("u-boot-rpi/u-boot.bin"),
            "{}",
            rpi4.display()
        );
        assert!(
            virt.ends_with("u-boot-qemu/u-boot.bin"),
            "{}",
            virt.display()
        );
    }
}
