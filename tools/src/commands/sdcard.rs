//! `cargo xtask sdcard`: write an SD card image that U-Boot boots cordon
//! from (see [`crate::sdcard`]).

use std::path::Path;

use cordon_qemu::Board;

use super::run::DEFAULT_VIRT_CONFIG;
use crate::error::Result;
use crate::paths::Workspace;
use crate::sdcard;

/// Writes the card image of `board` with `config`, `guest_append` on its
/// management VM's command line; on qemu-virt the config defaults to the
/// one `cargo xtask run` boots.
pub fn sdcard(
    workspace: &Workspace,
    board: Board,
    config: Option<&Path>,
    guest_append: Option<&str>,
) -> Result<()> {
    let default = (board == Board::QemuVirt).then(|| workspace.root().join(DEFAULT_VIRT_CONFIG));
    let card = sdcard::make(
        workspace,
        board,
        config.or(default.as_deref()),
        guest_append,
    )?;
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
        // `sdcard::make` refused it: it boots from an ISO.
        Board::X86Pc => {}
    }
    Ok(())
}
