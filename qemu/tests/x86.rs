//! Boots the x86-pc board's GRUB ISO: under QEMU TCG (fast, no VMX) the
//! boot path (banner, every CPU online) must end in a clear "no VMX" error,
//! and a fault must be reported decoded; under Bochs (VT-x) every CPU must
//! enter VMX operation, and the VMX selftest's two guests must run: one
//! writes to COM1 (assigned to it) and to a port that is not, makes
//! hypercalls (their values checked here) and halts; the other reads
//! outside its memory and is stopped, a third triple-faults and is
//! stopped, a fourth gets #GP for an MSR and handles it, while a guest on
//! the second CPU goes on beating, and cordon runs on. Two example
//! partition configs boot as cordon creates their VMs from them: in
//! `probe-and-heartbeat`, a guest that reads past its RAM is stopped while
//! a heartbeat on the other CPU beats on; in `mgmt-and-heartbeat`,
//! Debian's Linux, the management VM, boots under cordon to its `/init` on
//! the first CPU while the heartbeat guest beats on the second.
//!
//! Run these through `cargo xtask test`, which builds the ISOs and passes
//! their paths in the environment.

// Of the shared helpers, these tests use the inputs' paths and the deadline.
#[allow(dead_code)]
mod common;

use std::time::Duration;

use cordon_qemu::mgmt_vm::marker;
use cordon_qemu::pc::{Emulator, PcMachine, config_iso_var};
use cordon_qemu::{Expect, Pattern, Transcript, boot_pc};

use common::{DEADLINE, env_path};

/// The ISO booting cordon with its default command line.
const ISO: &str = "CORDON_ISO_X86_PC";
/// The ISO booting cordon with `cordon.selftest=fault`.
const ISO_SELFTEST_FAULT: &str = "CORDON_ISO_X86_PC_SELFTEST_FAULT";
/// The ISO booting cordon with `cordon.selftest=vmx cordon.log=debug`.
const ISO_SELFTEST_VMX: &str = "CORDON_ISO_X86_PC_SELFTEST_VMX";
/// The example configs booted here (`boards/x86-pc/configs/<name>.toml`,
/// built into ISOs with `cordon.halt` on the management VM's command line).
const MGMT_AND_HEARTBEAT: &str = "mgmt-and-heartbeat";
const PROBE_AND_HEARTBEAT: &str = "probe-and-heartbeat";
const PROBE_RESTART_LOOP: &str = "probe-restart-loop";
/// How many starts of the crashing guest the restart test waits for.
const RESTARTS: u32 = 3;
/// Bochs boots Linux to its `/init` under cordon in about a minute on a
/// quiet machine; CI machines are small and busy.
const LINUX_DEADLINE: Duration = Duration::from_secs(1200);
/// What the selftest's first guest logs with each hypercall.
const VM1_LOG: &str = "vm1: hypercall log ";
/// vm2's end, the heartbeat guest's beats (on the second CPU), and
/// cordon's word that the heartbeat went on after vm2's end.
const VM2_STOPPED: &str =
    "vm2: stopped: EPT violation: read at guest-physical 0x10000, outside its memory";
const HEARTBEAT_BEAT: &str = "[cpu1 DEBUG] heartbeat: hypercall log 0x";
const HEARTBEAT_STILL_BEATING: &str =
    "heartbeat: still beating on cpu1 after the others were stopped";
const VM3_STOPPED: &str = "vm3: stopped: triple fault";
/// What vm5 logs: CR0 as it reads it back after clearing NE.
const VM5_LOG: &str = "vm5: hypercall log ";
const CR0_NE: u64 = 1 << 5;
/// CPUID leaf 1, ECX: VMX (must be hidden) and "hypervisor present".
const CPUID_1_ECX_VMX: u64 = 1 << 5;
const CPUID_1_ECX_HYPERVISOR: u64 = 1 << 31;
/// Bochs runs the VMX selftest in about 10 s on a quiet machine; CI
/// machines are small and busy.
const BOCHS_DEADLINE: Duration = Duration::from_secs(300);
/// CPUs of the QEMU machine: enough to start several, one at a time.
const QEMU_CPUS: u32 = 4;
/// CPUs of the Bochs machine: Bochs slows down with each one.
const BOCHS_CPUS: u32 = 2;

fn banner() -> Pattern {
    Pattern::line_with(&["cordon 0.1.0 on board x86-pc", "x86-64"])
}

/// Expect every one of `cpus` CPUs to come online, and the summary.
fn all_cpus_online(mut expect: Expect, cpus: u32) -> Expect {
    for cpu in 0..cpus {
        expect = expect.line(format!("cpu{cpu} online (APIC ID {cpu})").as_str());
    }
    expect.line(format!("all {cpus} of {cpus} CPUs online").as_str())
}

fn boot_expecting(machine: &PcMachine, expect: Expect) -> Transcript {
    let transcript = boot_pc(machine, &expect).unwrap_or_else(|error| panic!("{error}"));
    assert!(
        transcript.succeeded(),
        "x86-pc boot failed: {}\n{transcript}",
        transcript.ending()
    );
    transcript
}

#[test]
fn qemu_tcg_boots_every_cpu_and_says_no_vmx() {
    let machine = PcMachine::new(Emulator::QemuTcg, env_path(ISO)).cpus(QEMU_CPUS);
    let expect = Expect::within(DEADLINE)
        .line(banner())
        .line("memory: 255 MiB available")
        .line(format!("ACPI: {QEMU_CPUS} CPUs in the MADT").as_str());
    let expect = all_cpus_online(expect, QEMU_CPUS)
        .line(format!("cannot run VMs: VMX is unavailable on {QEMU_CPUS} CPU(s)").as_str())
        .line("cordon: stopping")
        .forbid("VMX usable")
        .forbid("panic");
    // Each CPU says why it has no VMX.
    let why = "no VMX: this CPU does not report Intel VT-x (CPUID.1:ECX.VMX = 0)";
    let expect = (0..QEMU_CPUS).fold(expect, |expect, cpu| {
        expect.line(Pattern::line_with(&[&format!("[cpu{cpu} ERROR]"), why]))
    });
    boot_expecting(&machine, expect);
}

#[test]
fn qemu_tcg_reports_an_unexpected_page_fault() {
    let machine = PcMachine::new(Emulator::QemuTcg, env_path(ISO_SELFTEST_FAULT)).cpus(1);
    let expect = Expect::within(DEADLINE)
        .line(banner())
        .line("selftest: reading unmapped address 0x100000000")
        .line("cpu0: unexpected exception #PF (page fault, vector 14) at rip 0x")
        .line("address 0x100000000 (cr2): page not present, read, supervisor mode")
        .line("cs 0x8 ss 0x10")
        .line("cordon: stopped")
        .forbid("the read returned");
    boot_expecting(&machine, expect);
}

#[test]
fn bochs_runs_the_vmx_selftest_guests() {
    let machine = PcMachine::new(Emulator::Bochs, env_path(ISO_SELFTEST_VMX)).cpus(BOCHS_CPUS);
    let mut expect = Expect::within(BOCHS_DEADLINE).line(banner());
    for cpu in 0..BOCHS_CPUS {
        expect = expect.line(Pattern::line_with(&[
            &format!("[cpu{cpu} INFO ]"),
            "VMX on (VMCS revision",
        ]));
    }
    let expect = all_cpus_online(expect, BOCHS_CPUS)
        .line(format!("VMX usable on all {BOCHS_CPUS} CPUs").as_str())
        // Printed by the guest itself, through the port passed through.
        .line(Pattern::line_with(&[
            "vm1: this line went straight to COM1",
        ]))
        .line("vm1: I/O port 0x80 write ignored: the port is not assigned to it")
        .line(format!("{VM1_LOG}0x1335").as_str())
        // 0x42 plus the first call's result: 0 if it succeeded.
        .line(format!("{VM1_LOG}0x42").as_str())
        .line("vm1: stopped: HLT at rip 0x104b")
        .line(VM2_STOPPED)
        .line(VM3_STOPPED)
        // vm4's own #GP handler runs after cordon refuses it an MSR.
        .line("vm4: RDMSR 0x3a refused: #GP")
        .line("vm4: hypercall log 0xd")
        .line("vm4: stopped: HLT at rip 0x1109")
        // vm5 clears CR0.NE, which cordon keeps set underneath.
        .line("vm5: CR0 write 0x")
        .line(VM5_LOG)
        .line("vm5: stopped: HLT at rip 0x1019")
        .line(HEARTBEAT_BEAT)
        .line(HEARTBEAT_STILL_BEATING)
        .line("VMX selftest: the VMs ran and were stopped; cordon runs on")
        .forbid("no VMX")
        .forbid("which cordon does not handle")
        .forbid("unexpected exception")
        .forbid("panic");
    let transcript = boot_expecting(&machine, expect);

    // The heartbeat guest, on the second CPU, beat after vm2 was stopped:
    // cordon said so only after it saw the beat's log line.
    let lines: Vec<&str> = transcript.lines().collect();
    let position = |text: &str| lines.iter().position(|line| line.contains(text));
    let vm2_stopped = position(VM2_STOPPED).expect("vm2 stopped");
    let vm3_stopped = position(VM3_STOPPED).expect("vm3 stopped");
    assert!(
        vm2_stopped < vm3_stopped,
        "vm3 ran before vm2\n{transcript}"
    );
    let still_beating = position(HEARTBEAT_STILL_BEATING).expect("still beating");
    assert!(
        lines[vm2_stopped..still_beating]
            .iter()
            .any(|line| line.contains(HEARTBEAT_BEAT)),
        "no heartbeat between vm2's stop and cordon's check\n{transcript}"
    );

    // vm5 reads back CR0 as it wrote it: NE clear.
    let [cr0] = logged_values(&transcript, VM5_LOG)[..] else {
        panic!("vm5 did not log CR0 once\n{transcript}");
    };
    assert_eq!(cr0 & CR0_NE, 0, "vm5 sees CR0.NE set: {cr0:#x}");

    // The third call logs what CPUID leaf 1 told the guest in ECX.
    let logged = logged_values(&transcript, VM1_LOG);
    let [_, _, cpuid_ecx] = logged[..] else {
        panic!(
            "vm1 made {} log hypercalls, not 3\n{transcript}",
            logged.len()
        );
    };
    assert_eq!(
        cpuid_ecx & CPUID_1_ECX_VMX,
        0,
        "VMX not hidden: {cpuid_ecx:#x}"
    );
    assert_ne!(
        cpuid_ecx & CPUID_1_ECX_HYPERVISOR,
        0,
        "no hypervisor bit: {cpuid_ecx:#x}"
    );
}

/// The ISO `cargo xtask test` built for the example config `name`.
fn config_iso(name: &str) -> std::path::PathBuf {
    env_path(&config_iso_var(name))
}

/// What cordon logs of `vm`'s I/O bitmap as the config sets it.
fn vm_set_up(vm: &str, cpu: u32, ram: &str, ports: &str) -> Pattern {
    Pattern::line_with(&[
        &format!("VM {vm}: cpu{cpu}, {ram} of RAM at host 0x"),
        &format!("I/O ports: {ports}"),
    ])
}

/// Two configured partitions: `probe`, on the first CPU, says on COM1 (its
/// own) that it reads upwards from 1 MiB; its read at 2 MiB, past its RAM,
/// is an EPT violation, which stops it for good; `beat`, the heartbeat on
/// the second CPU, makes VM exits after that, which cordon watches for and
/// reports.
#[test]
fn bochs_stops_a_configured_guest_reading_past_its_ram_while_the_other_beats_on() {
    let machine = PcMachine::new(Emulator::Bochs, config_iso(PROBE_AND_HEARTBEAT)).cpus(BOCHS_CPUS);
    let stopped = "VM probe stopped: EPT violation: read at guest-physical 0x200000, outside its \
                   memory (crashed)";
    let beats_on = "VM beat runs on after VM probe stopped";
    let expect = Expect::within(BOCHS_DEADLINE)
        .line(banner())
        .line("partition config: 2 VMs set up")
        .line(vm_set_up("probe", 0, "2 MiB", "0x3f8-0x3ff"))
        .line(vm_set_up("beat", 1, "2 MiB", "none"))
        .line("VM beat started on cpu1 (start 1, bare metal")
        .line("VM probe started on cpu0 (start 1, bare metal")
        // The guest's own line, through COM1, passed through to it.
        .line("x86-probe: reading guest-physical memory upwards from 1 MiB until cordon stops me")
        .line(stopped)
        .line("VM probe is stopped for good; cpu0 waits")
        .line(beats_on)
        .forbid("ESCAPED")
        .forbid("VM beat stopped")
        .forbid("made no VM exit")
        .forbid("VM probe started on cpu0 (start 2")
        .forbid("which no VM here owns")
        .forbid("unexpected exception")
        .forbid("panic");
    let transcript = boot_expecting(&machine, expect);
    let lines: Vec<&str> = transcript.lines().collect();
    let position = |text: &str| lines.iter().position(|line| line.contains(text));
    assert!(
        position(stopped) < position(beats_on),
        "the heartbeat was not watched after the probe stopped\n{transcript}"
    );
}

/// A configured guest whose restart policy is "on-failure" is loaded afresh
/// and started again after each crash (it says its line on COM1 each
/// time), while the heartbeat beside it is never stopped.
#[test]
fn bochs_restarts_a_crashing_configured_guest_as_its_policy_says() {
    let machine = PcMachine::new(Emulator::Bochs, config_iso(PROBE_RESTART_LOOP)).cpus(BOCHS_CPUS);
    let expect = Expect::within(BOCHS_DEADLINE)
        .line(banner())
        .line("VM beat started on cpu1 (start 1, bare metal")
        .line(format!("VM probe started on cpu0 (start {RESTARTS}, bare metal").as_str())
        .forbid("is stopped for good")
        .forbid("VM beat stopped")
        .forbid("ESCAPED")
        .forbid("unexpected exception")
        .forbid("panic");
    let transcript = boot_expecting(&machine, expect);
    let count = |text: &str| {
        transcript
            .lines()
            .filter(|line| line.contains(text))
            .count()
    };
    let crashes = count("VM probe stopped: EPT violation: read at guest-physical 0x200000");
    let restarts = count("VM probe: restarting (restart = \"on-failure\")");
    let said = count("x86-probe: reading guest-physical memory upwards");
    // The boot ends as the last start is logged: every earlier start said
    // its line, crashed and was restarted.
    let earlier = RESTARTS as usize - 1;
    assert!(
        crashes == earlier && restarts == earlier && said >= earlier,
        "{crashes} crashes, {restarts} restarts, {said} lines of the guest's own\n{transcript}"
    );
}

/// The slow one (minutes): Linux, entered by its 64-bit boot protocol on
/// the first CPU, boots on the PIT and the PIC the config gave it, with no
/// local APIC, runs its `/init` from the initramfs cordon placed for it,
/// and halts with interrupts off, which stops the VM for good (its restart
/// policy is "never"); the heartbeat guest on the second CPU beats while
/// Linux boots and after it stopped.
#[test]
fn bochs_boots_the_configured_linux_management_vm_to_init_beside_a_heartbeat() {
    let machine = PcMachine::new(Emulator::Bochs, config_iso(MGMT_AND_HEARTBEAT)).cpus(BOCHS_CPUS);
    let expect = Expect::within(LINUX_DEADLINE)
        .line(banner())
        .line(format!("VMX usable on all {BOCHS_CPUS} CPUs").as_str())
        // The ports of COM1, the PICs, the PIT and its gate, the RTC.
        .line(Pattern::line_with(&[
            "VM mgmt: cpu0, 128 MiB of RAM at host 0x",
            "I/O ports: 0x3f8-0x3ff 0x20-0x21 0xa0-0xa1 0x40-0x43 0x61-0x61 0x70-0x71, the \
             PIC's interrupts",
        ]))
        .line(vm_set_up("beat", 1, "2 MiB", "none"))
        .line("VM beat started on cpu1 (start 1, bare metal")
        .line(Pattern::line_with(&[
            "VM mgmt: Linux (boot protocol 2.",
            "command line \"console=ttyS0,115200",
            "initrd of",
        ]))
        .line("VM mgmt started on cpu0 (start 1, Linux")
        // Linux's own messages, on COM1, which the VM owns.
        .line("Linux version 6.")
        .line("No local APIC present")
        .line("Kernel command line: console=ttyS0")
        .line("Run /init as init process")
        .line(marker::INIT_STARTED)
        .line(marker::HALTING)
        .line("reboot: System halted")
        .line("VM mgmt stopped: HLT at rip 0x")
        .line("VM beat runs on after VM mgmt stopped")
        // cordon's CPUID hides what it would refuse Linux.
        .forbid("unchecked MSR access error")
        .forbid(marker::FAILED)
        .forbid("which cordon does not handle")
        .forbid("VM beat stopped")
        .forbid("which no VM here owns")
        .forbid("Kernel panic")
        .forbid("unexpected exception");
    boot_expecting(&machine, expect);
}

/// The values of the lines with `prefix` followed by a hexadecimal number.
fn logged_values(transcript: &Transcript, prefix: &str) -> Vec<u64> {
    transcript
        .lines()
        .filter_map(|line| line.split_once(prefix))
        .map(|(_, value)| {
            let digits = value.trim().trim_start_matches("0x");
            u64::from_str_radix(digits, 16).unwrap_or_else(|_| panic!("bad value {value:?}"))
        })
        .collect()
}
