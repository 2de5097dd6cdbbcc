//! Partition configs (`cordon-config`) on the host: read a TOML file, check
//! it against the board, place the boot modules, embed it in an image of
//! the board's, and set up the QEMU machine that boots its VMs.

mod board_dt;
mod files;
mod load;
mod machine;
mod pc;
mod placement;
mod rpi4_dtb;

pub use pc::prepare_pc;

/// Why `board` cannot boot a partition config.
fn configs_not_booted(board: Board) -> Error {
    Error::Usage(format!(
        "partition configs are not booted on {board} yet; its image runs cordon alone"
    ))
}

#[cfg(test)]
mod tests;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use cordon_config::Role;
use cordon_qemu::config_machine::ConfigVm;
use cordon_qemu::swtpm::Swtpm;
use cordon_qemu::{Board, Machine, storage_disk};

use crate::commands::build::build_image_with_config;
use crate::error::{Error, Result};
use crate::paths::Workspace;
use crate::prereq;

use load::load;

/// The extension of a partition config file.
const CONFIG_EXTENSION: &str = "toml";

/// A config built into an image of its own.
#[derive(Debug)]
pub struct Prepared {
    /// The QEMU machine that boots it.
    pub machine: Machine,
    /// The software TPM behind the machine's TPM, if a VM is given one: it
    /// runs as long as this is kept.
    pub swtpm: Option<Swtpm>,
    /// The file that describes that machine, before `tune` (see
    /// `cordon_qemu::config_machine`).
    pub description: PathBuf,
    /// Each VM's boot modules, where the config places them (for any
    /// board; the machine loads them on qemu-virt only).
    pub vms: Vec<ConfigVm>,
}

/// Checks the config in `file` for `board` (default: the config's own),
/// makes and places its boot modules, writes `config.bin` and builds an
/// image with it, all in the config's own output directory (the image
/// without a config stays as it is). Returns the QEMU machine that boots
/// it, as `tune` adjusts it (the device tree is checked on that very
/// machine). `guest_append` goes at the end of the management VM's command
/// line.
pub fn prepare(
    workspace: &Workspace,
    file: &Path,
    board: Option<Board>,
    guest_append: Option<&str>,
    tune: impl FnOnce(Machine) -> Machine,
) -> Result<Prepared> {
    let mut loaded = load(file)?;
    let board = board_of(&loaded, board)?;
    let window = placement::window(board).ok_or_else(|| configs_not_booted(board))?;
    prereq::for_boot(workspace, &[board])?;
    let made = files::make(workspace, &loaded)?;
    placement::place(&mut loaded.config, &made.vms, window)
        .map_err(|problems| loaded.error(problems))?;
    if let Some(extra) = guest_append {
        append_to_management(&mut loaded.config, extra);
    }
    load::check(&loaded, loaded.config.errors())?;

    let output = workspace.config_output(board, loaded.name());
    output.create()?;
    if board == Board::Rpi4 {
        rpi4_dtb::write(
            &prereq::rpi4_dtb(workspace),
            &loaded.config,
            &made.vms,
            &output.firmware_dtb(),
        )?;
    }
    let described = machine::machine(board, &output, &loaded.config, &made)
        .ok_or_else(|| configs_not_booted(board))?;
    if let Some(storage) = &described.storage {
        prereq::for_storage()?;
        storage_disk::keep_or_create(storage).map_err(|error| Error::BadFile {
            path: storage.clone(),
            problem: format!("cannot make the storage disk: {error}"),
        })?;
    }
    let swtpm = if described.tpm {
        prereq::software_tpm()?;
        let state = output.swtpm_state();
        let swtpm = Swtpm::start(&state)
            .map_err(|error| Error::io(format!("software TPM in {}", state.display()), error))?;
        Some(swtpm)
    } else {
        None
    };
    let mut machine = tune(described.machine());
    if let Some(swtpm) = &swtpm {
        machine = machine.tpm(swtpm.socket());
    }
    let dtb_path = output.board_dtb();
    let dtb = board_dt::dump(&machine, &dtb_path)?;
    board_dt::check(&loaded, &dtb, &dtb_path)?;

    let config_bin = output.config_bin();
    write(&config_bin, loaded.config.to_bytes())?;
    eprintln!(
        "xtask: {}: {} VMs and {} channels fit {board}; boot modules placed; {} written",
        loaded.file.display(),
        loaded.config.vms.len(),
        loaded.config.channels.len(),
        config_bin.display()
    );
    build_image_with_config(workspace, board, &config_bin, &output.image())?;
    let description = output.machine();
    let toml = described.to_toml().map_err(|error| Error::BadFile {
        path: description.clone(),
        problem: format!("cannot describe the machine: {error}"),
    })?;
    write(&description, toml)?;
    Ok(Prepared {
        machine,
        swtpm,
        description,
        vms: machine::placed_vms(&loaded.config, &made),
    })
}

/// The board the config in `file` is for: `asked`, which must be the
/// config's, or else the config's.
pub fn board_of_file(file: &Path, asked: Option<Board>) -> Result<Board> {
    board_of(&load(file)?, asked)
}

/// The config files in `dir` (`*.toml`), in name order; none if there is
/// no such directory.
pub fn configs_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(Error::io(format!("cannot list {}", dir.display()), error));
        }
    };
    let mut configs = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|error| Error::io(format!("cannot list {}", dir.display()), error))?
            .path();
        if path.extension().is_some_and(|ext| ext == CONFIG_EXTENSION) {
            configs.push(path);
        }
    }
    configs.sort();
    Ok(configs)
}

fn write(path: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    fs::write(path, contents)
        .map_err(|error| Error::io(format!("cannot write {}", path.display()), error))
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
