//! The EL1 exception vectors.
//!
//! Every exception saves all general-purpose and SIMD registers in a
//! [`Frame`] (on SP_EL1) and calls [`handle_exception`]. A synchronous
//! exception at EL1 (on either stack pointer) that a probe expected
//! ([`fault::recover`]) resumes where the probe said; anything else (an
//! unexpected fault, an IRQ, FIQ or SError, an exception inside the
//! handler) is reported and the guest powers off.

use core::mem::offset_of;

use crate::global::Global;
use crate::{fault, report, say, smccc};

/// Registers as the exception found them.
#[repr(C)]
pub struct Frame {
    /// x0 to x30.
    x: [u64; 31],
    elr: u64,
    spsr: u64,
    fpsr: u64,
    /// q0 to q31.
    simd: [u128; 32],
}

const FRAME_SIZE: usize = size_of::<Frame>();
/// The stack pointer and `stp q` addresses must be 16-byte aligned.
const ALIGN: usize = 16;
// The asm stores x0-x29 in pairs at 16 * n from the frame's start.
const _: () = assert!(offset_of!(Frame, x) == 0);
const _: () = assert!(offset_of!(Frame, simd).is_multiple_of(ALIGN));
const _: () = assert!(FRAME_SIZE.is_multiple_of(ALIGN));

/// Vector entries come in groups of four (by where the exception came
/// from), each group in the order synchronous, IRQ, FIQ, SError.
const KINDS_PER_SOURCE: u64 = 4;
const SOURCE_CURRENT_SP0: u64 = 0;
const SOURCE_CURRENT_SPX: u64 = 1;
const KIND_SYNC: u64 = 0;
const SOURCES: [&str; 4] = [
    "EL1 with SP_EL0",
    "EL1 with SP_EL1",
    "EL0 (AArch64)",
    "EL0 (AArch32)",
];
const KINDS: [&str; 4] = ["synchronous exception", "IRQ", "FIQ", "SError"];

core::arch::global_asm!(
    ".section .text.vectors, \"ax\"",
    ".balign 2048",
    ".global hostile_vectors",
    "hostile_vectors:",
    ".irp kind, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15",
    "    .balign 128",
    "    sub     sp, sp, #{frame_size}",
    "    stp     x0, x1, [sp]",
    "    mov     x0, #\\kind",
    "    b       hostile_exception",
    ".endr",
    "",
    "hostile_exception:",
    "    stp     x2, x3, [sp, #16]",
    "    stp     x4, x5, [sp, #32]",
    "    stp     x6, x7, [sp, #48]",
    "    stp     x8, x9, [sp, #64]",
    "    stp     x10, x11, [sp, #80]",
    "    stp     x12, x13, [sp, #96]",
    "    stp     x14, x15, [sp, #112]",
    "    stp     x16, x17, [sp, #128]",
    "    stp     x18, x19, [sp, #144]",
    "    stp     x20, x21, [sp, #160]",
    "    stp     x22, x23, [sp, #176]",
    "    stp     x24, x25, [sp, #192]",
    "    stp     x26, x27, [sp, #208]",
    "    stp     x28, x29, [sp, #224]",
    "    str     x30, [sp, #{x30}]",
    "    mrs     x1, elr_el1",
    "    str     x1, [sp, #{elr}]",
    "    mrs     x1, spsr_el1",
    "    str     x1, [sp, #{spsr}]",
    "    mrs     x1, fpsr",
    "    str     x1, [sp, #{fpsr}]",
    "    add     x1, sp, #{simd}",
    "    stp     q0, q1, [x1, #0]",
    "    stp     q2, q3, [x1, #32]",
    "    stp     q4, q5, [x1, #64]",
    "    stp     q6, q7, [x1, #96]",
    "    stp     q8, q9, [x1, #128]",
    "    stp     q10, q11, [x1, #160]",
    "    stp     q12, q13, [x1, #192]",
    "    stp     q14, q15, [x1, #224]",
    "    stp     q16, q17, [x1, #256]",
    "    stp     q18, q19, [x1, #288]",
    "    stp     q20, q21, [x1, #320]",
    "    stp     q22, q23, [x1, #352]",
    "    stp     q24, q25, [x1, #384]",
    "    stp     q26, q27, [x1, #416]",
    "    stp     q28, q29, [x1, #448]",
    "    stp     q30, q31, [x1, #480]",
    "    mov     x1, x0",
    "    mov     x0, sp",
    "    bl      {handler}",
    "    add     x1, sp, #{simd}",
    "    ldp     q0, q1, [x1, #0]",
    "    ldp     q2, q3, [x1, #32]",
    "    ldp     q4, q5, [x1, #64]",
    "    ldp     q6, q7, [x1, #96]",
    "    ldp     q8, q9, [x1, #128]",
    "    ldp     q10, q11, [x1, #160]",
    "    ldp     q12, q13, [x1, #192]",
    "    ldp     q14, q15, [x1, #224]",
    "    ldp     q16, q17, [x1, #256]",
    "    ldp     q18, q19, [x1, #288]",
    "    ldp     q20, q21, [x1, #320]",
    "    ldp     q22, q23, [x1, #352]",
    "    ldp     q24, q25, [x1, #384]",
    "    ldp     q26, q27, [x1, #416]",
    "    ldp     q28, q29, [x1, #448]",
    "    ldp     q30, q31, [x1, #480]",
    "    ldr     x1, [sp, #{fpsr}]",
    "    msr     fpsr, x1",
    "    ldr     x1, [sp, #{spsr}]",
    "    msr     spsr_el1, x1",
    "    ldr     x1, [sp, #{elr}]",
    "    msr     elr_el1, x1",
    "    ldr     x30, [sp, #{x30}]",
    "    ldp     x28, x29, [sp, #224]",
    "    ldp     x26, x27, [sp, #208]",
    "    ldp     x24, x25, [sp, #192]",
    "    ldp     x22, x23, [sp, #176]",
    "    ldp     x20, x21, [sp, #160]",
    "    ldp     x18, x19, [sp, #144]",
    "    ldp     x16, x17, [sp, #128]",
    "    ldp     x14, x15, [sp, #112]",
    "    ldp     x12, x13, [sp, #96]",
    "    ldp     x10, x11, [sp, #80]",
    "    ldp     x8, x9, [sp, #64]",
    "    ldp     x6, x7, [sp, #48]",
    "    ldp     x4, x5, [sp, #32]",
    "    ldp     x2, x3, [sp, #16]",
    "    ldp     x0, x1, [sp]",
    "    add     sp, sp, #{frame_size}",
    "    eret",
    frame_size = const FRAME_SIZE,
    x30 = const offset_of!(Frame, x) + 30 * 8,
    elr = const offset_of!(Frame, elr),
    spsr = const offset_of!(Frame, spsr),
    fpsr = const offset_of!(Frame, fpsr),
    simd = const offset_of!(Frame, simd),
    handler = sym handle_exception,
);

/// How many exceptions are being handled: more than one is a nested one.
static DEPTH: Global<u8> = Global::new(0);

extern "C" fn handle_exception(frame: &mut Frame, kind: u64) {
    let depth = DEPTH.get() + 1;
    DEPTH.set(depth);
    match depth {
        1 => {}
        // Reporting the nested exception may itself fault: then just stop.
        2 => {
            say!("hostile: FATAL: exception while handling an exception");
            smccc::power_off();
        }
        _ => smccc::power_off(),
    }
    // Synchronous, at EL1: on SP_EL1 as always, or on SP_EL0 (EL1t), where
    // the stack probe runs.
    let at_el1 = [SOURCE_CURRENT_SP0, SOURCE_CURRENT_SPX]
        .iter()
        .any(|source| kind == source * KINDS_PER_SOURCE + KIND_SYNC);
    let expected = at_el1 && fault::recover(&mut frame.elr);
    if !expected {
        report_unexpected(frame, kind);
    }
    DEPTH.set(0);
}

fn report_unexpected(frame: &Frame, kind: u64) -> ! {
    let source = SOURCES[(kind / KINDS_PER_SOURCE) as usize % SOURCES.len()];
    let what = KINDS[(kind % KINDS_PER_SOURCE) as usize];
    let fault = fault::describe_current(frame.elr);
    say!(
        "hostile: FATAL: unexpected {what} from {source} during {}: {fault}; \
         ESR {:#x}, FAR {:#x}, ELR {:#x}, SPSR {:#x}, x30 {:#x}",
        report::running().unwrap_or("no probe"),
        fault.esr,
        fault.far,
        frame.elr,
        frame.spsr,
        frame.x[30],
    );
    smccc::power_off()
}
