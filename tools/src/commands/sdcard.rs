//! `cargo xtask sdcard`: write an SD card image that U-Boot boots cordon
//! from (see [`crate::sdcard`]).

use std::path::Path;

use cordon_qemu::Board;

use super::run::DEFAULT_VIRT_CONFIG;
use crate::error::Result;
use crate::paths::Workspace;
use crate::prereq;
use crate::sdcard;

/// The partition config of the Pi's card unless told otherwise: the
/// management VM alone.
const DEFAULT_RPI4_CONFIG: &str = "boards/rpi4/configs/mgmt-only.toml";

/// Writes the card image of `board` with `config`, `guest_append` on its
/// management VM's command line; the config defaults to the one `cargo
/// xtask run` boots on qemu-virt, and to the management VM on the Pi.
pub fn sdcard(
    workspace: &Workspace,
    board: Board,
    config: Option<&Path>,
    guest_append: Option<&str>,
) -> Result<()> {
    let default = workspace.root().join(match board {
        Board::QemuVirt => DEFAULT_VIRT_CONFIG,
        Board::Rpi4 => DEFAULT_RPI4_CONFIG,
        Board::X86Pc => return Err(prereq::no_sd_card(board)),
    });
    let card = sdcard::make(workspace, board, config.unwrap_or(&default), guest_append)?;
    eprintln!("xtask: SD card image {} ready", card.image.display());
    match board {
        Board::Rpi4 => eprintln!(
            "xtask: flash it to a card (README.md, \"Flashing it to a Raspberry Pi 4\"); the \
             serial console is the mini-UART on GPIO 14/15 at 115200 baud"
        ),
        Board::QemuVirt => eprintln!(
            "xtask: U-Boot for it: {} (QEMU's -bios; the image goes in as a virtio disk)",
            card.u_boot.display()
        ),
        // Refused above: it boots from an ISO.
        Board::X86Pc => {}
    }
    Ok(())
}
