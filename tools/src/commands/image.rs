//! `cargo xtask image`: the x86-pc board's bootable GRUB ISO with cordon,
//! its command line, a partition config and the VMs' images, the artifact
//! an industrial PC's disk would carry.

use std::path::{Path, PathBuf};

use cordon_qemu::Board;
use cordon_qemu::pc::PC_DEFAULT_CPUS;

use crate::error::{Error, Result};
use crate::partition;
use crate::paths::Workspace;
use crate::pc_iso;

/// The partition config the x86-pc ISO carries unless told otherwise: the
/// Linux management VM on CPU 0, a bare-metal heartbeat on CPU 1.
pub const DEFAULT_PC_CONFIG: &str = "boards/x86-pc/configs/mgmt-and-heartbeat.toml";

/// Builds `board` with the partition config `config` (default:
/// [`DEFAULT_PC_CONFIG`]) and writes its ISO, cordon started with
/// `command_line`; returns the ISO's path.
pub fn image(
    workspace: &Workspace,
    board: Board,
    config: Option<&Path>,
    command_line: &str,
) -> Result<PathBuf> {
    if board != Board::X86Pc {
        return Err(Error::Usage(format!(
            "image makes the {} board's GRUB ISO; {board}'s image is what `build` writes",
            Board::X86Pc
        )));
    }
    let default = workspace.root().join(DEFAULT_PC_CONFIG);
    let config = config.unwrap_or(&default);
    partition::prepare_pc(workspace, config, None, command_line, PC_DEFAULT_CPUS)
}

/// Writes the x86-pc ISO `name` booting `elf` with `command_line` and no
/// VM (the boot tests' ISOs of cordon alone); returns its path.
pub fn write_iso(
    workspace: &Workspace,
    elf: &Path,
    name: &str,
    command_line: &str,
) -> Result<PathBuf> {
    let iso = workspace.pc_iso(name);
    let staging = workspace.pc_iso_staging(name);
    pc_iso::write(elf, command_line, &[], &staging, &iso)?;
    println!(
        "{}: {} (cordon {command_line:?})",
        Board::X86Pc,
        iso.display()
    );
    Ok(iso)
}
