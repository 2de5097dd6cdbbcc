//! Entering a vCPU: the EL2 controls that make this CPU run a guest, the
//! EL1 state a guest starts from, and the ERET.
//!
//! A vCPU owns its physical CPU: EL1 registers are never switched, so they
//! are only initialised here, at the vCPU's (re)start.

use aarch64_cpu::registers::{
    CNTHCTL_EL2, CNTVOFF_EL2, CPTR_EL2, HCR_EL2, MDCR_EL2, MIDR_EL1, SCTLR_EL1, VMPIDR_EL2,
    VTCR_EL2, VTTBR_EL2,
};
use tock_registers::interfaces::{Readable, Writeable};

use super::exception::{TrapFrame, enter_guest};
use super::gic;
use super::start::stack_top;
use super::vgic::injector;
use super::{cpu, gic::distributor};
use crate::vm::Vm;

/// HCR_EL2 for a guest: stage 2 on (VM), set/way invalidation upgraded to
/// clean+invalidate (SWIO), physical IRQ/FIQ/SError to EL2 (IMO, FMO, AMO),
/// SMC trapped (TSC), set/way cache operations trapped (TSW), EL1 is
/// AArch64 (RW).
const HCR_GUEST: u64 =
    (1 << 0) | (1 << 1) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 19) | (1 << 22) | (1 << 31);
/// HCR_EL2.TWI and TWE: trap WFI and WFE (when the VM's config asks).
const HCR_TWI: u64 = 1 << 13;
const HCR_TWE: u64 = 1 << 14;
/// CPTR_EL2: RES1 bits only; FP/SIMD and trace are not trapped.
const CPTR_EL2_NO_TRAPS: u64 = 0x33ff;
/// CNTHCTL_EL2: EL1 may read the physical counter (EL1PCTEN) but not use
/// the physical timer (EL1PCEN clear); guests use the virtual timer.
const CNTHCTL_EL1_COUNTER_ONLY: u64 = 1 << 0;
/// SCTLR_EL1 with only its RES1 bits: MMU and caches off.
const SCTLR_EL1_RESET: u64 = 0x30d0_0800;
/// SPSR for entering EL1 on SP_EL1 with D, A, I and F masked.
const SPSR_EL1H_MASKED: u64 = 0x3c5;
/// VMPIDR_EL2 bit 31 is RES1.
const MPIDR_RES1: u64 = 1 << 31;
/// MDCR_EL2.TPM: trap EL0/EL1 accesses to PMU registers.
const MDCR_TPM: u64 = 1 << 6;
/// PMCR_EL0.N: how many event counters the PMU has.
const PMCR_N_SHIFT: u32 = 11;
const PMCR_N_MASK: u64 = 0x1f;

fn pmu_counters() -> u64 {
    let pmcr: u64;
    // SAFETY: reading PMCR_EL0 at EL2 has no side effects.
    unsafe { core::arch::asm!("mrs {}, pmcr_el0", out(reg) pmcr, options(nomem, nostack)) };
    (pmcr >> PMCR_N_SHIFT) & PMCR_N_MASK
}

/// Switches this CPU to `vm`'s stage 2 and guest controls.
fn load_vm_controls(vm: &Vm, vcpu: usize) {
    VTTBR_EL2.set(vm.vttbr);
    VTCR_EL2.set(vm.vtcr);
    let wait_traps = if vm.spec.trap_wait {
        HCR_TWI | HCR_TWE
    } else {
        0
    };
    HCR_EL2.set(HCR_GUEST | wait_traps);
    CPTR_EL2.set(CPTR_EL2_NO_TRAPS);
    // PMU accesses trap (TPM): guests see a PMU without counters, so they
    // cannot count cycles spent at EL2. HPMN keeps its architectural
    // value; debug registers are not trapped.
    MDCR_EL2.set(pmu_counters() | MDCR_TPM);
    CNTHCTL_EL2.set(CNTHCTL_EL1_COUNTER_ONLY);
    CNTVOFF_EL2.set(0);
    VMPIDR_EL2.set(MPIDR_RES1 | vcpu as u64);
    // The guest sees this CPU's own MIDR.
    // SAFETY: writing VPIDR_EL2 only changes what EL1 reads as MIDR.
    unsafe {
        core::arch::asm!("msr vpidr_el2, {}", in(reg) MIDR_EL1.get(), options(nomem, nostack));
        // Stale stage-2 translations of this VMID must not survive a restart.
        core::arch::asm!("isb", "tlbi vmalls12e1", "dsb nsh", "isb", options(nostack));
    }
}

/// Resets the EL1 state a guest could have left behind: its previous
/// life must not be visible to the next (nor to a new image).
fn reset_el1() {
    SCTLR_EL1.set(SCTLR_EL1_RESET);
    // SAFETY: zeroes EL1 and EL0 registers of the vCPU's previous life
    // (translation, vectors, thread IDs, stack pointers, exception state,
    // timer control); the MMU is off and the guest not running.
    unsafe {
        core::arch::asm!(
            "msr cntv_ctl_el0, xzr",
            "msr cntkctl_el1, xzr",
            "msr ttbr0_el1, xzr",
            "msr ttbr1_el1, xzr",
            "msr tcr_el1, xzr",
            "msr mair_el1, xzr",
            "msr amair_el1, xzr",
            "msr vbar_el1, xzr",
            "msr contextidr_el1, xzr",
            "msr tpidr_el0, xzr",
            "msr tpidr_el1, xzr",
            "msr tpidrro_el0, xzr",
            "msr sp_el0, xzr",
            "msr sp_el1, xzr",
            "msr elr_el1, xzr",
            "msr spsr_el1, xzr",
            "msr esr_el1, xzr",
            "msr far_el1, xzr",
            "msr par_el1, xzr",
            "msr afsr0_el1, xzr",
            "msr afsr1_el1, xzr",
            "msr cpacr_el1, xzr",
            options(nomem, nostack)
        )
    };
}

/// Starts vCPU `vcpu` of `vm` on this CPU at `entry` (EL1h, MMU off) with
/// `context` in x0, as PSCI CPU_ON and the Linux boot protocol say.
pub fn run(vm: &'static Vm, vcpu: usize, entry: u64, context: u64) -> ! {
    let this_cpu = cpu::id();
    load_vm_controls(vm, vcpu);
    reset_el1();
    injector::reset();
    let gicd = distributor::get();
    gicd.enable(gic::CORDON_IPI);
    gicd.enable(gic::maintenance_interrupt());
    let mut frame = TrapFrame::default();
    frame.x[0] = context;
    frame.elr = entry;
    frame.spsr = SPSR_EL1H_MASKED;
    // SAFETY: the frame holds a valid EL1 entry state, stage 2 confines the
    // guest to its VM, and nothing on this stack is needed any more.
    unsafe { enter_guest(&frame, stack_top(this_cpu)) }
}
