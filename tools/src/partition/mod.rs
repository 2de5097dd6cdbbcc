//! Partition configs (`cordon-config`) on the host: read a TOML file, check
//! it against the board, place the boot modules, embed it in the board's
//! image, and set up the QEMU machine that boots its VMs.

mod board_dt;
mod files;
mod load;
mod machine;
mod placement;
#[cfg(test)]
mod tests;

use std::fs;
use std::path::Path;

use cordon_config::Role;
use cordon_qemu::{Board, Machine};

use crate::commands::build::build_image_with_config;
use crate::error::{Error, Result};
use crate::paths::Workspace;
use crate::prereq;

use load::load;

/// Checks the config in `file` for `board` (default: the config's own),
/// makes and places its boot modules, writes `config.bin` and builds the
/// board's image with it. Returns the QEMU machine that boots it, as
/// `tune` adjusts it (the device tree is checked on that very machine).
/// `guest_append` goes at the end of the management VM's command line.
pub fn prepare(
    workspace: &Workspace,
    file: &Path,
    board: Option<Board>,
    guest_append: Option<&str>,
    tune: impl FnOnce(Machine) -> Machine,
) -> Result<Machine> {
    let mut loaded = load(file)?;
    let board = board_of(&loaded, board)?;
    prereq::for_boot(workspace, &[board])?;
    let made = files::make(workspace, &loaded)?;
    placement::place(&mut loaded.config, &made.vms, placement::window(board))
        .map_err(|problems| loaded.error(problems))?;
    if let Some(extra) = guest_append {
        append_to_management(&mut loaded.config, extra);
    }
    load::check(&loaded, loaded.config.errors())?;

    let machine = tune(machine::machine(workspace, board, &loaded.config, &made));
    let dtb_path = workspace.board_dtb(board);
    let dtb = board_dt::dump(&machine, &dtb_path)?;
    // Only QEMU's virt loads boot modules (with its guest-loader device).
    let loads_modules = board == Board::QemuVirt;
    board_dt::check(&loaded, &dtb, &dtb_path, loads_modules)?;

    let config_bin = workspace.config_bin(board);
    fs::write(&config_bin, loaded.config.to_bytes())
        .map_err(|error| Error::io(format!("cannot write {}", config_bin.display()), error))?;
    eprintln!(
        "xtask: {}: {} VMs and {} channels fit {board}; boot modules placed; {} written",
        loaded.file.display(),
        loaded.config.vms.len(),
        loaded.config.channels.len(),
        config_bin.display()
    );
    build_image_with_config(workspace, board, &config_bin)?;
    Ok(machine)
}

/// The board to build for: `asked`, which must be the config's, or else
/// the config's.
fn board_of(loaded: &load::Loaded, asked: Option<Board>) -> Result<Board> {
    let named: Board = loaded
        .config
        .board
        .parse()
        .map_err(|error: cordon_qemu::UnknownBoard| loaded.error([format!("board: {error}")]))?;
    match asked {
        Some(asked) if asked != named => {
            Err(loaded.error([format!("board: the config is for {named}, not {asked}")]))
        }
        _ => Ok(named),
    }
}

fn append_to_management(config: &mut cordon_config::Config, extra: &str) {
    if let Some(vm) = config.vms.iter_mut().find(|vm| vm.role == Role::Management) {
        let bootargs = &mut vm.image.bootargs;
        if !bootargs.is_empty() {
            bootargs.push(' ');
        }
        bootargs.push_str(extra);
    }
}
