//! Single instructions that may fault, each run inside a [`fault::expect`]
//! window: a result, or the fault that stopped it.
//!
//! Each is one instruction without writeback, so that a trapped access has
//! a full syndrome. A skipped load leaves its destination as it was (zero).

use core::arch::asm;
use core::mem::offset_of;

use crate::fault::{self, CALLEE_SAVED, Fault, RESUME, Recovery, ResumeContext};

/// Loads the 32-bit word at `addr`.
pub fn read32(addr: u64) -> Result<u32, Fault> {
    fault::expect(Recovery::SkipInstruction, || {
        let mut value: u32 = 0;
        // SAFETY: the access may fault (and is then skipped); it can only
        // reach memory the VM must not have or the device being probed.
        unsafe { asm!("ldr {v:w}, [{a}]", a = in(reg) addr, v = inout(reg) value) };
        value
    })
}

/// Stores `value` to the 32-bit word at `addr`.
pub fn write32(addr: u64, value: u32) -> Result<(), Fault> {
    fault::expect(Recovery::SkipInstruction, || {
        // SAFETY: as for `read32`.
        unsafe { asm!("str {v:w}, [{a}]", a = in(reg) addr, v = in(reg) value) };
    })
}

/// Loads the byte at `addr`.
pub fn read8(addr: u64) -> Result<u8, Fault> {
    fault::expect(Recovery::SkipInstruction, || {
        let mut value: u32 = 0;
        // SAFETY: as for `read32`.
        unsafe { asm!("ldrb {v:w}, [{a}]", a = in(reg) addr, v = inout(reg) value) };
        value as u8
    })
}

/// Stores `value` to the byte at `addr`.
pub fn write8(addr: u64, value: u8) -> Result<(), Fault> {
    fault::expect(Recovery::SkipInstruction, || {
        // SAFETY: as for `read32`.
        unsafe { asm!("strb {v:w}, [{a}]", a = in(reg) addr, v = in(reg) u32::from(value)) };
    })
}

/// Loads the two 32-bit words at `addr` with one `ldp`: an access that
/// gives a hypervisor no syndrome to emulate it by.
pub fn load_pair32(addr: u64) -> Result<(u32, u32), Fault> {
    fault::expect(Recovery::SkipInstruction, || {
        let (mut first, mut second): (u32, u32) = (0, 0);
        // SAFETY: as for `read32`.
        unsafe {
            asm!(
                "ldp {first:w}, {second:w}, [{a}]",
                a = in(reg) addr,
                first = inout(reg) first,
                second = inout(reg) second,
            )
        };
        (first, second)
    })
}

/// Reads the system register named by the string literal `$name`: its
/// value, or the fault (UNDEF if the hypervisor traps and refuses it).
macro_rules! read_sysreg {
    ($name:literal) => {
        $crate::fault::expect($crate::fault::Recovery::SkipInstruction, || {
            let mut value: u64 = 0;
            // SAFETY: a system register read changes no memory; it may
            // trap (and is then skipped).
            unsafe { core::arch::asm!(concat!("mrs {v}, ", $name), v = inout(reg) value) };
            value
        })
    };
}
pub(crate) use read_sysreg;

/// Writes `$value` to the system register named by the string literal
/// `$name`: `()`, or the fault (UNDEF if the hypervisor traps and refuses).
/// Only for timer and PMU controls, which cannot disturb the guest.
macro_rules! write_sysreg {
    ($name:literal, $value:expr) => {
        $crate::fault::expect($crate::fault::Recovery::SkipInstruction, || {
            let value: u64 = $value;
            // SAFETY: timer and PMU controls do not affect the guest's
            // memory or control flow; the access may trap (and is then
            // skipped).
            unsafe { core::arch::asm!(concat!("msr ", $name, ", {v}"), v = in(reg) value) };
        })
    };
}
pub(crate) use write_sysreg;

/// Executes `udf` (permanently undefined): the UNDEF it takes, with the
/// address of the instruction, which the fault's ELR must name.
pub fn undefined() -> (u64, Result<(), Fault>) {
    let mut at = 0;
    let result = fault::expect(Recovery::SkipInstruction, || {
        // SAFETY: `udf` changes nothing; its UNDEF is taken and skipped.
        unsafe { asm!("adr {at}, 2f", "2: udf #0", at = out(reg) at, options(nomem, nostack)) };
    });
    (at, result)
}

/// Reads CNTP_CTL_EL0, which cordon traps and refuses (UNDEF injected):
/// its value or the fault, with the address of the `mrs`.
pub fn read_cntp_ctl() -> (u64, Result<u64, Fault>) {
    let mut at = 0;
    let result = fault::expect(Recovery::SkipInstruction, || {
        let mut value: u64 = 0;
        // SAFETY: a timer register read changes no memory; it traps (and
        // is then skipped).
        unsafe {
            asm!(
                "adr {at}, 2f",
                "2: mrs {v}, cntp_ctl_el0",
                at = out(reg) at,
                v = inout(reg) value,
                options(nomem, nostack),
            )
        };
        value
    });
    (at, result)
}

/// Branches to `target` (`blr`) and comes back: through the exception
/// handler if the fetch faults, which resumes at the instruction after the
/// branch. The callee-saved registers and the stack pointer are restored
/// there from [`RESUME`], in case code at `target` ran and changed them.
pub fn branch_to(target: u64) -> Result<(), Fault> {
    fault::expect(Recovery::Resume, || {
        // SAFETY: x19-x29 and sp are saved before the branch and restored
        // after it, and every other register is declared clobbered, so
        // whatever runs at `target` cannot disturb the caller.
        unsafe {
            asm!(
                "adrp x9, {context}",
                "add x9, x9, :lo12:{context}",
                "stp x19, x20, [x9, #0]",
                "stp x21, x22, [x9, #16]",
                "stp x23, x24, [x9, #32]",
                "stp x25, x26, [x9, #48]",
                "stp x27, x28, [x9, #64]",
                "str x29, [x9, #80]",
                "mov x10, sp",
                "str x10, [x9, #{sp}]",
                "adr x10, 2f",
                "str x10, [x9, #{resume_at}]",
                "blr x16",
                "2:",
                "adrp x9, {context}",
                "add x9, x9, :lo12:{context}",
                "ldp x19, x20, [x9, #0]",
                "ldp x21, x22, [x9, #16]",
                "ldp x23, x24, [x9, #32]",
                "ldp x25, x26, [x9, #48]",
                "ldp x27, x28, [x9, #64]",
                "ldr x29, [x9, #80]",
                "ldr x10, [x9, #{sp}]",
                "mov sp, x10",
                context = sym RESUME,
                sp = const offset_of!(ResumeContext, sp),
                resume_at = const offset_of!(ResumeContext, resume_at),
                in("x16") target,
                clobber_abi("C"),
            )
        };
    })
}

/// Bytes each level of [`overflow_stack`]'s recursion pushes: x29, x30 and
/// room for locals; a multiple of 16, as SP must stay.
pub const STACK_FRAME: u64 = 64;

core::arch::global_asm!(
    ".section .text",
    ".balign 4",
    // Calls itself, a frame pushed each time, until a push faults.
    ".global hostile_recurse",
    "hostile_recurse:",
    "    stp     x29, x30, [sp, #-{frame}]!",
    "    mov     x29, sp",
    "    bl      hostile_recurse",
    "    ldp     x29, x30, [sp], #{frame}",
    "    ret",
    frame = const STACK_FRAME,
);

unsafe extern "C" {
    fn hostile_recurse();
}

/// Recurses without end on a stack whose top is `top` until a push faults:
/// the fault. The recursion runs at EL1t, on SP_EL0 = `top`, so that the
/// exception is taken on SP_EL1, the guest's own stack, and can be handled;
/// it resumes after the recursion through [`RESUME`], back on SP_EL1.
pub fn overflow_stack(top: u64) -> Result<(), Fault> {
    fault::expect(Recovery::Resume, || {
        // SAFETY: the recursion writes only below `top` (the caller gives
        // it memory nothing else uses) until a push faults; x19-x29 are
        // saved before and restored after, SP_EL1 is left alone, and every
        // other register is declared clobbered.
        unsafe {
            asm!(
                "adrp x9, {context}",
                "add x9, x9, :lo12:{context}",
                "stp x19, x20, [x9, #0]",
                "stp x21, x22, [x9, #16]",
                "stp x23, x24, [x9, #32]",
                "stp x25, x26, [x9, #48]",
                "stp x27, x28, [x9, #64]",
                "str x29, [x9, #80]",
                "adr x10, 2f",
                "str x10, [x9, #{resume_at}]",
                "msr sp_el0, x11",
                "msr spsel, #0",
                "bl {recurse}",
                "2:",
                "msr spsel, #1",
                "adrp x9, {context}",
                "add x9, x9, :lo12:{context}",
                "ldp x19, x20, [x9, #0]",
                "ldp x21, x22, [x9, #16]",
                "ldp x23, x24, [x9, #32]",
                "ldp x25, x26, [x9, #48]",
                "ldp x27, x28, [x9, #64]",
                "ldr x29, [x9, #80]",
                context = sym RESUME,
                recurse = sym hostile_recurse,
                resume_at = const offset_of!(ResumeContext, resume_at),
                in("x11") top,
                clobber_abi("C"),
            )
        };
    })
}

// The asm above stores x19-x29 at offsets 0 to 80, sp right after.
const REGISTER_BYTES: usize = 8;
const _: () = assert!(offset_of!(ResumeContext, callee_saved) == 0);
const _: () = assert!(offset_of!(ResumeContext, sp) == CALLEE_SAVED * REGISTER_BYTES);
