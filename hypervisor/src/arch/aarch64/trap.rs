//! VM exits: every exception a guest causes comes here, by class.
//!
//! - HVC/SMC: PSCI and cordon's hypercalls ([`hypercall`]);
//! - data aborts: the emulated console UART and distributor, or a fault
//!   injected into the guest for memory it was not given ([`data_abort`]);
//! - physical interrupts: forwarded to the vCPU ([`irq`]);
//! - WFI/WFE, set/way cache maintenance, the PMU (counterless for guests),
//!   other system registers (UNDEF), and anything else: see [`handle_sync`].

use aarch64_cpu::registers::{CNTV_CTL_EL0, ELR_EL1, SPSR_EL1};
use aarch64_cpu::registers::{ESR_EL1, ESR_EL2, FAR_EL1, FAR_EL2, HPFAR_EL2, VBAR_EL1};
use log::{debug, info, warn};
use tock_registers::interfaces::{ReadWriteable, Readable, Writeable};

use super::cpu;
use super::esr::{self, ExceptionClass};
use super::exception::TrapFrame;
use super::gic::{self, cpu_interface, distributor};
use super::mmio::{MmioAccess, ZERO_REGISTER};
use super::psci::{self, GuestCall};
use super::sysreg::SystemAccess;
use super::vgic::distributor::Effect;
use super::vgic::{DISTRIBUTOR_SIZE, injector, list_register};
use crate::console::CONSOLE;
use crate::vdev::UART_PAGE_SIZE;
use crate::vm::exits::ExitReason;
use crate::vm::spec::StopReason;
use crate::vm::{self, VcpuState, Vm, lifecycle};

/// Vector entry groups (see vectors.S): kind % 4.
const KIND_SYNC: u64 = 0;
const KIND_IRQ: u64 = 1;
/// Exception classes handled here beyond the aborts.
const EC_WFX: u8 = 0x01;
const EC_HVC64: u8 = 0x16;
const EC_SMC64: u8 = 0x17;
const EC_SYSREG: u8 = 0x18;
/// WFx ISS bit 0: WFE rather than WFI.
const WFX_IS_WFE: u32 = 1;
/// Size of an A64 instruction: how far to step over a trapped one.
const INSTRUCTION_SIZE: u64 = 4;
/// Injected syndromes: IL (32-bit instruction) and classes.
const ESR_IL: u64 = 1 << 25;
const EC_UNKNOWN: u64 = 0x00;
const EC_DATA_ABORT_LOWER: u64 = 0x24;
const EC_DATA_ABORT_SAME: u64 = 0x25;
const EC_INSTRUCTION_ABORT_LOWER: u64 = 0x20;
const EC_INSTRUCTION_ABORT_SAME: u64 = 0x21;
/// Fault status "synchronous external abort", and a data abort's WnR bit.
const FSC_EXTERNAL: u64 = 0x10;
const ISS_WNR: u64 = 1 << 6;
/// SPSR.M[3:0] of the interrupted guest context.
const SPSR_MODE_MASK: u64 = 0xf;
const MODE_EL1T: u64 = 0b0100;
const MODE_EL1H: u64 = 0b0101;
/// Offsets in the EL1 vector table for synchronous exceptions.
const VECTOR_CURRENT_SP0: u64 = 0x000;
const VECTOR_CURRENT_SPX: u64 = 0x200;
const VECTOR_LOWER_A64: u64 = 0x400;
/// SPSR of the injected exception: EL1h, D, A, I, F masked.
const SPSR_EL1H_MASKED: u64 = 0x3c5;
/// HPFAR_EL2 holds IPA bits [47:12] in its bits [43:4].
const HPFAR_FIPA_SHIFT: u32 = 4;
const PAGE_OFFSET_MASK: u64 = 0xfff;

/// Entered from vectors.S for every exception from a guest. Returns to the
/// guest with `frame` as its registers.
pub extern "C" fn handle_guest_exit(frame: &mut TrapFrame, kind: u64) {
    let (vm, vcpu) = vm::current();
    match kind % 4 {
        KIND_SYNC => handle_sync(vm, vcpu, frame),
        KIND_IRQ => {
            vm.exits.count(ExitReason::Irq);
            irq(vm, vcpu);
        }
        _ => {
            // FIQ (unused) or SError: the guest broke something physical.
            vm.exits.count(ExitReason::Other);
            warn!(
                "VM {} vCPU {vcpu}: {} at {:#x}",
                vm.name,
                if kind % 4 == 2 { "FIQ" } else { "SError" },
                frame.elr
            );
            lifecycle::stop(vm, vcpu, StopReason::Crash);
        }
    }
    lifecycle::check(vm, vcpu);
    let focused = vm::input_focus().is_some_and(|focus| core::ptr::eq(focus, vm));
    if let Some(uart) = vm.uart.as_ref().filter(|_| focused) {
        uart.flush_stale(|bytes| {
            CONSOLE
                .lock()
                .write_from(vm.console_source(), &vm.console_prefix, bytes)
        });
    }
    drain_sgis(vm, vcpu);
    raise_emulated_interrupts(vm, vcpu);
    injector::flush();
}

/// The physical interrupt of cordon's console UART (input), once a VM
/// has an emulated console.
static CONSOLE_INPUT_IRQ: spin::Once<u32> = spin::Once::new();

/// Makes console input arrive as physical interrupt `irq`.
pub fn route_console_input(irq: u32) {
    CONSOLE_INPUT_IRQ.call_once(|| irq);
    let gicd = distributor::get();
    gicd.set_targets(irq, gic::interface_mask(cpu::id()));
    gicd.enable(irq);
    CONSOLE.lock().enable_input_interrupt();
}

/// The key that moves console input to the next VM (Ctrl-]).
pub const SWITCH_INPUT_KEY: u8 = 0x1d;

/// Hands bytes typed on the console to the VM that has the input focus;
/// [`SWITCH_INPUT_KEY`] moves the focus to the next VM with a console.
fn take_console_input() {
    let mut focus = vm::input_focus();
    loop {
        // The console's lock ends with this statement: logging below
        // takes it again (a `while let` would hold it through the body).
        let Some(byte) = CONSOLE.lock().read_byte() else {
            break;
        };
        if byte == SWITCH_INPUT_KEY {
            focus = vm::next_input_focus();
            if let Some(vm) = focus {
                info!("console input now goes to VM {} (Ctrl-] switches)", vm.name);
            }
            continue;
        }
        // Without a VM to take it, input is read and dropped (else the
        // interrupt stays raised).
        if let Some(uart) = focus.and_then(|vm| vm.uart.as_ref()) {
            uart.model.lock().push_input(byte);
        }
    }
    let Some(vm) = focus else { return };
    let Some(uart) = &vm.uart else { return };
    // Its interrupt is raised by the vCPU it targets, at its next exit.
    let target = delivery(vm, uart.spi).vcpu;
    if target != vm::current().1 || !core::ptr::eq(vm, vm::current().0) {
        kick_vcpu(vm, target);
    }
}

/// How an emulated SPI reaches its VM: the vCPU it targets, whether the
/// guest enabled it there, and its priority.
struct Delivery {
    vcpu: usize,
    enabled: bool,
    priority: u8,
}

fn delivery(vm: &Vm, spi: u32) -> Delivery {
    let dist = vm.distributor.lock();
    let vcpu = (dist.targets(spi).trailing_zeros() as usize).min(vm.vcpus.len() - 1);
    Delivery {
        vcpu,
        enabled: dist.is_enabled(vcpu, spi),
        priority: dist.priority(vcpu, spi),
    }
}

/// Lists the interrupts of emulated devices (channel doorbells rung by
/// peers, a console UART whose line is raised) on the vCPU they target.
fn raise_emulated_interrupts(vm: &Vm, vcpu: usize) {
    if let Some(port) = &vm.management_port {
        let to = delivery(vm, port.spi);
        // Events the guest does not listen for (no driver) stay recorded
        // in the region only.
        if to.vcpu == vcpu && port.take_event() && to.enabled {
            injector::inject(list_register::emulated_edge(port.spi, to.priority));
        }
    }
    for end in &vm.channels {
        let to = delivery(vm, end.spi);
        // A ring the guest has not enabled yet waits for it.
        if to.vcpu == vcpu && to.enabled && end.take_ring() {
            injector::inject(list_register::emulated_edge(end.spi, to.priority));
        }
    }
    let Some(uart) = &vm.uart else { return };
    if !uart.model.lock().interrupt_pending() {
        return;
    }
    let to = delivery(vm, uart.spi);
    if to.vcpu == vcpu && to.enabled && !injector::is_listed(uart.spi) {
        injector::inject(list_register::emulated_level(uart.spi, to.priority));
    }
}

/// Makes vCPU `vcpu` of `vm` exit soon (a cordon IPI to its CPU), to look
/// at what changed for it.
pub fn kick_vcpu(vm: &Vm, vcpu: usize) {
    distributor::get().send_sgi(gic::CORDON_IPI, gic::interface_mask(vm.vcpus[vcpu].pcpu));
}

/// A doorbell write: the peer's end of the channel gets its interrupt, on
/// the vCPU that interrupt targets (woken with a cordon IPI).
fn ring_peer(vm: &Vm, channel: &str, peer: &str) {
    let Some(peer_vm) = vm::by_name(peer) else {
        return;
    };
    let Some(end) = peer_vm.channels.iter().find(|end| end.name == channel) else {
        return;
    };
    end.ring();
    kick_vcpu(peer_vm, delivery(peer_vm, end.spi).vcpu);
    debug!("VM {}: rang channel {channel} to VM {peer}", vm.name);
}

/// A guest access to its emulated console UART.
fn uart_access(vm: &Vm, frame: &mut TrapFrame, access: MmioAccess, offset: u64) {
    let Some(uart) = &vm.uart else { return };
    if access.write {
        let value = access.store_value(register(frame, access.register)) as u32;
        let mut sent = heapless::Vec::<u8, 1>::new();
        uart.model.lock().write(offset, value, &mut |byte| {
            let _ = sent.push(byte);
        });
        if let Some(&byte) = sent.first() {
            vm.console_ring.lock().push(&[byte]);
            uart.transmit(byte, |bytes| {
                CONSOLE
                    .lock()
                    .write_from(vm.console_source(), &vm.console_prefix, bytes)
            });
        }
    } else {
        let value = uart.model.lock().read(offset);
        if access.register != ZERO_REGISTER {
            frame.x[access.register as usize] = access.load_value(value as u64);
        }
    }
}

fn handle_sync(vm: &'static Vm, vcpu: usize, frame: &mut TrapFrame) {
    let esr = ESR_EL2.get();
    let class = ExceptionClass::of(esr);
    let iss = esr::iss(esr);
    match class.0 {
        EC_HVC64 => {
            vm.exits.count(ExitReason::Hvc);
            hypercall(vm, vcpu, frame);
        }
        EC_SMC64 => {
            vm.exits.count(ExitReason::Smc);
            // A trapped SMC returns to itself: step over it.
            frame.elr += INSTRUCTION_SIZE;
            hypercall(vm, vcpu, frame);
        }
        esr::EC_DATA_ABORT_LOWER => data_abort(vm, vcpu, frame, iss),
        EC_WFX if iss & WFX_IS_WFE != 0 => {
            vm.exits.count(ExitReason::Wfe);
            frame.elr += INSTRUCTION_SIZE;
        }
        EC_WFX => {
            vm.exits.count(ExitReason::Wfi);
            // Wait here for what would have woken the guest: a physical
            // interrupt (masked at EL2, so it stays pending and exits at
            // once) — unless a virtual one is already waiting for it.
            injector::flush();
            if !injector::has_pending() {
                aarch64_cpu::asm::wfi();
            }
            frame.elr += INSTRUCTION_SIZE;
        }
        EC_SYSREG => {
            vm.exits.count(ExitReason::SystemRegister);
            let access = SystemAccess::decode(iss);
            if access.is_set_way_maintenance() {
                // Caches are coherent for guests of a 1:1 or stage-2 mapped
                // VM; set/way maintenance by a guest has nothing to do.
                frame.elr += INSTRUCTION_SIZE;
            } else if access.is_pmu() {
                // A PMU without counters: reads are zero, writes ignored.
                if access.read && access.register != ZERO_REGISTER {
                    frame.x[access.register as usize] = 0;
                }
                frame.elr += INSTRUCTION_SIZE;
            } else {
                debug!(
                    "VM {} vCPU {vcpu}: system register access (ISS {iss:#x}) at {:#x}: UNDEF",
                    vm.name, frame.elr
                );
                inject_undefined(frame);
            }
        }
        esr::EC_INSTRUCTION_ABORT_LOWER => {
            vm.exits.count(ExitReason::StageTwoFault);
            let ipa = faulting_ipa();
            if vm.log_fault() {
                warn!(
                    "VM {} vCPU {vcpu}: instruction fetch from {ipa:#x}, not given to it: abort \
                     injected ({} refused so far)",
                    vm.name,
                    vm.faults()
                );
            }
            inject_instruction_abort(frame);
        }
        _ => {
            vm.exits.count(ExitReason::Other);
            warn!(
                "VM {} vCPU {vcpu}: {} (ESR {esr:#x}) at {:#x}: UNDEF injected",
                vm.name,
                class.description(),
                frame.elr
            );
            inject_undefined(frame);
        }
    }
}

/// HVC/SMC: PSCI for the guest and cordon's own calls; anything else is
/// refused (never passed on to firmware).
fn hypercall(vm: &'static Vm, vcpu: usize, frame: &mut TrapFrame) {
    let call = GuestCall::decode(frame.x[0], [frame.x[1], frame.x[2], frame.x[3]]);
    let result: i64 = match call {
        GuestCall::Version => psci::GUEST_VERSION as i64,
        GuestCall::Features(function) => GuestCall::features(function),
        GuestCall::MigrateInfoType => psci::MIGRATE_NOT_REQUIRED as i64,
        GuestCall::CpuOn {
            target,
            entry,
            context,
        } => match vm.vcpu_by_mpidr(target) {
            None => psci::INVALID_PARAMETERS,
            Some(target) if vm.vcpus[target].start(entry, context) => 0,
            Some(_) => psci::ALREADY_ON,
        },
        GuestCall::AffinityInfo { target, level } => match vm.vcpu_by_mpidr(target) {
            Some(target) if level == 0 => match vm.vcpus[target].state() {
                VcpuState::On => 0,
                VcpuState::Off => 1,
                VcpuState::Starting => 2,
            },
            _ => psci::INVALID_PARAMETERS,
        },
        GuestCall::CpuOff => {
            vm.vcpus[vcpu].stop();
            vm::run_assigned(vm, vcpu);
        }
        GuestCall::SystemOff => lifecycle::stop(vm, vcpu, StopReason::PowerOff),
        GuestCall::SystemReset => lifecycle::stop(vm, vcpu, StopReason::Reset),
        GuestCall::Cordon(psci::CORDON_ABI_VERSION) => psci::CORDON_ABI as i64,
        GuestCall::Cordon(function) => {
            debug!("VM {}: unknown cordon hypercall {function:#x}", vm.name);
            psci::NOT_SUPPORTED
        }
        GuestCall::Unsupported(function) => {
            debug!("VM {}: unsupported SMCCC call {function:#x}", vm.name);
            psci::NOT_SUPPORTED
        }
    };
    frame.x[0] = result as u64;
}

fn faulting_ipa() -> u64 {
    ((HPFAR_EL2.get() >> HPFAR_FIPA_SHIFT) << 12) | (FAR_EL2.get() & PAGE_OFFSET_MASK)
}

/// A guest load or store that stage 2 stopped: the emulated console UART,
/// the emulated distributor, or memory the VM does not have.
fn data_abort(vm: &'static Vm, vcpu: usize, frame: &mut TrapFrame, iss: u32) {
    let ipa = faulting_ipa();
    let in_distributor = (vm.gicd_ipa..vm.gicd_ipa + DISTRIBUTOR_SIZE).contains(&ipa);
    let uart_offset = vm
        .uart
        .as_ref()
        .and_then(|uart| ipa.checked_sub(uart.ipa))
        .filter(|&offset| offset < UART_PAGE_SIZE);
    if let Some(port) = vm
        .management_port
        .as_ref()
        .filter(|port| port.is_doorbell(ipa))
    {
        vm.exits.count(ExitReason::Mmio);
        if let Ok(access) = MmioAccess::decode(iss)
            && access.write
        {
            let value = access.store_value(register(frame, access.register));
            crate::management::doorbell(vm, port, value);
        }
        frame.elr += INSTRUCTION_SIZE;
        return;
    }
    if let Some(end) = vm.channels.iter().find(|end| end.is_doorbell(ipa)) {
        vm.exits.count(ExitReason::Mmio);
        if esr::is_write(iss) {
            ring_peer(vm, &end.name, &end.peer);
        }
        frame.elr += INSTRUCTION_SIZE;
        return;
    }
    if let Some(offset) = uart_offset {
        vm.exits.count(ExitReason::Mmio);
        match MmioAccess::decode(iss) {
            Ok(access) => {
                uart_access(vm, frame, access, offset);
                frame.elr += INSTRUCTION_SIZE;
            }
            Err(_) => {
                warn!(
                    "VM {}: UART access without a syndrome: abort injected",
                    vm.name
                );
                inject_data_abort(frame, iss);
            }
        }
        return;
    }
    if !in_distributor {
        vm.exits.count(ExitReason::StageTwoFault);
        if vm.log_fault() {
            warn!(
                "VM {} vCPU {vcpu}: {} at {ipa:#x} (pc {:#x}), not given to it: abort injected \
                 ({} refused so far)",
                vm.name,
                if esr::is_write(iss) { "write" } else { "read" },
                frame.elr,
                vm.faults()
            );
        }
        inject_data_abort(frame, iss);
        return;
    }
    vm.exits.count(ExitReason::Mmio);
    let Ok(access) = MmioAccess::decode(iss) else {
        if vm.log_fault() {
            warn!(
                "VM {} vCPU {vcpu}: distributor access at {ipa:#x} without a syndrome \
                 (pc {:#x}): abort injected",
                vm.name, frame.elr
            );
        }
        inject_data_abort(frame, iss);
        return;
    };
    let offset = ipa - vm.gicd_ipa;
    if access.write {
        let value = access.store_value(register(frame, access.register)) as u32;
        let mut effects = heapless::Vec::<Effect, 32>::new();
        vm.distributor
            .lock()
            .write(vcpu, offset, access.size, value, &mut |effect| {
                let _ = effects.push(effect);
            });
        for effect in effects {
            apply(vm, vcpu, effect);
        }
    } else {
        let value = vm.distributor.lock().read(vcpu, offset, access.size);
        let loaded = access.load_value(value as u64);
        if access.register != ZERO_REGISTER {
            frame.x[access.register as usize] = loaded;
        }
    }
    frame.elr += INSTRUCTION_SIZE;
}

fn register(frame: &TrapFrame, n: u8) -> u64 {
    if n == ZERO_REGISTER {
        0
    } else {
        frame.x[n as usize]
    }
}

/// Carries out what a distributor write asked for.
fn apply(vm: &'static Vm, vcpu: usize, effect: Effect) {
    let gicd = distributor::get();
    match effect {
        // SGIs are virtual only; private interrupts act on this CPU's bank,
        // which is the vCPU's own.
        Effect::Enable(irq) if irq >= gic::SGI_COUNT => gicd.enable(irq),
        Effect::Disable(irq) if irq >= gic::SGI_COUNT => gicd.disable(irq),
        Effect::SetPending(irq) => gicd.set_pending(irq),
        Effect::ClearPending(irq) => gicd.clear_pending(irq),
        Effect::Route { irq, vcpus } => gicd.set_targets(irq, physical_targets(vm, vcpus)),
        Effect::SetEdgeTriggered { irq, edge } if irq >= gic::PRIVATE_COUNT => {
            gicd.set_edge_triggered(irq, edge)
        }
        Effect::SendSgi { id, vcpus } => send_sgi(vm, vcpu, id, vcpus),
        _ => {}
    }
}

/// CPU interface mask of the physical CPUs running the vCPUs in `vcpus`.
fn physical_targets(vm: &Vm, vcpus: u8) -> u8 {
    (0..vm.vcpus.len())
        .filter(|n| vcpus & (1 << n) != 0)
        .fold(0, |mask, n| mask | gic::interface_mask(vm.vcpus[n].pcpu))
}

fn send_sgi(vm: &'static Vm, from: usize, id: u32, vcpus: u8) {
    for (target, vcpu) in vm.vcpus.iter().enumerate() {
        if vcpus & (1 << target) == 0 {
            continue;
        }
        if target == from {
            let priority = vm.distributor.lock().priority(from, id);
            injector::inject(list_register::sgi(id, from, priority));
        } else {
            vcpu.pending_sgis[from].fetch_or(1 << id, core::sync::atomic::Ordering::AcqRel);
            kick_vcpu(vm, target);
        }
    }
}

/// Lists SGIs other vCPUs raised for this one.
fn drain_sgis(vm: &'static Vm, vcpu: usize) {
    for (source, pending) in vm.vcpus[vcpu].pending_sgis.iter().enumerate() {
        let ids = pending.swap(0, core::sync::atomic::Ordering::AcqRel);
        for id in (0..gic::SGI_COUNT).filter(|id| ids & (1 << id) != 0) {
            let priority = vm.distributor.lock().priority(vcpu, id);
            injector::inject(list_register::sgi(id, source, priority));
        }
    }
}

/// A physical interrupt arrived while the guest ran.
fn irq(vm: &'static Vm, vcpu: usize) {
    let gicc = cpu_interface::get();
    while let Some(irq) = gicc.acknowledge() {
        let id = irq.id();
        if id == gic::CORDON_IPI || id == gic::maintenance_interrupt() {
            // SGIs to pick up and list registers to refill: done on return.
            injector::release_end_of_interrupts();
            gicc.end_of_interrupt(irq);
            gicc.deactivate(irq);
        } else if CONSOLE_INPUT_IRQ.get() == Some(&id) {
            take_console_input();
            gicc.end_of_interrupt(irq);
            gicc.deactivate(irq);
        } else if id == gic::VIRTUAL_TIMER_PPI {
            virtual_timer(vm, vcpu, irq);
        } else if vm.distributor.lock().owns(id) {
            // Priority drop only: the guest's deactivation of the virtual
            // interrupt deactivates the physical one (HW bit).
            gicc.end_of_interrupt(irq);
            let priority = vm.distributor.lock().priority(vcpu, id);
            injector::inject(list_register::hardware(id, id, priority));
        } else {
            gicc.end_of_interrupt(irq);
            gicc.deactivate(irq);
            warn!("cpu{}: interrupt {id} belongs to no VM; ignored", cpu::id());
        }
    }
}

/// The guest's virtual timer fired. cordon masks it (CNTV_CTL_EL0.IMASK),
/// ends the physical interrupt at once and gives the guest a virtual one
/// without the HW bit; the guest unmasks its timer when it sets the next
/// deadline (Linux and cordon's test guests rewrite CNTV_CTL_EL0 each time).
/// Xen does the same. With the HW bit instead, the guest's deactivation
/// would deactivate the physical PPI, and QEMU's GICv2 model does not
/// signal a PPI that fired again meanwhile (`arm_gic.c`: a vCPU's EOI of a
/// hardware interrupt updates only the virtual interface), so a lone vCPU
/// sleeping in WFI never woke.
fn virtual_timer(vm: &'static Vm, vcpu: usize, irq: cpu_interface::Acknowledged) {
    let gicc = cpu_interface::get();
    CNTV_CTL_EL0.modify(CNTV_CTL_EL0::IMASK::SET);
    gicc.end_of_interrupt(irq);
    gicc.deactivate(irq);
    let id = gic::VIRTUAL_TIMER_PPI;
    let priority = vm.distributor.lock().priority(vcpu, id);
    injector::inject(list_register::emulated_edge(id, priority));
}

/// Makes the guest take an exception at EL1 with syndrome `esr`, as if its
/// instruction at `frame.elr` had caused it.
fn inject_sync(frame: &mut TrapFrame, esr: u64) {
    let mode = frame.spsr & SPSR_MODE_MASK;
    let vector = match mode {
        MODE_EL1H => VECTOR_CURRENT_SPX,
        MODE_EL1T => VECTOR_CURRENT_SP0,
        _ => VECTOR_LOWER_A64,
    };
    ESR_EL1.set(esr);
    ELR_EL1.set(frame.elr);
    SPSR_EL1.set(frame.spsr);
    frame.elr = VBAR_EL1.get() + vector;
    frame.spsr = SPSR_EL1H_MASKED;
}

fn inject_undefined(frame: &mut TrapFrame) {
    inject_sync(frame, (EC_UNKNOWN << 26) | ESR_IL);
}

/// A synchronous external abort on the guest's data access (a write if
/// the trapped access was one).
fn inject_data_abort(frame: &mut TrapFrame, iss: u32) {
    let class = if from_el1(frame) {
        EC_DATA_ABORT_SAME
    } else {
        EC_DATA_ABORT_LOWER
    };
    let write = if esr::is_write(iss) { ISS_WNR } else { 0 };
    FAR_EL1.set(FAR_EL2.get());
    inject_sync(frame, (class << 26) | ESR_IL | write | FSC_EXTERNAL);
}

/// A synchronous external abort on the guest's instruction fetch.
fn inject_instruction_abort(frame: &mut TrapFrame) {
    let class = if from_el1(frame) {
        EC_INSTRUCTION_ABORT_SAME
    } else {
        EC_INSTRUCTION_ABORT_LOWER
    };
    FAR_EL1.set(FAR_EL2.get());
    inject_sync(frame, (class << 26) | ESR_IL | FSC_EXTERNAL);
}

fn from_el1(frame: &TrapFrame) -> bool {
    matches!(frame.spsr & SPSR_MODE_MASK, MODE_EL1H | MODE_EL1T)
}
