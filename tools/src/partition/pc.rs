//! x86-pc: a config checked against the PC the tools boot it on (Bochs,
//! with its CPUs and RAM), embedded in cordon's ELF, and put together with
//! every VM's images into a GRUB ISO. GRUB places the modules, so the
//! config gives them no addresses: cordon finds them by name.

use std::path::{Path, PathBuf};

use cordon_config::PcFacts;
use cordon_qemu::Board;
use cordon_qemu::pc::PC_MEMORY_MIB;

use super::files::{self, Made};
use super::load::{self, Loaded};
use super::{append_to_management, board_of, write};
use crate::commands::build::build_image_with_config;
use crate::error::Result;
use crate::paths::Workspace;
use crate::pc_iso::{self, IsoModule};
use crate::prereq;

/// Below 1 MiB a PC's RAM is the firmware's and cordon's (the AP
/// trampoline): never a VM's.
const LEGACY_END: u64 = 1 << 20;
const MIB: u64 = 1 << 20;
/// The module roles cordon looks for.
const KERNEL: &str = "kernel";
const INITRD: &str = "initrd";

/// Checks the config in `file` (for x86-pc) against a PC with `cpus` CPUs
/// and the emulated PC's RAM, makes its VMs' files, builds cordon with it
/// embedded, and writes the ISO that boots cordon with `command_line` and
/// the VMs' images; returns the ISO's path. `guest_append` goes at the end
/// of the management VM's command line.
pub fn prepare_pc(
    workspace: &Workspace,
    file: &Path,
    guest_append: Option<&str>,
    command_line: &str,
    cpus: u32,
) -> Result<PathBuf> {
    let mut loaded = load::load(file)?;
    let board = board_of(&loaded, Some(Board::X86Pc))?;
    prereq::for_boot(workspace, &[board])?;
    let made = files::make(workspace, &loaded)?;
    if let Some(extra) = guest_append {
        append_to_management(&mut loaded.config, extra);
    }
    load::check(&loaded, loaded.config.errors())?;
    load::check(&loaded, loaded.config.pc_errors(&emulated_pc(cpus)))?;

    let output = workspace.config_output(board, loaded.name());
    output.create()?;
    let config_bin = output.config_bin();
    write(&config_bin, loaded.config.to_bytes())?;
    eprintln!(
        "xtask: {}: {} VMs fit {board} with {cpus} CPUs and {PC_MEMORY_MIB} MiB; {} written",
        loaded.file.display(),
        loaded.config.vms.len(),
        config_bin.display()
    );
    let elf = output.pc_elf();
    build_image_with_config(workspace, board, &config_bin, &elf)?;
    let iso = output.pc_iso();
    pc_iso::write(
        &elf,
        command_line,
        &modules(&loaded, &made),
        &output.pc_iso_staging(),
        &iso,
    )?;
    println!("{board}: {} (cordon {command_line:?})", iso.display());
    Ok(iso)
}

/// The PC the tools boot: `cpus` CPUs, RAM from 1 MiB to its end. cordon
/// checks again at boot against what is really free.
fn emulated_pc(cpus: u32) -> PcFacts {
    PcFacts {
        cpus: cpus as usize,
        ram: std::iter::once(LEGACY_END..u64::from(PC_MEMORY_MIB) * MIB).collect(),
    }
}

/// Every VM's kernel and initrd, as boot modules.
fn modules(loaded: &Loaded, made: &Made) -> Vec<IsoModule> {
    let module = |vm: &str, file: &files::ModuleFile, role| IsoModule {
        file: file.path.clone(),
        vm: vm.to_owned(),
        role,
    };
    loaded
        .config
        .vms
        .iter()
        .zip(&made.vms)
        .flat_map(|(vm, files)| {
            let initrd = files
                .initrd
                .as_ref()
                .map(|file| module(&vm.name, file, INITRD));
            [Some(module(&vm.name, &files.kernel, KERNEL)), initrd]
        })
        .flatten()
        .collect()
}
