//! `cargo xtask run`: build a board's image and boot it under QEMU, with the
//! serial console on this terminal.

use std::process::Stdio;
use std::time::Instant;

use cordon_qemu::{Board, Console, Machine, Running};

use super::build::build_image;
use crate::cli::RunOptions;
use crate::error::{Error, Result};
use crate::exec;
use crate::paths::Workspace;
use crate::prereq;

/// Builds and boots as `options` say; returns when QEMU exits or the timeout passes.
pub fn run(workspace: &Workspace, options: &RunOptions) -> Result<()> {
    let machine = machine(workspace, options);
    // Refuse an impossible machine before installing or building anything.
    machine.args()?;
    prereq::for_boot(workspace, &[options.board])?;
    build_image(workspace, options.board)?;
    let mut command = machine.command()?;
    let Some(timeout) = options.timeout else {
        return exec::run(&mut command);
    };
    eprintln!("$ {}", exec::display(&command));
    command.stdin(Stdio::null());
    let mut qemu = Running::spawn(&mut command)
        .map_err(|error| Error::io(format!("cannot start `{}`", exec::display(&command)), error))?;
    let waited = qemu
        .wait_until(Instant::now() + timeout)
        .map_err(|error| Error::io("cannot wait for QEMU", error))?;
    match waited {
        Some(status) if status.success() => Ok(()),
        Some(status) => Err(Error::CommandFailed {
            command: exec::display(&command),
            status,
        }),
        None => {
            qemu.stop()
                .map_err(|error| Error::io("cannot stop QEMU", error))?;
            eprintln!(
                "\nxtask: stopped QEMU after the {} s timeout",
                timeout.as_secs()
            );
            Ok(())
        }
    }
}

/// The QEMU machine for `options`.
fn machine(workspace: &Workspace, options: &RunOptions) -> Machine {
    let image = workspace.board_image(options.board);
    let dtb = (options.board == Board::Rpi4).then(|| prereq::rpi4_dtb(workspace));
    let mut machine =
        Machine::for_board(options.board, image, dtb).console(match options.timeout {
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
