//! What the boot tests share: their inputs, which `cargo xtask test` passes
//! in the environment, booting with expectations, and the management VM's
//! report.

use std::env;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cordon_qemu::config_machine::{self, ConfigMachine};
use cordon_qemu::interrupts::Interrupts;
use cordon_qemu::mgmt_vm::{self, marker};
use cordon_qemu::{Expect, Machine, Transcript, boot, test_disk};

/// Generous: a boot takes seconds, but CI machines are small and busy.
pub const DEADLINE: Duration = Duration::from_secs(60);
/// Linux reaches its initramfs in 2-3 s under TCG without a hypervisor;
/// plenty of room for cordon and a busy CI machine.
pub const MGMT_VM_DEADLINE: Duration = Duration::from_secs(120);
/// How long to keep watching for text that must not appear.
pub const SETTLE: Duration = Duration::from_secs(2);

/// cordon's image for QEMU virt, built without a partition config.
pub const IMAGE_QEMU_VIRT: &str = "CORDON_IMAGE_QEMU_VIRT";

/// The absolute path in the environment variable `name`.
pub fn env_path(name: &str) -> PathBuf {
    let path = env::var_os(name)
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("{name} is not set: run these through `cargo xtask test`"));
    // Cargo runs tests in the package directory, not where they were started.
    assert!(
        path.is_absolute(),
        "{name} must be an absolute path, not {}",
        path.display()
    );
    path
}

/// The machine `cargo xtask test` built for the example config `name`
/// (`<board>-<name>` for boards other than qemu-virt).
pub fn config_machine(name: &str) -> ConfigMachine {
    let path = env_path(&config_machine::env_var(name));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    ConfigMachine::from_toml(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Checks that all `cpus` vCPUs of the management VM came online and took
/// timer interrupts and rescheduling IPIs; returns its /proc/interrupts.
pub fn check_mgmt_vm_cpus(transcript: &Transcript, cpus: u32) -> Interrupts {
    let all_cpus = format!("0-{}", cpus - 1);
    assert_eq!(
        mgmt_vm::value_after(transcript.lines(), marker::CPUS_ONLINE),
        Some(all_cpus.as_str()),
        "not every vCPU came online\n{transcript}"
    );

    let dump = mgmt_vm::section(
        transcript.lines(),
        marker::INTERRUPTS_BEGIN,
        marker::INTERRUPTS_END,
    );
    let interrupts = Interrupts::parse(dump)
        .unwrap_or_else(|| panic!("no /proc/interrupts header in the dump\n{transcript}"));
    let cpus = usize::try_from(cpus).unwrap();
    assert_eq!(interrupts.cpus, cpus, "{transcript}");
    let timer = interrupts
        .handled_by("arch_timer")
        .unwrap_or_else(|| panic!("no arch_timer line in /proc/interrupts\n{transcript}"));
    assert!(
        timer.counted_on_every_cpu(cpus),
        "the timer did not interrupt every vCPU: {timer:?}\n{transcript}"
    );
    let ipi = interrupts
        .labelled("IPI0")
        .unwrap_or_else(|| panic!("no IPI0 line in /proc/interrupts\n{transcript}"));
    assert!(
        ipi.counted_on_every_cpu(cpus),
        "rescheduling IPIs did not reach every vCPU: {ipi:?}\n{transcript}"
    );
    interrupts
}

/// Boots `machine` and fails the test, with the transcript, unless `expect` holds.
pub fn boot_expecting(machine: &Machine, expect: Expect) -> Transcript {
    let transcript = boot(machine, &expect).unwrap_or_else(|error| panic!("{error}"));
    assert!(
        transcript.succeeded(),
        "{} boot failed: {}\n{transcript}",
        machine.board(),
        transcript.ending()
    );
    transcript
}

/// Checks the figures the management VM reported: its CPUs, its interrupts,
/// and the text on its disk, `disk`.
pub fn check_mgmt_vm_report(disk: &Path, transcript: &Transcript) {
    check_mgmt_vm_cpus(transcript, mgmt_vm::CPUS);
    let written = test_disk::text(disk)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", disk.display()));
    assert_eq!(
        mgmt_vm::value_after(transcript.lines(), marker::DISK_SAYS),
        Some(written.as_str()),
        "the VM did not read the disk's text\n{transcript}"
    );
}
