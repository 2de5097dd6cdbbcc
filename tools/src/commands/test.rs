//! `cargo xtask test`: prerequisites, host unit tests, every board image, the
//! management VM, and the QEMU boot tests, with a summary of each step.

use std::time::{Duration, Instant};

use cordon_qemu::Board;

use super::build::build_image;
use crate::error::{Error, Result};
use crate::exec;
use crate::mgmt_vm;
use crate::paths::Workspace;
use crate::prereq;

/// The environment variables through which the boot tests find their inputs.
const IMAGE_QEMU_VIRT_VAR: &str = "CORDON_IMAGE_QEMU_VIRT";
const IMAGE_RPI4_VAR: &str = "CORDON_IMAGE_RPI4";
const RPI4_DTB_VAR: &str = "CORDON_RPI4_DTB";
const MGMT_KERNEL_VAR: &str = "CORDON_MGMT_KERNEL";
const MGMT_INITRAMFS_VAR: &str = "CORDON_MGMT_INITRAMFS";
const MGMT_DISK_VAR: &str = "CORDON_MGMT_DISK";

/// How a step ended.
enum Outcome {
    Passed,
    Failed(Error),
    Skipped(&'static str),
}

/// One line of the summary.
struct Step {
    name: String,
    outcome: Outcome,
    took: Duration,
}

/// Runs every test step; fails if any step failed.
pub fn test(workspace: &Workspace) -> Result<()> {
    let prerequisites = timed("prerequisites", || prereq::for_boot(workspace, &Board::ALL));
    let mut steps = vec![prerequisites];
    // Without the prerequisites no later step can run.
    if !matches!(steps[0].outcome, Outcome::Passed) {
        return summarize(&steps);
    }

    steps.push(timed("host unit tests", || {
        exec::run(exec::cargo(workspace.root()).arg("test"))
    }));
    let mut images = Vec::new();
    for board in Board::ALL {
        steps.push(timed(&format!("build {board}"), || {
            images.push((board, build_image(workspace, board)?));
            Ok(())
        }));
    }
    let mut vm = None;
    steps.push(timed("build management VM", || {
        vm = Some(mgmt_vm::prepare(workspace)?);
        Ok(())
    }));
    if images.len() == Board::ALL.len() {
        steps.push(timed("QEMU boot tests", || {
            let mut command = exec::cargo(workspace.root());
            command
                .args(["test", "--package", "cordon-qemu", "--test", "boot"])
                // One QEMU at a time: parallel emulators on a small host
                // slow each other down towards the deadlines.
                .args(["--", "--test-threads=1"])
                .env(RPI4_DTB_VAR, prereq::rpi4_dtb(workspace));
            for (board, image) in &images {
                command.env(image_var(*board), image);
            }
            // Without them, the management VM's tests fail and say so.
            if let Some(vm) = &vm {
                command
                    .env(MGMT_KERNEL_VAR, &vm.kernel)
                    .env(MGMT_INITRAMFS_VAR, &vm.initramfs)
                    .env(MGMT_DISK_VAR, &vm.disk);
            }
            exec::run(&mut command)
        }));
    } else {
        steps.push(Step {
            name: "QEMU boot tests".to_owned(),
            outcome: Outcome::Skipped("a board image did not build"),
            took: Duration::ZERO,
        });
    }
    summarize(&steps)
}

fn image_var(board: Board) -> &'static str {
    match board {
        Board::QemuVirt => IMAGE_QEMU_VIRT_VAR,
        Board::Rpi4 => IMAGE_RPI4_VAR,
    }
}

/// Runs one step, keeping its failure for the summary.
fn timed(name: &str, step: impl FnOnce() -> Result<()>) -> Step {
    eprintln!("\n=== {name}");
    let started = Instant::now();
    let outcome = match step() {
        Ok(()) => Outcome::Passed,
        Err(error) => {
            eprintln!("xtask: {name} failed: {error}");
            Outcome::Failed(error)
        }
    };
    Step {
        name: name.to_owned(),
        outcome,
        took: started.elapsed(),
    }
}

fn summarize(steps: &[Step]) -> Result<()> {
    eprintln!("\n=== summary of `cargo xtask test`");
    for step in steps {
        let outcome = match &step.outcome {
            Outcome::Passed => "ok".to_owned(),
            Outcome::Failed(error) => format!("FAILED: {error}"),
            Outcome::Skipped(reason) => format!("skipped: {reason}"),
        };
        eprintln!(
            "  {:<20} {:>6.1} s  {outcome}",
            step.name,
            step.took.as_secs_f64()
        );
    }
    if steps
        .iter()
        .all(|step| matches!(step.outcome, Outcome::Passed))
    {
        eprintln!("all steps passed");
        Ok(())
    } else {
        Err(Error::TestsFailed)
    }
}
