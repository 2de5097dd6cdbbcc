//! Giving virtual interrupts to the vCPU on this CPU: list registers, and a
//! queue for when they are all taken (the underflow maintenance interrupt
//! brings the queue in as they drain).

use heapless::Deque;
use spin::mutex::SpinMutex;

use super::list_register::{self, State};
use crate::arch::aarch64::cpu;
use crate::arch::aarch64::gic::{distributor, hyp_interface};
use crate::dt::MAX_CPUS;

/// Interrupts that may wait for a list register, per CPU.
const QUEUE_DEPTH: usize = 64;
/// LR state bit that makes an active interrupt pending again.
const LR_PENDING: u32 = 1 << 28;

static QUEUES: [SpinMutex<Deque<u32, QUEUE_DEPTH>>; MAX_CPUS] =
    [const { SpinMutex::new(Deque::new()) }; MAX_CPUS];

/// Empties the list registers and queue of this CPU (vCPU start).
pub fn reset() {
    QUEUES[cpu::id()].lock().clear();
    let gich = hyp_interface::get();
    for lr in 0..gich.list_registers() {
        gich.write(lr, 0);
    }
    gich.set_underflow_interrupt(false);
}

/// Before this CPU's vCPU stops: deactivates the physical interrupts its
/// list registers held (the guest will never deactivate them now), then
/// empties list registers and queue.
pub fn release_for_stop() {
    let gich = hyp_interface::get();
    let listed = (0..gich.list_registers())
        .map(|lr| gich.read(lr))
        .filter(|&value| list_register::state(value) != State::Invalid);
    let queued: heapless::Vec<u32, QUEUE_DEPTH> =
        QUEUES[cpu::id()].lock().iter().copied().collect();
    for value in listed.chain(queued) {
        if let Some(physical) = list_register::physical_id(value) {
            distributor::get().clear_active(physical);
        }
    }
    reset();
}

/// Queues the list register value `lr` for this CPU's vCPU; [`flush`] lists it.
pub fn inject(lr: u32) {
    let mut queue = QUEUES[cpu::id()].lock();
    if queue
        .iter()
        .any(|&queued| list_register::same_interrupt(queued, lr))
    {
        return;
    }
    if queue.push_back(lr).is_err() {
        log::warn!(
            "virtual interrupt {} dropped: {QUEUE_DEPTH} already waiting",
            list_register::virtual_id(lr)
        );
    }
}

/// Whether a virtual interrupt is pending for this CPU's vCPU (listed or
/// queued): a trapped WFI must not wait then.
pub fn has_pending() -> bool {
    let gich = hyp_interface::get();
    let listed = (0..gich.list_registers()).any(|n| {
        matches!(
            list_register::state(gich.read(n)),
            State::Pending | State::PendingActive
        )
    });
    listed || !QUEUES[cpu::id()].lock().is_empty()
}

/// Whether virtual interrupt `id` is in a list register or waiting for one.
pub fn is_listed(id: u32) -> bool {
    let gich = hyp_interface::get();
    let in_register = (0..gich.list_registers())
        .any(|n| !gich.is_empty(n) && list_register::virtual_id(gich.read(n)) == id);
    in_register
        || QUEUES[cpu::id()]
            .lock()
            .iter()
            .any(|&lr| list_register::virtual_id(lr) == id)
}

/// Frees list registers whose interrupt the guest EOId with maintenance
/// requested (they would keep the maintenance interrupt raised).
pub fn release_end_of_interrupts() {
    let gich = hyp_interface::get();
    let ended = gich.end_of_interrupt_status();
    for lr in (0..gich.list_registers()).filter(|lr| ended & (1 << lr) != 0) {
        gich.write(lr, 0);
    }
}

/// Moves queued interrupts into free list registers; asks for a
/// maintenance interrupt if some must still wait. Call before every entry.
pub fn flush() {
    let gich = hyp_interface::get();
    let count = gich.list_registers();
    let mut queue = QUEUES[cpu::id()].lock();
    let mut waiting = Deque::<u32, QUEUE_DEPTH>::new();
    while let Some(lr) = queue.pop_front() {
        // Already listed: merge (a second pending of the same interrupt is
        // the same interrupt; an active one becomes active and pending).
        let listed = (0..count)
            .find(|&n| !gich.is_empty(n) && list_register::same_interrupt(gich.read(n), lr));
        if let Some(n) = listed {
            let current = gich.read(n);
            if list_register::state(current) == State::Active {
                gich.write(n, current | LR_PENDING);
            }
            continue;
        }
        match (0..count).find(|&n| gich.is_empty(n)) {
            Some(free) => gich.write(free, lr),
            None => {
                // Cannot fail: it came out of a queue of the same size.
                let _ = waiting.push_back(lr);
            }
        }
    }
    gich.set_underflow_interrupt(!waiting.is_empty());
    *queue = waiting;
}
