//! Boots cordon's partitions under QEMU: the hostile test guest, which tries
//! to reach what its VM was not given, as cordon's only VM and beside the
//! management VM; the example partition configs; a config whose boot
//! modules the loader left out; and console input moving between VMs.
//!
//! Run these through `cargo xtask test`, which builds the hostile guest,
//! the management VM and an image for each example config of qemu-virt
//! (with `cordon.check` on the management VM's command line), and passes
//! their paths, and the machine that boots each config, in the environment.

mod common;

use std::path::PathBuf;

use cordon_qemu::config_machine::ConfigMachine;
use cordon_qemu::hostile::{self, Report};
use cordon_qemu::mgmt_vm::{self, CHECK_OPTION};
use cordon_qemu::{Expect, Pattern, Transcript};

use common::{
    DEADLINE, IMAGE_QEMU_VIRT, MGMT_VM_DEADLINE, SETTLE, boot_expecting, check_mgmt_vm_report,
    config_machine, env_path,
};

const GUEST_HOSTILE: &str = "CORDON_GUEST_HOSTILE";

/// The example configs, `boards/qemu-virt/configs/<name>.toml`.
const MGMT_ONLY: &str = "mgmt-only";
const MGMT_AND_WORKLOAD: &str = "mgmt-and-workload";
/// What cordon says when it takes each config.
const MGMT_ONLY_TAKEN: &str = "partition config: 1 VMs, 0 channels";
const MGMT_AND_WORKLOAD_TAKEN: &str = "partition config: 2 VMs, 1 channels";
/// The VM of `mgmt-and-workload` that runs the hostile guest.
const WORKLOAD: &str = "rt";
/// The management VM's name, in cordon's default partition (where it is
/// the only VM) and in the example configs.
const MGMT_VM: &str = "mgmt";
/// What cordon logs when it stops a VM's access with an abort.
const ABORT_INJECTED: &str = "abort injected";
/// Most of the guest's probes must run and be contained; a few skip
/// themselves where they cannot apply (as `rt`, those aimed at cordon's
/// image, which lies in its RAM).
const MIN_CONTAINED: usize = 25;

/// The tag cordon puts before the console lines of VM `name`.
fn tag(name: &str) -> String {
    format!("[{name}] ")
}

/// The disk of `machine`'s management VM, once it is clear that the VM
/// checks itself and powers off (else it would wait at a shell).
fn checking_mgmt_vm_disk(machine: &ConfigMachine) -> PathBuf {
    let mgmt = machine
        .vm(MGMT_VM)
        .unwrap_or_else(|| panic!("no VM {MGMT_VM:?} in {machine:?}"));
    assert!(
        mgmt.modules
            .bootargs
            .split_whitespace()
            .any(|arg| arg == CHECK_OPTION),
        "VM {MGMT_VM:?} was built without {CHECK_OPTION:?} in its bootargs: {:?}",
        mgmt.modules.bootargs
    );
    machine
        .disk
        .clone()
        .unwrap_or_else(|| panic!("no disk for VM {MGMT_VM:?} in {machine:?}"))
}

/// The hostile guest's report in VM `name`'s console lines.
fn hostile_report<'a>(transcript: &'a Transcript, name: &str) -> Report<'a> {
    let tag = tag(name);
    Report::parse(transcript.lines().filter(|line| line.starts_with(&tag)))
}

#[test]
fn hostile_guest_alone_is_contained() {
    let machine = hostile::under_cordon(env_path(IMAGE_QEMU_VIRT), env_path(GUEST_HOSTILE));
    let expect = hostile::expect_contained(Expect::within(DEADLINE), &tag(MGMT_VM))
        .line(ABORT_INJECTED)
        .then_exit_successfully();
    let transcript = boot_expecting(&machine, expect);

    let report = hostile_report(&transcript, MGMT_VM);
    assert!(
        report.escaped.is_empty() && report.unrecognised.is_empty(),
        "escaped: {:?}; lines without a verdict: {:?}\n{transcript}",
        report.escaped,
        report.unrecognised
    );
    assert!(
        report.contained.len() >= MIN_CONTAINED,
        "only {} probes contained (skipped: {:?})\n{transcript}",
        report.contained.len(),
        report.skipped
    );
    let summary = report
        .summary
        .unwrap_or_else(|| panic!("no summary\n{transcript}"));
    assert_eq!(
        summary.probes,
        report.verdicts(),
        "the summary counts other probes than the lines report\n{transcript}"
    );
}

/// Both VMs run at once, each on CPUs of its own; in which order they
/// finish is not fixed. The management VM's checks, and the machine's
/// power-off when it powers off, must not depend on the workload.
#[test]
fn hostile_workload_beside_the_management_vm() {
    let described = config_machine(MGMT_AND_WORKLOAD);
    let disk = checking_mgmt_vm_disk(&described);
    let expect = mgmt_vm::expect_checks_under_cordon(MGMT_VM_DEADLINE)
        .line(MGMT_AND_WORKLOAD_TAKEN)
        .line(format!("VM {WORKLOAD} stopped").as_str());
    let expect = hostile::expect_contained(expect, &tag(WORKLOAD));
    let transcript = boot_expecting(&described.machine(), expect);
    check_mgmt_vm_report(&disk, &transcript);

    // cordon ends a VM's console line when another VM writes, so the
    // workload's probe lines may come in pieces: count by its summary.
    let summary = hostile_report(&transcript, WORKLOAD)
        .summary
        .unwrap_or_else(|| panic!("no summary from VM {WORKLOAD}\n{transcript}"));
    assert!(
        summary.probes >= MIN_CONTAINED,
        "VM {WORKLOAD} ran only {} probes\n{transcript}",
        summary.probes
    );
}

#[test]
fn mgmt_only_config_boots_like_the_default() {
    let described = config_machine(MGMT_ONLY);
    let disk = checking_mgmt_vm_disk(&described);
    let expect = mgmt_vm::expect_checks_under_cordon(MGMT_VM_DEADLINE).line(MGMT_ONLY_TAKEN);
    let transcript = boot_expecting(&described.machine(), expect);
    check_mgmt_vm_report(&disk, &transcript);
}

/// The loader put the management VM's modules where the config says, but
/// not the workload's kernel: cordon refuses the whole config, naming the
/// VM, and starts no VM (so the machine never powers off by itself).
#[test]
fn a_config_naming_a_missing_module_starts_nothing() {
    let mut described = config_machine(MGMT_AND_WORKLOAD);
    let left_out = described
        .vm(WORKLOAD)
        .unwrap_or_else(|| panic!("no VM {WORKLOAD:?} in {described:?}"))
        .modules
        .kernel
        .address;
    let mut expect = Expect::within(DEADLINE)
        .line(Pattern::line_with(&[
            "partition config refused: ",
            &format!("VM \"{WORKLOAD}\""),
            &format!("{left_out:#x}"),
        ]))
        .settle(SETTLE);
    for vm in &described.vms {
        expect = expect.forbid(&format!("VM {} started", vm.name));
    }
    described.vms.retain(|vm| vm.name != WORKLOAD);
    boot_expecting(&described.machine(), expect);
}

/// The example config with an attacker (`rt`) beside a heartbeat guest
/// (`beat`) and the management VM.
const HOSTILE_AND_HEARTBEAT: &str = "hostile-and-heartbeat";
/// The VM that prints a heartbeat every 100 ms.
const HEARTBEAT_VM: &str = "beat";
/// What the heartbeat guest prints, then a number counting from 1.
const HEARTBEAT: &str = "heartbeat ";
/// What it prints when two beats were 200 ms or more apart:
/// `heartbeat: late: <ms> ms between heartbeat <n-1> and <n>`.
const HEARTBEAT_LATE: &str = "heartbeat: late: ";
/// The longest gap between beats that still counts as beating: under
/// QEMU's emulation on a small, busy host a vCPU thread may wait a while
/// for a host CPU; a stopped heartbeat shows as seconds, or no beats.
const HEARTBEAT_MAX_GAP_MS: u64 = 1000;

/// Fails unless every gap the heartbeat guest reported late is short.
fn check_heartbeat_gaps(transcript: &Transcript) {
    for line in transcript.lines() {
        let Some((_, rest)) = line.split_once(HEARTBEAT_LATE) else {
            continue;
        };
        let gap: u64 = rest
            .split_whitespace()
            .next()
            .and_then(|ms| ms.parse().ok())
            .unwrap_or_else(|| panic!("unreadable late line {line:?}"));
        assert!(
            gap < HEARTBEAT_MAX_GAP_MS,
            "the heartbeat stopped for {gap} ms\n{transcript}"
        );
    }
}
/// Beats the neighbour must go on with after the attacker stopped.
const BEATS_AFTER_ATTACK: u64 = 5;

/// The heartbeat numbers VM `vm` printed, with the line index of each.
fn heartbeats(transcript: &Transcript, vm: &str) -> Vec<(usize, u64)> {
    let prefix = format!("{}{HEARTBEAT}", tag(vm));
    transcript
        .lines()
        .enumerate()
        .filter_map(|(index, line)| {
            let number = line.strip_prefix(&prefix)?.trim().parse().ok()?;
            Some((index, number))
        })
        .collect()
}

/// While one VM attacks, its neighbour's heartbeat never stops or skips,
/// and goes on after the attacker is done; the management VM checks out.
#[test]
fn neighbour_heartbeat_goes_on_during_an_attack() {
    let described = config_machine(HOSTILE_AND_HEARTBEAT);
    let disk = checking_mgmt_vm_disk(&described);
    let expect = mgmt_vm::expect_checks_under_cordon(MGMT_VM_DEADLINE)
        .line(format!("VM {WORKLOAD} stopped").as_str());
    let expect = hostile::expect_contained(expect, &tag(WORKLOAD));
    let transcript = boot_expecting(&described.machine(), expect);
    check_mgmt_vm_report(&disk, &transcript);
    check_heartbeat_gaps(&transcript);

    let beats = heartbeats(&transcript, HEARTBEAT_VM);
    let numbers: Vec<u64> = beats.iter().map(|&(_, n)| n).collect();
    let expected: Vec<u64> = (1..=numbers.len() as u64).collect();
    assert_eq!(
        numbers, expected,
        "heartbeats skipped or repeated\n{transcript}"
    );
    let stopped = format!("VM {WORKLOAD} stopped");
    let attack_over = transcript
        .lines()
        .position(|line| line.contains(&stopped))
        .unwrap_or_else(|| panic!("VM {WORKLOAD} never stopped\n{transcript}"));
    let after = beats
        .iter()
        .filter(|&&(index, _)| index > attack_over)
        .count() as u64;
    assert!(
        after >= BEATS_AFTER_ATTACK,
        "only {after} heartbeats after the attack ended\n{transcript}"
    );
}

/// The example config whose two workloads pass a message over a channel.
const CHANNEL_PING: &str = "channel-ping";
/// Its two ends.
const CHANNEL_SENDER: &str = "send";
const CHANNEL_RECEIVER: &str = "recv";
/// What the sender writes into the shared memory.
const CHANNEL_MESSAGE: &str = "cordon-channel-ping";
/// What either end prints when something went wrong.
const CHANNEL_FAILED: &str = "channel: FAILED";

/// A message written into a channel's shared memory by one bare-metal VM
/// reaches the other, woken by the doorbell's interrupt, while the
/// management VM beside them checks out undisturbed.
#[test]
fn a_channel_carries_a_message_between_two_vms() {
    let described = config_machine(CHANNEL_PING);
    let disk = checking_mgmt_vm_disk(&described);
    let received = format!(
        "{}channel: received \"{CHANNEL_MESSAGE}\" from {CHANNEL_SENDER}",
        tag(CHANNEL_RECEIVER)
    );
    let sent = format!(
        "{}channel: sent ping to {CHANNEL_RECEIVER}",
        tag(CHANNEL_SENDER)
    );
    let expect = mgmt_vm::expect_checks_under_cordon(MGMT_VM_DEADLINE)
        .line(received.as_str())
        .line(sent.as_str())
        .forbid(CHANNEL_FAILED);
    let transcript = boot_expecting(&described.machine(), expect);
    check_mgmt_vm_report(&disk, &transcript);
}

/// The example config whose workload resets itself again and again.
const RESET_LOOP: &str = "reset-loop";
/// Its looping VM.
const LOOPING_VM: &str = "loop";
/// Restarts the test wants to see.
const MIN_RESTARTS: usize = 20;
/// What cordon logs at each restart, up to the RAM it has left.
const RESTARTING: &str = "restarting from its images (restart ";
const RAM_FREE: &str = " KiB of RAM free)";

/// A VM that resets itself over and over comes back every time, cordon's
/// free RAM is the same after each restart, and the management VM and the
/// heartbeat guest beside it go on undisturbed.
#[test]
fn a_reset_loop_restarts_every_time_and_leaks_nothing() {
    let described = config_machine(RESET_LOOP);
    let disk = checking_mgmt_vm_disk(&described);
    let expect = mgmt_vm::expect_checks_under_cordon(MGMT_VM_DEADLINE);
    let transcript = boot_expecting(&described.machine(), expect);
    check_mgmt_vm_report(&disk, &transcript);
    check_heartbeat_gaps(&transcript);

    let prefix = format!("VM {LOOPING_VM}: {RESTARTING}");
    let restarts: Vec<(u64, u64)> = transcript
        .lines()
        .filter_map(|line| {
            let rest = &line[line.find(&prefix)? + prefix.len()..];
            let (count, rest) = rest.split_once("; ")?;
            let free = rest.strip_suffix(RAM_FREE)?;
            Some((count.parse().ok()?, free.parse().ok()?))
        })
        .collect();
    assert!(
        restarts.len() >= MIN_RESTARTS,
        "only {} restarts of VM {LOOPING_VM}\n{transcript}",
        restarts.len()
    );
    let counts: Vec<u64> = restarts.iter().map(|&(count, _)| count).collect();
    let expected: Vec<u64> = (1..=counts.len() as u64).collect();
    assert_eq!(counts, expected, "restart counts skip\n{transcript}");
    let first_free = restarts[0].1;
    assert!(
        restarts.iter().all(|&(_, free)| free == first_free),
        "free RAM changed across restarts: {restarts:?}"
    );
    let lives = transcript
        .lines()
        .filter(|line| line.starts_with(&format!("{}reset-loop: life", tag(LOOPING_VM))))
        .count();
    let numbers: Vec<u64> = heartbeats(&transcript, HEARTBEAT_VM)
        .iter()
        .map(|&(_, n)| n)
        .collect();
    let expected: Vec<u64> = (1..=numbers.len() as u64).collect();
    assert!(
        !numbers.is_empty(),
        "no heartbeat beside the loop\n{transcript}"
    );
    assert_eq!(
        numbers, expected,
        "heartbeats skipped beside the loop\n{transcript}"
    );
    // Its first life, and one after each restart (the machine may power
    // off before the newest one prints).
    assert!(
        lives >= restarts.len(),
        "the VM did not run after each restart\n{transcript}"
    );
}

/// The SHA-256 the management VM first loads the new image with.
const WRONG_SHA256: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash the management VM computed of the image it loads into `beat`
/// (busybox `sha256sum`) is the one cordon verified, started `beat` from and
/// reports last; before that, `beat` ran another build, and after a restart
/// it runs the loaded one again.
fn check_measured_load(transcript: &Transcript) {
    let after = |text: &str| {
        transcript
            .lines()
            .filter_map(|line| Some(line.split_once(text)?.1.to_owned()))
            .last()
            .unwrap_or_else(|| panic!("no line with {text:?}\n{transcript}"))
    };
    let image = after("cordon-mgmt-vm: image sha256 ");
    assert_eq!(image.len(), 64, "not a SHA-256: {image:?}");
    assert!(after("VM beat: loaded kernel verified (sha256 ").starts_with(&image));
    assert!(
        after("VM beat: starting from kernel sha256 ").starts_with(&format!("{image} (loaded)"))
    );
    assert_eq!(after("beat: kernel sha256 "), image, "cordonctl list");
    let builds: Vec<&str> = transcript
        .lines()
        .filter(|line| line.starts_with(&tag(HEARTBEAT_VM)))
        .filter_map(|line| line.split_once("hostile: build ").map(|(_, build)| build))
        .collect();
    // Started from the loaded image, then restarted from it.
    assert_eq!(
        builds,
        ["default", "replacement", "replacement"],
        "{transcript}"
    );
    let loaded_starts = transcript
        .lines()
        .filter(|line| {
            line.contains(&format!(
                "VM beat: starting from kernel sha256 {image} (loaded)"
            ))
        })
        .count();
    assert_eq!(loaded_starts, 2, "{transcript}");
}

/// The default `cargo xtask run` setup: the management VM, a Linux
/// workload VM not mapped 1:1, and a heartbeat guest.
const THREE_VMS: &str = "three-vms";
/// What the Linux workload's /init prints.
const WORKLOAD_UP: &str = "workload up: MemTotal:";

/// All three VMs of the default setup run at once: the management VM
/// checks out and lists all three through cordonctl, the Linux workload
/// (its RAM elsewhere than its guest-physical addresses) boots to its
/// heartbeat, and the bare-metal guest beats. Through cordonctl the
/// management VM stops the first workload, starts it again, and reads its
/// console and cordon's log; then it loads another build of the bare-metal
/// guest into its VM, which cordon refuses with a wrong SHA-256 (the VM
/// stays stopped) and starts with the right one, and again after a restart.
#[test]
fn three_vms_run_side_by_side() {
    let described = config_machine(THREE_VMS);
    let disk = checking_mgmt_vm_disk(&described);
    let expect = mgmt_vm::expect_checks_under_cordon(MGMT_VM_DEADLINE)
        .line(Pattern::line_with(&["linux", "running", "workload"]))
        .line(Pattern::line_with(&["beat", "running", "workload"]))
        .line(Pattern::line_with(&[&tag("linux"), WORKLOAD_UP]))
        .line(Pattern::line_with(&[&tag(HEARTBEAT_VM), HEARTBEAT]))
        .line("cordon-mgmt-vm: control begin linux")
        .line("VM linux: stop requested through the management interface")
        .line(Pattern::line_with(&[
            &tag(MGMT_VM),
            "linux",
            "stopped",
            "workload",
        ]))
        .line("VM linux: started through the management interface")
        .line(Pattern::line_with(&[
            &tag(MGMT_VM),
            "linux",
            "running",
            "workload",
            " 0 ",
        ]))
        .line("cordon-mgmt-vm: control end")
        .line("cordon-mgmt-vm: load begin beat")
        .line(Pattern::line_with(&[
            "VM beat: loaded kernel refused: sha256 ",
            &format!("expected {WRONG_SHA256}"),
        ]))
        .line(Pattern::line_with(&[
            &tag(MGMT_VM),
            "beat",
            "stopped",
            "workload",
        ]))
        .line(Pattern::line_with(&[
            &tag(MGMT_VM),
            "cordon-mgmt-vm: image sha256 ",
        ]))
        .line("VM beat: loaded kernel verified (sha256 ")
        .line("VM beat: starting from kernel sha256 ")
        .line("VM beat: restarting from its images (restart 1;")
        .line(Pattern::line_with(&[
            &tag(HEARTBEAT_VM),
            "hostile: build replacement",
        ]))
        .line(Pattern::line_with(&[&tag(HEARTBEAT_VM), HEARTBEAT]))
        .line("cordon-mgmt-vm: load end")
        .forbid("cordon-mgmt-vm: FAILED");
    let transcript = boot_expecting(&described.machine(), expect);
    check_mgmt_vm_report(&disk, &transcript);
    check_measured_load(&transcript);
    // The console read through cordonctl holds what the workload printed.
    // Its kernel may print between the two markers too (under load:
    // "hrtimer: interrupt took ..."): any line of the VM's between them.
    let mgmt_tag = tag(MGMT_VM);
    let console: Vec<&str> = transcript
        .lines()
        .skip_while(|line| !line.contains("cordon-mgmt-vm: console of linux:"))
        .skip(1)
        .take_while(|line| !line.contains("cordon-mgmt-vm: log:"))
        .filter(|line| line.starts_with(&mgmt_tag))
        .collect();
    assert!(
        console
            .iter()
            .any(|line| line.contains("cordon-mgmt-vm: workload")),
        "cordonctl console showed {console:?}\n{transcript}"
    );
}

/// `qemu/tests/configs/console-switch.toml`: two Linux VMs with a shell each.
const CONSOLE_SWITCH: &str = "console-switch";
const OTHER_VM: &str = "other";
/// What `/init` says before it starts the shell.
const SHELL_READY: &str = "cordon-mgmt-vm: ready: a shell on the console";
/// Ctrl-], which moves console input to the next VM.
const SWITCH_INPUT: &[u8] = b"\x1d";
/// What cordon says when it moved console input.
const INPUT_NOW_GOES_TO: &str = "console input now goes to VM ";
/// Characters of a long command line: most of the 1 KiB cordon queues.
const LONG_LINE_CHARS: usize = 900;

/// A command for a VM's shell whose output, `<word>-42`, only appears if
/// the shell ran it (its echo shows `$((6*7))` instead).
fn computed(word: &str) -> (String, String) {
    (format!("echo {word}-$((6*7))\n"), format!("{word}-42"))
}

/// Keyboard input goes to the management VM first; Ctrl-] moves it to the
/// other VM, whose shell runs what is typed (and the management VM's does
/// not), and a long line arrives whole; Ctrl-] again moves it back, and
/// `exit` powers the management VM, and with it the machine, off.
#[test]
fn console_input_follows_ctrl_close_bracket() {
    let machine = config_machine(CONSOLE_SWITCH).machine();
    let (in_mgmt, mgmt_output) = computed("typed-in-mgmt");
    let (in_other, other_output) = computed("typed-in-other");
    // `wc -c` counts the line and its newline.
    let long_line = format!("echo {} | wc -c\n", "x".repeat(LONG_LINE_CHARS));
    let long_line_count = (LONG_LINE_CHARS + 1).to_string();
    let mgmt = tag(MGMT_VM);
    let other = tag(OTHER_VM);
    let expect = Expect::within(MGMT_VM_DEADLINE)
        .type_after(format!("{mgmt}{SHELL_READY}").as_str(), in_mgmt.as_bytes())
        // Both shells up, and the first command done, before switching.
        .type_after(format!("{other}{SHELL_READY}").as_str(), b"")
        .type_after(format!("{mgmt}{mgmt_output}").as_str(), SWITCH_INPUT)
        .type_after(
            format!("{INPUT_NOW_GOES_TO}{OTHER_VM}").as_str(),
            in_other.as_bytes(),
        )
        .type_after(
            format!("{other}{other_output}").as_str(),
            long_line.as_bytes(),
        )
        .type_after(format!("{other}{long_line_count}").as_str(), SWITCH_INPUT)
        .type_after(format!("{INPUT_NOW_GOES_TO}{MGMT_VM}").as_str(), b"exit\n")
        .line(format!("{mgmt}{mgmt_output}").as_str())
        .line(format!("{other}{other_output}").as_str())
        .line(format!("{other}{long_line_count}").as_str())
        .line(format!("{mgmt}cordon-mgmt-vm: powering off").as_str())
        .forbid(&format!("{other}{mgmt_output}"))
        .forbid(&format!("{mgmt}{other_output}"))
        .then_exit_successfully();
    boot_expecting(&machine, expect);
}
