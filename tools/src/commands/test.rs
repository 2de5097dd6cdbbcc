//! `cargo xtask test`: prerequisites, formatting and lints, host unit
//! tests, every board image (x86-pc: its GRUB ISOs of cordon alone), the
//! management VM, the test guests, an image for each example partition
//! config (x86-pc: an ISO with the VMs' images), the SD card images, and
//! the QEMU (and for x86-pc, Bochs) boot tests, with a summary of each
//! step.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cordon_qemu::mgmt_vm::{CHECK_OPTION, HALT_OPTION};
use cordon_qemu::{Board, config_machine};

use super::build::build_image;
use super::fuzz;
use super::image::write_iso;
use crate::cli::DEFAULT_FUZZ_TIME;
use crate::error::{Error, Result};
use crate::paths::{GUEST_CRATE_PREFIX, GUEST_TARGET, PC_TARGET, Workspace, board_target};
use crate::{exec, guests, mgmt_vm, partition, prereq, sdcard};
use cordon_qemu::pc::{self, PC_DEFAULT_CPUS};

/// The environment variables through which the boot tests find their inputs.
const IMAGE_QEMU_VIRT_VAR: &str = "CORDON_IMAGE_QEMU_VIRT";
const IMAGE_RPI4_VAR: &str = "CORDON_IMAGE_RPI4";
const RPI4_DTB_VAR: &str = "CORDON_RPI4_DTB";
const MGMT_KERNEL_VAR: &str = "CORDON_MGMT_KERNEL";
const MGMT_INITRAMFS_VAR: &str = "CORDON_MGMT_INITRAMFS";
const MGMT_DISK_VAR: &str = "CORDON_MGMT_DISK";
const GUEST_HOSTILE_VAR: &str = "CORDON_GUEST_HOSTILE";
/// The build of the hostile guest labelled `replacement`, which the
/// management VM's image carries and the controller test serves from a
/// datastore.
const GUEST_REPLACEMENT_VAR: &str = "CORDON_GUEST_HOSTILE_REPLACEMENT";
/// The x86-pc ISOs of cordon alone the boot tests boot: the variable that
/// names each, the ISO's name, and cordon's command line in it.
const X86_PC_ISOS: [(&str, &str, &str); 3] = [
    ("CORDON_ISO_X86_PC", "cordon", ""),
    (
        "CORDON_ISO_X86_PC_SELFTEST_FAULT",
        "selftest-fault",
        "cordon.selftest=fault",
    ),
    (
        "CORDON_ISO_X86_PC_SELFTEST_VMX",
        "selftest-vmx",
        "cordon.selftest=vmx cordon.log=debug",
    ),
];
const SDCARD_RPI4_VAR: &str = "CORDON_SDCARD_RPI4";
const UBOOT_RPI4_VAR: &str = "CORDON_UBOOT_RPI4";
const SDCARD_QEMU_VIRT_VAR: &str = "CORDON_SDCARD_QEMU_VIRT";
const UBOOT_QEMU_VIRT_VAR: &str = "CORDON_UBOOT_QEMU_VIRT";

/// The boot tests, `qemu/tests/<name>.rs` in `cordon-qemu`.
const BOOT_TESTS: [&str; 6] = [
    "boot",
    "partitions",
    "rpi4",
    "x86",
    "controller",
    "controller_tpm",
];
/// The board whose example configs the boot tests know by their names
/// alone; the others' are `<board>-<name>`.
const MAIN_CONFIG_BOARD: Board = Board::QemuVirt;
/// The example config of each board whose SD card the boot tests boot.
const SDCARD_CONFIG: &str = "mgmt-only.toml";

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
    let prerequisites = timed("prerequisites", || {
        prereq::for_boot(workspace, &Board::ALL)?;
        prereq::software_tpm()
    });
    let mut steps = vec![prerequisites];
    // Without the prerequisites no later step can run.
    if !matches!(steps[0].outcome, Outcome::Passed) {
        return summarize(&steps);
    }

    steps.push(timed("formatting and lints", || {
        exec::run(exec::cargo(workspace.root()).args(["fmt", "--all", "--check"]))?;
        // The host-buildable crates (the workspace's default members), tests
        // included; a warning fails the step.
        exec::run(exec::cargo(workspace.root()).args([
            "clippy",
            "--all-targets",
            "--",
            "--deny",
            "warnings",
        ]))?;
        // The boot tests are not test targets (`test = false`), which
        // --all-targets leaves out.
        let mut boot_tests = exec::cargo(workspace.root());
        boot_tests.args(["clippy", "--package", "cordon-qemu"]);
        for test in BOOT_TESTS {
            boot_tests.args(["--test", test]);
        }
        exec::run(boot_tests.args(["--", "--deny", "warnings"]))?;
        // The bare-metal crates, each for its own target.
        let board_crates = Board::ALL.into_iter().map(|board| {
            (
                format!("cordon-board-{}", board.name()),
                board_target(board),
            )
        });
        let guest_crates = [
            (
                format!("{GUEST_CRATE_PREFIX}{}", guests::HOSTILE),
                GUEST_TARGET,
            ),
            (guests::X86_CRATE.to_owned(), PC_TARGET),
        ];
        for (package, target) in board_crates.chain(guest_crates) {
            exec::run(exec::cargo(workspace.root()).args([
                "clippy",
                "--package",
                &package,
                "--target",
                target,
                "--",
                "--deny",
                "warnings",
            ]))?;
        }
        Ok(())
    }));
    steps.push(timed("host unit tests", || {
        // Some use Debian's real RPi4 device tree.
        let mut command = exec::cargo(workspace.root());
        command
            .arg("test")
            .env(RPI4_DTB_VAR, prereq::rpi4_dtb(workspace));
        exec::run(&mut command)
    }));
    steps.push(timed("fuzz management requests", || {
        fuzz::fuzz(workspace, DEFAULT_FUZZ_TIME)
    }));
    let mut images = Vec::new();
    for board in Board::ALL {
        steps.push(timed(&format!("build {board}"), || {
            let image = build_image(workspace, board)?;
            match board {
                Board::QemuVirt => images.push((IMAGE_QEMU_VIRT_VAR, image)),
                Board::Rpi4 => images.push((IMAGE_RPI4_VAR, image)),
                Board::X86Pc => {
                    for (var, name, command_line) in X86_PC_ISOS {
                        let iso = write_iso(workspace, &image, name, command_line)?;
                        images.push((var, iso));
                    }
                }
            }
            Ok(())
        }));
    }
    let mut vm = None;
    steps.push(timed("build management VM", || {
        vm = Some(mgmt_vm::prepare(workspace)?);
        Ok(())
    }));
    let mut hostile = None;
    steps.push(timed("build test guests", || {
        hostile = Some(guests::build(workspace, guests::HOSTILE)?);
        Ok(())
    }));
    let configs = build_configs(workspace, &mut steps);
    let mut cards = Vec::new();
    steps.push(timed("build SD card images", || {
        for (board, vars) in [
            (Board::Rpi4, (SDCARD_RPI4_VAR, UBOOT_RPI4_VAR)),
            (Board::QemuVirt, (SDCARD_QEMU_VIRT_VAR, UBOOT_QEMU_VIRT_VAR)),
        ] {
            let config = workspace.example_configs(board).join(SDCARD_CONFIG);
            let card = sdcard::make(workspace, board, &config, Some(CHECK_OPTION))?;
            cards.push((vars, card));
        }
        Ok(())
    }));
    // Every board built: one image each, the x86-pc board its ISOs.
    if images.len() == Board::ALL.len() - 1 + X86_PC_ISOS.len() {
        steps.push(timed("QEMU boot tests", || {
            let mut command = exec::cargo(workspace.root());
            command.args(["test", "--package", "cordon-qemu"]);
            for test in BOOT_TESTS {
                command.args(["--test", test]);
            }
            command
                // One QEMU at a time: parallel emulators on a small host
                // slow each other down towards the deadlines.
                .args(["--", "--test-threads=1"])
                .env(RPI4_DTB_VAR, prereq::rpi4_dtb(workspace));
            for (var, image) in &images {
                command.env(var, image);
            }
            // Without these, the tests that need them fail and say so.
            if let Some(vm) = &vm {
                command
                    .env(MGMT_KERNEL_VAR, &vm.kernel)
                    .env(MGMT_INITRAMFS_VAR, &vm.initramfs)
                    .env(MGMT_DISK_VAR, &vm.disk)
                    // Built with the management VM.
                    .env(
                        GUEST_REPLACEMENT_VAR,
                        guests::labelled_image(
                            workspace,
                            guests::HOSTILE,
                            guests::REPLACEMENT_LABEL,
                        ),
                    );
            }
            if let Some(hostile) = &hostile {
                command.env(GUEST_HOSTILE_VAR, hostile);
            }
            for (var, description) in &configs {
                command.env(var, description);
            }
            for ((image_var, u_boot_var), card) in &cards {
                command
                    .env(image_var, &card.image)
                    .env(u_boot_var, &card.u_boot);
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

/// Builds an image for each example config of every board, one step
/// each, with [`CHECK_OPTION`] on the management VM's command line (as
/// `run --config FILE --guest-append cordon.check` does), so that the VM
/// checks itself and powers off (x86-pc, where `cordonctl` has no
/// management interface to check: [`HALT_OPTION`], so that it halts once
/// `/init` ran; the board's images are ISOs); and one for each of the boot
/// tests' own configs (for qemu-virt) as it is: their management VM's
/// command line says what it does. Returns the environment variables that
/// give the boot tests the machine descriptions (x86-pc: the ISOs).
fn build_configs(workspace: &Workspace, steps: &mut Vec<Step>) -> Vec<(String, PathBuf)> {
    let mut described = Vec::new();
    let sets = Board::ALL
        .into_iter()
        .map(|board| {
            let append = match board {
                Board::X86Pc => HALT_OPTION,
                Board::QemuVirt | Board::Rpi4 => CHECK_OPTION,
            };
            (board, workspace.example_configs(board), Some(append))
        })
        .chain([(MAIN_CONFIG_BOARD, workspace.boot_test_configs(), None)]);
    for (board, dir, guest_append) in sets {
        let files = match partition::configs_in(&dir) {
            Ok(files) => files,
            Err(error) => {
                steps.push(timed(
                    &format!("build configs in {}", dir.display()),
                    || Err(error),
                ));
                continue;
            }
        };
        for file in files {
            let stem = file.file_stem().unwrap_or_default().to_string_lossy();
            let name = match board {
                MAIN_CONFIG_BOARD => stem.to_string(),
                _ => format!("{board}-{stem}"),
            };
            steps.push(timed(&format!("build config {name}"), || {
                if board == Board::X86Pc {
                    let iso =
                        partition::prepare_pc(workspace, &file, guest_append, "", PC_DEFAULT_CPUS)?;
                    described.push((pc::config_iso_var(&stem), iso));
                    return Ok(());
                }
                let prepared =
                    partition::prepare(workspace, &file, Some(board), guest_append, |machine| {
                        machine
                    })?;
                described.push((config_machine::env_var(&name), prepared.description));
                Ok(())
            }));
        }
    }
    described
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
    let width = steps.iter().map(|step| step.name.len()).max().unwrap_or(0);
    for step in steps {
        let outcome = match &step.outcome {
            Outcome::Passed => "ok".to_owned(),
            Outcome::Failed(error) => format!("FAILED: {error}"),
            Outcome::Skipped(reason) => format!("skipped: {reason}"),
        };
        eprintln!(
            "  {:<width$} {:>6.1} s  {outcome}",
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
