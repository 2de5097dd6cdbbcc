//! A planned VM on its CPU: loaded afresh, entered, its exits handled
//! until it stops; then its restart policy decides whether it starts again.
//! When it stops for good, its CPU watches the other VMs go on, and says
//! so: a VM's end must not stop any other.

use core::fmt;
use core::sync::atomic::Ordering;

use log::{error, info, warn};

use super::load;
use super::plan::PlannedVm;
use crate::arch::x86_64::gdt::CpuTables;
use crate::arch::x86_64::lapic::Lapic;
use crate::arch::x86_64::vmx::exits::{self, Next, Stopped};
use crate::arch::x86_64::vmx::operation::{VmxCpu, VmxError};
use crate::arch::x86_64::vmx::vcpu::{GuestStart, Vcpu};
use crate::mm::PhysRange;
use crate::vm::spec::{RestartPolicy, StopReason};

/// How many times a CPU whose VM stopped looks for another VM's next exit
/// before it says that VM seems stuck.
const EXIT_WAIT_POLLS: u64 = 1 << 32;

/// Why a VM stopped, as its restart policy sees it: a HLT with nothing to
/// wake it is how a guest powers off (Linux's `halt`), a triple fault how
/// a PC resets (Linux's last reboot method); anything else is a crash.
fn stop_reason(stopped: Stopped) -> StopReason {
    match stopped {
        Stopped::Halted { .. } => StopReason::PowerOff,
        Stopped::TripleFault => StopReason::Reset,
        Stopped::EptViolation { .. } | Stopped::Unhandled { .. } => StopReason::Crash,
    }
}

/// A restart policy as a config writes it.
fn policy_name(policy: RestartPolicy) -> &'static str {
    match policy {
        RestartPolicy::Never => "never",
        RestartPolicy::Always => "always",
        RestartPolicy::OnFailure => "on-failure",
    }
}

/// Runs `vm` on this CPU until it stops for good; then reports on the
/// other VMs of `plan`.
pub fn run(
    vm: &PlannedVm,
    plan: &[PlannedVm],
    cpu: &VmxCpu,
    tables: &CpuTables,
    lapic: &Lapic,
) -> Result<(), VmxError> {
    // Every CPU refused the PIC's interrupts when it started.
    if vm.owns_pic {
        lapic.accept_pic_interrupts();
    }
    let ram = guest_ram(vm.ram);
    let mut vcpu: Option<Vcpu> = None;
    let mut starts = 0u64;
    loop {
        let entry = match load::load(vm.name, &vm.images, ram) {
            Ok(entry) => entry,
            Err(error) => {
                error!("VM {}: image: {error}", vm.name);
                break;
            }
        };
        let start = GuestStart {
            ept_pointer: vm.ept_pointer,
            vpid: vm.vpid,
            entry,
            owns_interrupts: vm.owns_pic,
            io_bitmaps: vm.io_bitmaps,
            msr_bitmap: vm.msr_bitmap,
        };
        let vcpu = match &mut vcpu {
            Some(vcpu) => {
                vcpu.restart(cpu, tables, start)?;
                vcpu
            }
            None => vcpu.insert(Vcpu::new(cpu, tables, start)?),
        };
        starts += 1;
        vm.running.store(true, Ordering::Release);
        info!(
            "VM {} started on cpu{} (start {starts}, {} at {:#x})",
            vm.name,
            vm.cpu,
            Kind(vm),
            start.entry.rip
        );
        let stopped = loop {
            let reason = vcpu.run()?;
            vm.exits.fetch_add(1, Ordering::AcqRel);
            if let Next::Stop(stopped) = exits::handle(vm.name, vcpu, reason) {
                break stopped;
            }
        };
        let reason = stop_reason(stopped);
        warn!("VM {} stopped: {stopped} ({reason})", vm.name);
        if !vm.restart.restarts_after(reason) {
            break;
        }
        info!(
            "VM {}: restarting (restart = \"{}\")",
            vm.name,
            policy_name(vm.restart)
        );
    }
    vm.running.store(false, Ordering::Release);
    info!("VM {} is stopped for good; cpu{} waits", vm.name, vm.cpu);
    watch_others(vm, plan);
    Ok(())
}

/// Waits for every other running VM's next exit, and says whether it came.
fn watch_others(stopped: &PlannedVm, plan: &[PlannedVm]) {
    let others = plan
        .iter()
        .filter(|other| other.cpu != stopped.cpu && other.running.load(Ordering::Acquire));
    for other in others {
        let before = other.exits.load(Ordering::Acquire);
        let moved = (0..EXIT_WAIT_POLLS).find_map(|_| {
            core::hint::spin_loop();
            let now = other.exits.load(Ordering::Acquire);
            (now > before).then_some(now)
        });
        match moved {
            Some(exits) => info!(
                "VM {} runs on after VM {} stopped ({exits} VM exits so far)",
                other.name, stopped.name
            ),
            None => warn!(
                "VM {} made no VM exit since VM {} stopped",
                other.name, stopped.name
            ),
        }
    }
}

/// What kind of guest a VM runs, for the log.
struct Kind<'a>(&'a PlannedVm);

impl fmt::Display for Kind<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0.images.kind {
            cordon_config::ImageKind::Linux => "Linux, 64-bit boot protocol, entered",
            cordon_config::ImageKind::BareMetal => "bare metal, real mode, entered",
        })
    }
}

/// The VM's RAM, as bytes cordon fills.
fn guest_ram(ram: PhysRange) -> &'static mut [u8] {
    // SAFETY: the range was taken out of free RAM for this VM alone, below
    // the identity map's end (`memory::init` keeps everything above out of
    // the free RAM), and only this CPU, the VM's, writes it.
    unsafe { core::slice::from_raw_parts_mut(ram.start as *mut u8, ram.size() as usize) }
}
