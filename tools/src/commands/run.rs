//! `cargo xtask run`: build a board's image and boot it under QEMU (x86-pc:
//! its ISO under Bochs), with the serial console on this terminal. On
//! qemu-virt, cordon boots the Linux management VM, or with `--config` the
//! VMs of a partition config.

use std::process::{Command, Stdio};
use std::time::Instant;

use cordon_qemu::mgmt_vm::{MgmtVm, bootargs};
use cordon_qemu::pc::{Emulator, PC_DEFAULT_CPUS, PcMachine};
use cordon_qemu::{Board, Console, Machine, Running};

use super::build::build_image;
use super::image::DEFAULT_PC_CONFIG;
use crate::cli::RunOptions;
use crate::error::{Error, Result};
use crate::exec;
use crate::mgmt_vm;
use crate::partition;
use crate::paths::Workspace;
use crate::prereq;

/// The partition config `cargo xtask run` boots on qemu-virt by default:
/// the management VM, a Linux workload VM and a heartbeat guest.
pub const DEFAULT_VIRT_CONFIG: &str = "boards/qemu-virt/configs/three-vms.toml";
/// The partition config `cargo xtask run --board x86-pc --mgmt-only` boots.
const MGMT_ONLY_PC_CONFIG: &str = "boards/x86-pc/configs/mgmt-only.toml";

/// Builds and boots as `options` say; returns when QEMU exits or the timeout passes.
pub fn run(workspace: &Workspace, options: &RunOptions) -> Result<()> {
    if options.board == Board::X86Pc {
        return run_pc(workspace, options);
    }
    // qemu-virt runs its three-VM setup unless told otherwise (or without
    // EL2, where cordon runs no VM).
    let default_config = (options.board == Board::QemuVirt && options.el2 && !options.mgmt_only)
        .then(|| workspace.root().join(DEFAULT_VIRT_CONFIG));
    // The software TPM behind the machine's, if any, runs until QEMU ends.
    let (machine, _swtpm) = match options.config.as_ref().or(default_config.as_ref()) {
        Some(file) => {
            let prepared = partition::prepare(
                workspace,
                file,
                Some(options.board),
                options.guest_append.as_deref(),
                |machine| tune(machine, options),
            )?;
            (prepared.machine, prepared.swtpm)
        }
        None => (build_default(workspace, options)?, None),
    };
    boot(machine.command()?, options)
}

/// x86-pc: its ISO under Bochs, which emulates VT-x, with the partition
/// config asked for, or the usual one (with `--mgmt-only`, the Linux
/// management VM alone).
fn run_pc(workspace: &Workspace, options: &RunOptions) -> Result<()> {
    let command_line = options.append.as_deref().unwrap_or_default();
    let default = match options.mgmt_only {
        true => MGMT_ONLY_PC_CONFIG,
        false => DEFAULT_PC_CONFIG,
    };
    let config = options
        .config
        .clone()
        .unwrap_or_else(|| workspace.root().join(default));
    let cpus = options.cpus.unwrap_or(PC_DEFAULT_CPUS);
    let iso = partition::prepare_pc(
        workspace,
        &config,
        options.guest_append.as_deref(),
        command_line,
        cpus,
    )?;
    let command = PcMachine::new(Emulator::Bochs, iso)
        .cpus(cpus)
        .command()
        .map_err(|error| Error::io("cannot write the Bochs configuration", error))?;
    boot(command, options)
}

/// Builds the image without a config, and on qemu-virt the management VM.
fn build_default(workspace: &Workspace, options: &RunOptions) -> Result<Machine> {
    let vm = (options.board == Board::QemuVirt).then(|| mgmt_vm::locations(workspace));
    let machine = machine(workspace, options, vm.as_ref());
    // Refuse an impossible machine before installing or building anything.
    machine.args()?;
    prereq::for_boot(workspace, &[options.board])?;
    build_image(workspace, options.board)?;
    if vm.is_some() {
        mgmt_vm::prepare(workspace)?;
    }
    Ok(machine)
}

/// Runs the emulator `command`; returns when it exits or the timeout passes.
fn boot(mut command: Command, options: &RunOptions) -> Result<()> {
    let Some(timeout) = options.timeout else {
        return exec::run(&mut command);
    };
    eprintln!("$ {}", exec::display(&command));
    command.stdin(Stdio::null());
    let mut qemu = Running::spawn(&mut command)
        .map_err(|error| Error::io(format!("cannot start `{}`", exec::display(&command)), error))?;
    let waited = qemu
        .wait_until(Instant::now() + timeout)
        .map_err(|error| Error::io("cannot wait for the emulator", error))?;
    match waited {
        Some(status) if status.success() => Ok(()),
        Some(status) => Err(Error::CommandFailed {
            command: exec::display(&command),
            status,
        }),
        None => {
            qemu.stop()
                .map_err(|error| Error::io("cannot stop the emulator", error))?;
            eprintln!(
                "\nxtask: stopped the emulator after the {} s timeout",
                timeout.as_secs()
            );
            Ok(())
        }
    }
}

/// The QEMU machine for `options`: cordon with the management VM `vm`, or
/// cordon alone.
fn machine(workspace: &Workspace, options: &RunOptions, vm: Option<&MgmtVm>) -> Machine {
    let image = workspace.board_image(options.board);
    let machine = match vm {
        Some(vm) => vm.under_cordon(image, &bootargs(options.guest_append.as_deref())),
        None => {
            let dtb = (options.board == Board::Rpi4).then(|| prereq::rpi4_dtb(workspace));
            Machine::for_board(options.board, image, dtb)
        }
    };
    tune(machine, options)
}

/// `machine` with the console, CPUs, EL and command line `options` ask for.
fn tune(machine: Machine, options: &RunOptions) -> Machine {
    let mut machine = machine.console(match options.timeout {
        Some(_) => Console::Captured,
        None => Console::Interactive,
    });
    if let Some(cpus) = options.cpus {
        machine = machine.cpus(cpus);
    }
    if !options.el2 {
        machine = machine.without_el2();
    }
    if let Some(append) = &options.append {
        machine = machine.append(append.as_str());
    }
    machine
}
