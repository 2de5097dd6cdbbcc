//! What the tasks need on this machine, checked and installed when missing:
//! the Rust targets, QEMU, the Raspberry Pi 4 device tree and kernel, the
//! Debian files the management VM is made of, the C compiler its programs
//! need, what SD card images need, the x86-pc board's ISO tools and
//! Bochs, and the software TPM of the agent's tests.

mod apt_sources;
mod c_compiler;
mod debian_package;
pub mod fuzzing;
mod mgmt_vm;
mod os_release;
mod pc;
mod qemu;
mod sdcard;
mod system;
mod toolchain;
mod tpm;

use std::path::PathBuf;

use cordon_qemu::Board;

use crate::error::Result;
use crate::paths::Workspace;
use debian_package::{Origin, PackageFile, PackageFiles};

pub use c_compiler::ensure as c_compiler;
pub use mgmt_vm::{
    fetch as mgmt_vm_files, fetch_x86 as x86_mgmt_vm_files, kernel as mgmt_vm_kernel,
    x86_kernel as x86_mgmt_vm_kernel,
};
pub use sdcard::{BootFiles, no_sd_card};
pub use tpm::ensure as software_tpm;

const RPI4_DTB_NAME: &str = "bcm2711-rpi-4-b.dtb";
/// Debian's generic arm64 kernel (a raw arm64 Image): unlike the cloud
/// flavour it has the BCM2711 drivers (the mini-UART's among them).
const RPI4_KERNEL_NAME: &str = "vmlinuz-arm64";
/// Debian's generic arm64 kernel package carries the Raspberry Pi 4 DTB;
/// the kernel comes from the same package, so from the same version.
const RPI4_FILES: PackageFiles<'static> = PackageFiles {
    origin: Origin::DependencyOf("linux-image-arm64"),
    files: &[
        PackageFile {
            member: "usr/lib/linux-image-*/broadcom/bcm2711-rpi-4-b.dtb",
            name: RPI4_DTB_NAME,
        },
        PackageFile {
            member: "boot/vmlinuz-*",
            name: RPI4_KERNEL_NAME,
        },
        PackageFile {
            member: "lib/modules/*/kernel/drivers/mmc/host/sdhci.ko",
            name: "sdhci.ko",
        },
        PackageFile {
            member: "lib/modules/*/kernel/drivers/mmc/host/sdhci-pltfm.ko",
            name: "sdhci-pltfm.ko",
        },
        PackageFile {
            member: "lib/modules/*/kernel/drivers/mmc/host/sdhci-iproc.ko",
            name: "sdhci-iproc.ko",
        },
    ],
};
/// The files of [`RPI4_FILES`] before its kernel modules: the DTB and the kernel.
const RPI4_FILES_BEFORE_MODULES: usize = 2;

/// What building the board images needs.
pub fn for_build(workspace: &Workspace) -> Result<()> {
    toolchain::ensure_targets(workspace.root())
}

/// What building and booting `boards` under QEMU (or for x86-pc, Bochs) needs.
pub fn for_boot(workspace: &Workspace, boards: &[Board]) -> Result<()> {
    for_build(workspace)?;
    let qemu_major = boards
        .iter()
        .filter_map(|&board| qemu::minimum_major(board))
        .max();
    if let Some(major) = qemu_major {
        qemu::ensure(major)?;
    }
    if boards.contains(&Board::Rpi4) {
        debian_package::fetch(&RPI4_FILES, &workspace.cache())?;
    }
    if boards.contains(&Board::X86Pc) {
        pc::ensure()?;
    }
    Ok(())
}

/// What making the management VM's storage disk needs: `mkfs.ext4`.
pub fn for_storage() -> Result<()> {
    system::ensure_packages(
        "the tool that formats the management VM's storage",
        &["e2fsprogs"],
    )
}

/// What writing an SD card image for `board` needs (without a partition
/// config: checking one needs QEMU, see [`for_boot`]); the Debian files
/// that go on the card.
pub fn for_sd_card(workspace: &Workspace, board: Board) -> Result<BootFiles> {
    for_build(workspace)?;
    if board == Board::Rpi4 {
        debian_package::fetch(&RPI4_FILES, &workspace.cache())?;
    }
    sdcard::fetch(workspace, board)
}

/// The SD host controller driver of the Pi's kernel (`sdhci`,
/// `sdhci-pltfm`, `sdhci-iproc`, in loading order), which Debian builds as
/// modules, for the management VM's initramfs: fetched once.
pub fn rpi4_sd_modules(workspace: &Workspace) -> Result<Vec<PathBuf>> {
    let files = debian_package::fetch(&RPI4_FILES, &workspace.cache())?;
    Ok(files.into_iter().skip(RPI4_FILES_BEFORE_MODULES).collect())
}

/// Where [`for_boot`] puts the Raspberry Pi 4 DTB.
pub fn rpi4_dtb(workspace: &Workspace) -> PathBuf {
    workspace.cache().join(RPI4_DTB_NAME)
}
