//! Sleeping on the EL1 virtual timer (CNTV_*), the one timer the VM has,
//! with IRQs masked: the timer's interrupt is enabled at the VM's GIC, the
//! guest waits in WFI (a pending interrupt wakes it even when PSTATE.I
//! masks it) and acknowledges the interrupt at GICC_IAR itself.

use core::arch::asm;

use crate::gic::{Gic, INTID_MASK};
use crate::platform::Platform;

/// INTID of the EL1 virtual timer's interrupt (PPI 11), which cordon gives
/// every VM.
pub const INTID: u32 = 27;
/// CNTV_CTL_EL0: the timer on, its interrupt not masked (IMASK clear).
const CTL_ENABLE: u64 = 1 << 0;
const CTL_OFF: u64 = 0;

pub struct VirtualTimer {
    gic: Gic,
}

impl VirtualTimer {
    /// Opens the VM's GIC and enables the timer's interrupt there.
    pub fn take(platform: &Platform) -> Self {
        let gic = Gic::open(platform);
        gic.enable(INTID);
        Self { gic }
    }

    /// Waits in WFI until the virtual count reaches `deadline` and the
    /// timer's interrupt arrives; returns how many WFIs that took. Other
    /// interrupts that arrive meanwhile are acknowledged and ended.
    pub fn sleep_until(&self, deadline: u64) -> u32 {
        set_timer(deadline, CTL_ENABLE);
        let mut wfis = 0;
        loop {
            // SAFETY: waits for an interrupt; the timer's is due.
            unsafe { asm!("wfi", options(nomem, nostack, preserves_flags)) };
            wfis += 1;
            while let Some(iar) = self.gic.acknowledge() {
                let timer = iar & INTID_MASK == INTID;
                if timer {
                    // Lower the timer's line before its end deactivates
                    // the physical interrupt, else it fires again.
                    set_timer(deadline, CTL_OFF);
                }
                self.gic.end(iar);
                if timer {
                    return wfis;
                }
            }
        }
    }

    /// Stops the timer and closes the GIC.
    pub fn release(self) {
        set_timer(0, CTL_OFF);
        self.gic.disable(INTID);
        self.gic.close();
    }
}

/// CNTV_CVAL_EL0 = `compare`, then CNTV_CTL_EL0 = `control`.
fn set_timer(compare: u64, control: u64) {
    // SAFETY: the VM's own virtual timer; its interrupt is only ever
    // polled for (IRQs stay masked).
    unsafe {
        asm!(
            "msr cntv_cval_el0, {compare}",
            "msr cntv_ctl_el0, {control}",
            "isb",
            compare = in(reg) compare,
            control = in(reg) control,
            options(nomem, nostack, preserves_flags),
        )
    };
}
