//! `cargo xtask image`: the x86-pc board's bootable GRUB ISO with cordon
//! and its command line, the artifact an industrial PC's disk would carry.

use std::path::{Path, PathBuf};

use cordon_qemu::Board;

use super::build::build_image;
use crate::error::{Error, Result};
use crate::paths::Workspace;
use crate::pc_iso::{self, MgmtVmFiles};
use crate::prereq;

/// The name of the ISO `cargo xtask image` and `run` write.
pub const DEFAULT_ISO: &str = "cordon";
/// The name of the ISO with the Linux management VM (`run --mgmt-only`,
/// and the boot test's).
pub const MGMT_VM_ISO: &str = "mgmt-vm";

/// Builds `board` and writes its ISO, cordon started with `command_line`;
/// returns the ISO's path.
pub fn image(workspace: &Workspace, board: Board, command_line: &str) -> Result<PathBuf> {
    if board != Board::X86Pc {
        return Err(Error::Usage(format!(
            "image makes the {} board's GRUB ISO; {board}'s image is what `build` writes",
            Board::X86Pc
        )));
    }
    prereq::for_boot(workspace, &[board])?;
    let elf = build_image(workspace, board)?;
    write_iso(workspace, &elf, DEFAULT_ISO, command_line, None)
}

/// Writes the x86-pc ISO `name` booting `elf` with `command_line` (and
/// `mgmt_vm`, if any); returns its path.
pub fn write_iso(
    workspace: &Workspace,
    elf: &Path,
    name: &str,
    command_line: &str,
    mgmt_vm: Option<MgmtVmFiles<'_>>,
) -> Result<PathBuf> {
    let iso = workspace.pc_iso(name);
    let staging = workspace.pc_iso_staging(name);
    pc_iso::write(elf, command_line, mgmt_vm, &staging, &iso)?;
    println!(
        "{}: {} (cordon {command_line:?})",
        Board::X86Pc,
        iso.display()
    );
    Ok(iso)
}
