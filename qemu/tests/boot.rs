//! Boots cordon's board images under QEMU and checks what cordon prints, and
//! boots the Linux management VM under cordon (and, to tell the VM's faults
//! from cordon's, without it) and checks what the VM reports. Boots cordon
//! from the SD card images of `cargo xtask sdcard` too, as a board would:
//! Debian's U-Boot runs the card's `boot.scr`, which loads cordon and the
//! boot modules of its partition config and starts cordon.
//!
//! Run these through `cargo xtask test`, which builds the images, the
//! management VM and the card images and passes their paths in the
//! environment.

// Shared with the other boot tests; these boot no partition config.
#[allow(dead_code)]
mod common;

use std::env;

use cordon_qemu::mgmt_vm::{self, CHECK_OPTION, MgmtVm, bootargs};
use cordon_qemu::{Expect, Machine, Pattern};

use common::{
    DEADLINE, IMAGE_QEMU_VIRT, MGMT_VM_DEADLINE, SETTLE, boot_expecting, check_mgmt_vm_cpus,
    check_mgmt_vm_report, env_path,
};

const IMAGE_RPI4: &str = "CORDON_IMAGE_RPI4";
const RPI4_DTB: &str = "CORDON_RPI4_DTB";
const MGMT_KERNEL: &str = "CORDON_MGMT_KERNEL";
const MGMT_INITRAMFS: &str = "CORDON_MGMT_INITRAMFS";
const MGMT_DISK: &str = "CORDON_MGMT_DISK";
const SDCARD_RPI4: &str = "CORDON_SDCARD_RPI4";
const UBOOT_RPI4: &str = "CORDON_UBOOT_RPI4";
const SDCARD_QEMU_VIRT: &str = "CORDON_SDCARD_QEMU_VIRT";
const UBOOT_QEMU_VIRT: &str = "CORDON_UBOOT_QEMU_VIRT";
/// The Pi's CPUs, every one of them its management VM's.
const RPI4_CPUS: u32 = 4;

fn virt() -> Machine {
    Machine::qemu_virt(env_path(IMAGE_QEMU_VIRT))
}

fn rpi4() -> Machine {
    Machine::rpi4(env_path(IMAGE_RPI4), env_path(RPI4_DTB))
}

fn mgmt_vm() -> MgmtVm {
    MgmtVm {
        kernel: env_path(MGMT_KERNEL),
        initramfs: env_path(MGMT_INITRAMFS),
        disk: env_path(MGMT_DISK),
    }
}

fn banner(board: &str) -> Pattern {
    Pattern::line_with(&[&format!("cordon 0.1.0 on board {board}"), "EL2"])
}

/// Expect every one of `cpus` CPUs to come online, and the summary.
fn all_cpus_online(mut expect: Expect, cpus: u32) -> Expect {
    for cpu in 0..cpus {
        expect = expect.line(format!("cpu{cpu} online at EL2").as_str());
    }
    expect.line(format!("all {cpus} of {cpus} CPUs online").as_str())
}

const VIRT_MEMORY: &str = "memory: 0x0000000040000000-0x000000007fffffff (1024 MiB)";

#[test]
fn virt_one_cpu() {
    let expect = Expect::within(DEADLINE)
        .line(banner("qemu-virt"))
        .line(VIRT_MEMORY)
        .forbid("cpu1 online");
    boot_expecting(&virt().cpus(1), all_cpus_online(expect, 1));
}

#[test]
fn virt_four_cpus() {
    let expect = Expect::within(DEADLINE)
        .line(banner("qemu-virt"))
        .line(VIRT_MEMORY)
        .forbid("cpu4 online");
    boot_expecting(&virt().cpus(4), all_cpus_online(expect, 4));
}

#[test]
fn rpi4_four_cpus_spin_table() {
    let expect = Expect::within(DEADLINE)
        .line(banner("rpi4"))
        .line("memory: 0x0000000000000000-")
        .forbid(format!("cpu{RPI4_CPUS} online").as_str());
    boot_expecting(&rpi4(), all_cpus_online(expect, RPI4_CPUS));
}

#[test]
fn virt_entered_at_el3_drops_to_el2() {
    // As firmware, cordon gets no device tree: it must say so, at EL2.
    let expect = Expect::within(DEADLINE)
        .line("entered at EL3; continuing at EL2")
        .line("no usable device tree at 0x0");
    boot_expecting(&virt().cpus(1).at_el3(), expect);
}

#[test]
fn virt_without_el2_explains() {
    let expect = Expect::within(DEADLINE)
        .line("no access to EL2")
        .line("virtualization=on")
        .forbid("online at EL2")
        .settle(SETTLE);
    boot_expecting(&virt().cpus(1).without_el2(), expect);
}

#[test]
fn virt_reports_unexpected_exception() {
    let expect = Expect::within(DEADLINE)
        .line("unexpected exception")
        .line("data abort")
        .line("FAR");
    boot_expecting(&virt().append("cordon.selftest=fault"), expect);
}

const PANIC_MARKER: &str = "panic on cpu0 at ";

#[test]
fn virt_panic_reports_location() {
    let expect = Expect::within(DEADLINE)
        .line(PANIC_MARKER)
        .line("all CPUs stopped");
    let transcript = boot_expecting(&virt().append("cordon.selftest=panic"), expect);
    let located = transcript
        .lines()
        .filter_map(|line| line.split_once(PANIC_MARKER))
        .any(|(_, rest)| names_rust_location(rest));
    assert!(
        located,
        "the panic line names no `file.rs:line` location\n{transcript}"
    );
}

/// Whether `text` starts with `path/to/file.rs:LINE`.
fn names_rust_location(text: &str) -> bool {
    let location = text.split_whitespace().next().unwrap_or_default();
    location.split_once(".rs:").is_some_and(|(path, rest)| {
        !path.is_empty() && rest.starts_with(|c: char| c.is_ascii_digit())
    })
}

#[test]
fn rust_locations_are_recognised() {
    assert!(names_rust_location("hypervisor/src/selftest.rs:42:9: boom"));
    assert!(names_rust_location("src/main.rs:7"));
    assert!(!names_rust_location("src/main.rs: boom"));
    assert!(!names_rust_location(".rs:12"));
    assert!(!names_rust_location("somewhere"));
}

#[test]
fn mgmt_vm_boots_and_checks_out() {
    let vm = mgmt_vm();
    let machine = vm.under_cordon(env_path(IMAGE_QEMU_VIRT), &bootargs([CHECK_OPTION]));
    let expect = mgmt_vm::expect_checks_under_cordon(MGMT_VM_DEADLINE).line(banner("qemu-virt"));
    let transcript = boot_expecting(&machine, expect);
    check_mgmt_vm_report(&vm.disk, &transcript);
}

/// The VM resets itself (PSCI SYSTEM_RESET): cordon stops it and starts it
/// again from its boot images, and the second life (which finds the note
/// the first left on its disk) checks out and powers the machine off.
#[test]
fn mgmt_vm_restarts_after_a_reset() {
    // The VM writes to its disk: give it a copy of its own.
    let mut vm = mgmt_vm();
    let disk = env::temp_dir().join(format!("cordon-restart-disk-{}.img", std::process::id()));
    std::fs::copy(&vm.disk, &disk).expect("copy the test disk");
    vm.disk = disk.clone();
    let machine = vm.under_cordon(
        env_path(IMAGE_QEMU_VIRT),
        &bootargs([mgmt_vm::CHECK_RESTART_OPTION]),
    );
    let expect = Expect::within(MGMT_VM_DEADLINE)
        .line(mgmt_vm::marker::RESTARTING)
        .line("VM mgmt asked for a reset")
        .line("restarting from its images (restart 1;")
        .line(mgmt_vm::marker::SECOND_LIFE)
        .line(mgmt_vm::marker::POWERING_OFF)
        .forbid(mgmt_vm::marker::FAILED)
        .then_exit_successfully();
    boot_expecting(&machine, expect);
    let _ = std::fs::remove_file(disk);
}

/// The same VM booted by QEMU directly: when only the test above fails, the
/// fault is cordon's, not the kernel's or the initramfs's.
#[test]
fn mgmt_vm_checks_out_without_cordon() {
    let vm = mgmt_vm();
    let machine = vm.native(&bootargs([CHECK_OPTION]));
    let transcript = boot_expecting(&machine, mgmt_vm::expect_checks(MGMT_VM_DEADLINE));
    check_mgmt_vm_report(&vm.disk, &transcript);
}

/// U-Boot's banner, before its version.
const U_BOOT_BANNER: &str = "U-Boot 20";
/// U-Boot's distro boot found the script on the card.
const SCRIPT_FOUND: &str = "Found U-Boot script /boot.scr";
/// The script's first words, then the device it runs from.
const SCRIPT_RUNS: &str = "cordon: booting cordon.bin from";
/// `booti` hands over.
const STARTING: &str = "Starting kernel";
/// What cordon says when it takes a board's `mgmt-only` example config,
/// whose card `cargo xtask test` makes: it found every boot module the
/// script described.
const MGMT_ONLY_TAKEN: &str = "partition config: 1 VMs, 0 channels";

/// What a card boot prints, from U-Boot to cordon's banner on `board`; the
/// script runs from `device`.
fn through_u_boot(expect: Expect, board: &str, device: &str) -> Expect {
    expect
        .line(U_BOOT_BANNER)
        .line(SCRIPT_FOUND)
        .line(format!("{SCRIPT_RUNS} {device}").as_str())
        .line(STARTING)
        .line(banner(board))
        .forbid("ERROR]")
        .forbid("panic on cpu")
}

/// The Pi's firmware would start U-Boot as QEMU does here: the card holds
/// U-Boot too, and the firmware that would load it. The management VM of
/// the card's config (the Pi's `mgmt-only`) reaches its `/init` on every
/// vCPU, with the mini-UART cordon emulates as its console, and checks
/// itself.
#[test]
fn rpi4_u_boot_boots_cordon_and_the_management_vm_from_the_sd_card() {
    let machine =
        Machine::rpi4(env_path(UBOOT_RPI4), env_path(RPI4_DTB)).sd_card(env_path(SDCARD_RPI4));
    let expect = through_u_boot(Expect::within(MGMT_VM_DEADLINE), "rpi4", "mmc 0:1")
        .line(MGMT_ONLY_TAKEN)
        .line(format!("VM mgmt: {RPI4_CPUS} vCPUs on CPUs [0, 1, 2, 3]").as_str())
        .line(mgmt_vm::marker::INIT_STARTED)
        .line(mgmt_vm::marker::CPUS_ONLINE)
        .line(mgmt_vm::marker::CORDONCTL_END)
        .line(mgmt_vm::marker::INTERRUPTS_END)
        .forbid("Kernel panic");
    let transcript = boot_expecting(&machine, expect);
    check_mgmt_vm_cpus(&transcript, RPI4_CPUS);
}

/// U-Boot is virt's firmware and the card a virtio disk; the management VM
/// of the card's config checks itself and powers the machine off.
#[test]
fn virt_u_boot_boots_cordon_and_the_management_vm_from_the_sd_card() {
    let machine = Machine::qemu_virt(env_path(UBOOT_QEMU_VIRT))
        .bios()
        .cpus(mgmt_vm::CPUS)
        .memory_mib(mgmt_vm::MEMORY_MIB)
        .disk(env_path(SDCARD_QEMU_VIRT));
    let expect = through_u_boot(
        mgmt_vm::expect_checks_under_cordon(MGMT_VM_DEADLINE),
        "qemu-virt",
        "virtio 0:1",
    )
    .line(MGMT_ONLY_TAKEN);
    boot_expecting(&machine, expect);
}
