//! A VM's life: running; stopping when it powers off, resets or crashes;
//! then restarted from its pristine images or stopped for good, as its
//! restart policy says. Other VMs never pause for it.

use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};

use cordon_abi::{ErrorCode, ResetKind};
use log::{info, warn};

use super::spec::{Role, StopReason};
use super::{VcpuState, Vm, builder};
use crate::arch::aarch64::gic::distributor;
use crate::arch::aarch64::trap::kick_vcpu;
use crate::arch::aarch64::vgic::injector;
use crate::arch::aarch64::{cpu as arch_cpu, psci};
use crate::management::{record_event, uptime_ns};

/// How long a stopping VM waits for its other vCPUs to stop.
const STOP_TIMEOUT_MS: u64 = 1000;
/// How long other CPUs get to stop before the machine powers off.
const MACHINE_STOP_TIMEOUT_MS: u64 = 100;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum VmState {
    Running = 0,
    Stopping = 1,
    Stopped = 2,
}

pub struct Lifecycle {
    state: AtomicU8,
    restarts: AtomicU32,
    /// When the VM last started (counter ticks since reset, as ns).
    started_ns: AtomicU64,
    /// A stop asked for from outside (the management interface): the last
    /// vCPU to leave finishes it.
    remote_stop: AtomicBool,
    /// ...and then starts the VM again.
    restart_after_stop: AtomicBool,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self::new()
    }
}

impl Lifecycle {
    pub const fn new() -> Self {
        Self {
            state: AtomicU8::new(VmState::Running as u8),
            restarts: AtomicU32::new(0),
            started_ns: AtomicU64::new(0),
            remote_stop: AtomicBool::new(false),
            restart_after_stop: AtomicBool::new(false),
        }
    }

    pub fn state(&self) -> VmState {
        match self.state.load(Ordering::Acquire) {
            0 => VmState::Running,
            1 => VmState::Stopping,
            _ => VmState::Stopped,
        }
    }

    /// When the VM last started, in ns since reset.
    pub fn started_ns(&self) -> u64 {
        self.started_ns.load(Ordering::Relaxed)
    }

    pub fn restarts(&self) -> u32 {
        self.restarts.load(Ordering::Relaxed)
    }

    fn set(&self, state: VmState) {
        self.state.store(state as u8, Ordering::Release);
    }

    /// Running -> Stopping; `false` if the VM was not running.
    fn begin_stop(&self) -> bool {
        self.state
            .compare_exchange(
                VmState::Running as u8,
                VmState::Stopping as u8,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }
}

/// Stops this CPU's vCPU, releasing what it holds of the physical GIC,
/// and waits for the vCPU to be started again. The last vCPU of a VM
/// stopped from outside finishes the stop.
fn leave(vm: &'static Vm, vcpu: usize) -> ! {
    injector::release_for_stop();
    vm.vcpus[vcpu].stop();
    let all_off = vm.vcpus.iter().all(|v| v.state() == VcpuState::Off);
    if all_off && vm.lifecycle.remote_stop.swap(false, Ordering::AcqRel) {
        let restart = vm
            .lifecycle
            .restart_after_stop
            .swap(false, Ordering::AcqRel);
        finish_stop(vm, restart);
    }
    super::run_assigned(vm, vcpu)
}

/// Marks the VM running from its entry point (vCPU 0), and says so.
fn launch(vm: &'static Vm) {
    vm.lifecycle
        .started_ns
        .store(uptime_ns(), Ordering::Relaxed);
    let plan = {
        let mut images = vm.images.lock();
        info!("VM {}: starting from {}", vm.name, images.launch());
        images.plan()
    };
    vm.lifecycle.set(VmState::Running);
    record_event(vm, VmState::Running);
    vm.vcpus[0].start(plan.kernel, plan.dtb);
}

/// Every vCPU is off: reset the VM's interrupts, then restart it from its
/// boot images or leave it stopped.
fn finish_stop(vm: &'static Vm, restart: bool) {
    info!("VM {}: exits: {}", vm.name, vm.exits);
    reset_interrupts(vm);
    if restart {
        let count = vm.lifecycle.restarts.fetch_add(1, Ordering::Relaxed) + 1;
        info!(
            "VM {}: restarting from its images (restart {count}; {} KiB of RAM free)",
            vm.name,
            free_kib()
        );
        builder::load(vm, true);
        launch(vm);
    } else {
        vm.lifecycle.set(VmState::Stopped);
        record_event(vm, VmState::Stopped);
        info!("VM {} stopped", vm.name);
    }
}

/// RAM the frame allocator has left, in KiB (a restart must not change it).
fn free_kib() -> u64 {
    crate::boot::FRAMES
        .lock()
        .as_ref()
        .map_or(0, |frames| frames.free_bytes() >> 10)
}

/// The management interface asks to stop a running VM (and maybe start it
/// again): its vCPUs are kicked out of the guest and stop at their exit.
pub fn request_stop(vm: &'static Vm, restart: bool) -> Result<(), VmState> {
    if !vm.lifecycle.begin_stop() {
        return Err(vm.lifecycle.state());
    }
    info!(
        "VM {}: stop requested through the management interface",
        vm.name
    );
    vm.lifecycle
        .restart_after_stop
        .store(restart, Ordering::Release);
    vm.lifecycle.remote_stop.store(true, Ordering::Release);
    record_event(vm, VmState::Stopping);
    for (n, _) in vm.vcpus.iter().enumerate() {
        kick_vcpu(vm, n);
    }
    // A VM whose vCPUs are all off already has nobody to leave.
    if vm.vcpus.iter().all(|v| v.state() == VcpuState::Off)
        && vm.lifecycle.remote_stop.swap(false, Ordering::AcqRel)
    {
        finish_stop(vm, restart);
    }
    Ok(())
}

/// Starts a stopped VM again from its images: `WrongState` if it is not
/// stopped or a load into it is unfinished, `HashMismatch` if a loaded
/// image failed its check.
pub fn start_stopped(vm: &'static Vm) -> Result<(), ErrorCode> {
    if vm.lifecycle.state() != VmState::Stopped {
        return Err(ErrorCode::WrongState);
    }
    vm.images.lock().check_startable()?;
    info!("VM {}: started through the management interface", vm.name);
    builder::load(vm, true);
    launch(vm);
    Ok(())
}

/// The first start of a VM just built.
pub fn first_start(vm: &'static Vm) {
    launch(vm);
}

/// Called at every VM exit: a vCPU of a stopping VM stops here.
pub fn check(vm: &'static Vm, vcpu: usize) {
    if vm.lifecycle.state() != VmState::Running {
        leave(vm, vcpu);
    }
}

/// Stops `vm` for `reason`, seen by vCPU `vcpu` (on this CPU), then
/// restarts it or stops it for good. This CPU then waits for its vCPU.
pub fn stop(vm: &'static Vm, vcpu: usize, reason: StopReason) -> ! {
    if !vm.lifecycle.begin_stop() {
        leave(vm, vcpu);
    }
    info!("VM {} {reason}", vm.name);
    record_event(vm, VmState::Stopping);
    for n in 0..vm.vcpus.len() {
        if n != vcpu {
            kick_vcpu(vm, n);
        }
    }
    injector::release_for_stop();
    vm.vcpus[vcpu].stop();
    if !wait_all_off(vm) {
        warn!("VM {}: some vCPUs did not stop in time", vm.name);
    }
    finish_stop(vm, vm.spec.restart.restarts_after(reason));
    if vm.lifecycle.state() == VmState::Stopped && vm.spec.role == Role::Management {
        info!("the management VM is off for good: powering the machine off");
        power_off_machine(reason);
    }
    super::run_assigned(vm, vcpu)
}

fn wait_all_off(vm: &Vm) -> bool {
    let (start, hz) = arch_cpu::counter();
    let ticks = hz * STOP_TIMEOUT_MS / 1000;
    while vm.vcpus.iter().any(|v| v.state() != VcpuState::Off) {
        if arch_cpu::counter().0 - start > ticks {
            return false;
        }
        core::hint::spin_loop();
    }
    true
}

/// Puts the VM's interrupts back as at boot: virtual distributor reset,
/// its physical SPIs disabled.
fn reset_interrupts(vm: &Vm) {
    let mut dist = vm.distributor.lock();
    for irq in dist.owned_physical_spis() {
        distributor::get().disable(irq);
    }
    dist.reset();
}

/// Powers the machine off (or resets it, if the management VM reset).
fn power_off_machine(reason: StopReason) -> ! {
    reset_machine(if reason == StopReason::Reset {
        ResetKind::Reboot
    } else {
        ResetKind::PowerOff
    })
}

/// Resets or powers off the machine through firmware PSCI; stops all CPUs
/// if there is none.
pub fn reset_machine(kind: ResetKind) -> ! {
    crate::cpu::stop_others(MACHINE_STOP_TIMEOUT_MS);
    let function = match kind {
        ResetKind::Reboot => psci::SYSTEM_RESET,
        ResetKind::PowerOff => psci::SYSTEM_OFF,
    };
    if let Some(conduit) = crate::boot::psci_conduit() {
        psci::call(conduit, function, [0; 3]);
    }
    info!("no firmware PSCI to power off with; CPUs stopped");
    crate::cpu::park()
}
