//! Surviving the exceptions probes provoke, and the "last fault" slot.
//!
//! A probe opens a window around the one instruction that may fault
//! ([`expect`]), saying how to recover ([`Recovery`]). The exception handler
//! ([`recover`]) records the fault, resumes as told and closes the window.
//! An exception while no window is open is unexpected: the vectors report
//! it and the guest powers off.

use core::arch::asm;
use core::fmt;

use crate::global::Global;

/// Size of an A64 instruction: how far to skip one that faulted.
const INSTRUCTION_SIZE: u64 = 4;

/// ESR_EL1 fields.
const ESR_EC_SHIFT: u32 = 26;
const ESR_EC_MASK: u64 = 0x3f;
const ESR_ISS_MASK: u64 = (1 << 25) - 1;
const ESR_FSC_MASK: u64 = 0x3f;
/// Data abort ISS: WnR, the access was a write.
const ISS_WNR: u64 = 1 << 6;

/// Exception classes.
pub const EC_UNKNOWN: u8 = 0x00;
const EC_INSTRUCTION_ABORT_LOWER: u8 = 0x20;
const EC_INSTRUCTION_ABORT_SAME: u8 = 0x21;
const EC_DATA_ABORT_LOWER: u8 = 0x24;
const EC_DATA_ABORT_SAME: u8 = 0x25;

/// Fault status codes (DFSC, IFSC).
const FSC_ADDRESS_SIZE_LAST: u8 = 0x03;
const FSC_TRANSLATION_FIRST: u8 = 0x04;
const FSC_TRANSLATION_LAST: u8 = 0x07;
const FSC_EXTERNAL_ABORT: u8 = 0x10;
const FSC_ALIGNMENT: u8 = 0x21;

/// A synchronous exception the guest took at EL1.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Fault {
    pub esr: u64,
    pub far: u64,
    /// Address of the instruction that took it.
    pub elr: u64,
}

impl Fault {
    /// The exception being handled, taken at `elr`.
    fn current(elr: u64) -> Self {
        let (esr, far): (u64, u64);
        // SAFETY: reading the syndrome registers has no side effect.
        unsafe {
            asm!("mrs {}, esr_el1", out(reg) esr, options(nomem, nostack, preserves_flags));
            asm!("mrs {}, far_el1", out(reg) far, options(nomem, nostack, preserves_flags));
        }
        Self { esr, far, elr }
    }

    pub fn class(&self) -> u8 {
        ((self.esr >> ESR_EC_SHIFT) & ESR_EC_MASK) as u8
    }

    fn iss(&self) -> u64 {
        self.esr & ESR_ISS_MASK
    }

    fn fault_status(&self) -> u8 {
        (self.esr & ESR_FSC_MASK) as u8
    }

    fn is_abort(&self) -> bool {
        matches!(
            self.class(),
            EC_INSTRUCTION_ABORT_LOWER
                | EC_INSTRUCTION_ABORT_SAME
                | EC_DATA_ABORT_LOWER
                | EC_DATA_ABORT_SAME
        )
    }

    /// Whether this is a data abort on an access to `addr`: what the guest
    /// sees when memory it was not given is refused.
    pub fn is_data_abort_at(&self, addr: u64) -> bool {
        self.class() == EC_DATA_ABORT_SAME && self.far == addr
    }

    /// Whether this is a data abort on a write.
    pub fn is_write(&self) -> bool {
        self.class() == EC_DATA_ABORT_SAME && self.iss() & ISS_WNR != 0
    }

    /// Whether the instruction was undefined (as cordon makes trapped
    /// system register accesses).
    pub fn is_undefined(&self) -> bool {
        self.class() == EC_UNKNOWN
    }

    fn class_name(&self) -> &'static str {
        match self.class() {
            EC_UNKNOWN => "UNDEF",
            EC_INSTRUCTION_ABORT_LOWER | EC_INSTRUCTION_ABORT_SAME => "instruction abort",
            EC_DATA_ABORT_LOWER | EC_DATA_ABORT_SAME => "data abort",
            _ => "exception",
        }
    }
}

fn fault_status_name(status: u8) -> &'static str {
    match status {
        0..=FSC_ADDRESS_SIZE_LAST => "address size fault",
        FSC_TRANSLATION_FIRST..=FSC_TRANSLATION_LAST => "translation fault",
        FSC_EXTERNAL_ABORT => "synchronous external abort",
        FSC_ALIGNMENT => "alignment fault",
        _ => "fault",
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, EC {:#04x}", self.class_name(), self.class())?;
        if self.is_abort() {
            let status = self.fault_status();
            write!(
                f,
                ", {} (FSC {status:#04x}), FAR {:#x}",
                fault_status_name(status),
                self.far
            )
        } else {
            write!(f, ", ISS {:#x}, at {:#x}", self.iss(), self.elr)
        }
    }
}

/// How to go on after the exception a probe provokes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Recovery {
    /// A load, store or trapped instruction: resume after it. Only a data
    /// abort or an UNDEF is expected.
    SkipInstruction,
    /// A branch to an address that must not execute: resume at
    /// [`RESUME`]'s `resume_at`, whatever the exception.
    Resume,
}

/// x19 to x29: the registers a called function must preserve (and x29,
/// the frame pointer).
pub const CALLEE_SAVED: usize = 11;

/// Where a [`Recovery::Resume`] window continues, and the registers to
/// restore there (written and read back by the code that branches).
#[derive(Clone, Copy)]
#[repr(C)]
pub struct ResumeContext {
    /// x19 to x29.
    pub callee_saved: [u64; CALLEE_SAVED],
    pub sp: u64,
    pub resume_at: u64,
}

pub static RESUME: Global<ResumeContext> = Global::new(ResumeContext {
    callee_saved: [0; CALLEE_SAVED],
    sp: 0,
    resume_at: 0,
});

/// The open window, if any.
static WINDOW: Global<Option<Recovery>> = Global::new(None);
/// The fault taken in the last window.
static LAST_FAULT: Global<Option<Fault>> = Global::new(None);

/// Runs `attempt` with a window open: its result, or the fault it took.
pub fn expect<T>(recovery: Recovery, attempt: impl FnOnce() -> T) -> Result<T, Fault> {
    LAST_FAULT.set(None);
    WINDOW.set(Some(recovery));
    let value = attempt();
    WINDOW.set(None);
    match LAST_FAULT.get() {
        Some(fault) => Err(fault),
        None => Ok(value),
    }
}

/// For the exception handler: a synchronous exception at EL1 taken at
/// `*elr`. Records it and sets `*elr` to where to resume, if an open window
/// expects it; `false` if not (the exception is unexpected).
pub fn recover(elr: &mut u64) -> bool {
    let Some(recovery) = WINDOW.get() else {
        return false;
    };
    let fault = Fault::current(*elr);
    match recovery {
        Recovery::SkipInstruction
            if fault.is_undefined() || fault.class() == EC_DATA_ABORT_SAME =>
        {
            *elr += INSTRUCTION_SIZE;
        }
        Recovery::SkipInstruction => return false,
        Recovery::Resume => *elr = RESUME.get().resume_at,
    }
    WINDOW.set(None);
    LAST_FAULT.set(Some(fault));
    true
}

/// ESR, FAR and ELR of the exception being handled, for a report.
pub fn describe_current(elr: u64) -> Fault {
    Fault::current(elr)
}
