//! The CPUs cordon runs on: which are online, idling, and stopping them all.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::arch::aarch64::cpu as arch_cpu;
use crate::dt::MAX_CPUS;

static ONLINE: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);
static STOPPED: AtomicUsize = AtomicUsize::new(0);

pub fn mark_online(id: usize) {
    ONLINE[id].store(true, Ordering::Release);
}

pub fn is_online(id: usize) -> bool {
    ONLINE[id].load(Ordering::Acquire)
}

pub fn online_count() -> usize {
    (0..MAX_CPUS).filter(|&id| is_online(id)).count()
}

pub fn stop_requested() -> bool {
    STOP_REQUESTED.load(Ordering::Acquire)
}

/// Where a CPU with nothing to run waits, until it is given a vCPU.
pub fn idle() -> ! {
    loop {
        if stop_requested() {
            park();
        }
        if let Some((vm, vcpu)) = crate::vm::assignment(arch_cpu::id()) {
            crate::vm::run_assigned(vm, vcpu);
        }
        // A `send_event` between the check and here leaves the event flag
        // set, so this returns at once.
        arch_cpu::wait_for_event();
    }
}

/// Stops this CPU for good (interrupts stay masked).
pub fn park() -> ! {
    STOPPED.fetch_add(1, Ordering::AcqRel);
    loop {
        arch_cpu::wait_for_event();
    }
}

/// Asks every other online CPU to stop; `true` once they all have, `false`
/// if some did not within `timeout_ms`.
pub fn stop_others(timeout_ms: u64) -> bool {
    STOP_REQUESTED.store(true, Ordering::Release);
    arch_cpu::send_event();
    let others = online_count().saturating_sub(1);
    let (start, hz) = arch_cpu::counter();
    let ticks = hz * timeout_ms / 1000;
    while STOPPED.load(Ordering::Acquire) < others {
        if arch_cpu::counter().0 - start > ticks {
            return false;
        }
        core::hint::spin_loop();
    }
    true
}
