//! EL2 exception vectors and what cordon does with an exception.
//!
//! An exception taken at EL2 is a bug in cordon: it reports it, decoded,
//! and stops all CPUs. Exceptions from a guest are VM exits, handled in
//! [`super::trap`].

use core::fmt::Write;

use aarch64_cpu::registers::{ESR_EL2, FAR_EL2, VBAR_EL2};
use tock_registers::interfaces::{Readable, Writeable};

use super::cpu;
use super::esr::{self, ExceptionClass};

/// Registers saved by `vectors.S`, in this order.
#[repr(C)]
#[derive(Clone, Default)]
pub struct TrapFrame {
    pub x: [u64; 31],
    pub elr: u64,
    pub spsr: u64,
    _pad: u64,
}

unsafe extern "C" {
    /// Loads `frame` into the registers and enters the guest; the stack is
    /// reset to `stack_top`.
    pub fn enter_guest(frame: *const TrapFrame, stack_top: u64) -> !;
}

core::arch::global_asm!(
    include_str!("vectors.S"),
    frame_size = const size_of::<TrapFrame>(),
    frame_words = const size_of::<TrapFrame>() / size_of::<u64>(),
    fatal_handler = sym handle_exception,
    exit_handler = sym super::trap::handle_guest_exit,
);

unsafe extern "C" {
    static el2_vectors: u8;
}

/// Points this CPU's VBAR_EL2 at cordon's vectors.
pub fn install() {
    VBAR_EL2.set(&raw const el2_vectors as u64);
}

/// Where an exception came from: the vector entry's group.
fn origin(kind: u64) -> &'static str {
    match kind / 4 {
        0 => "EL2 using SP_EL0",
        1 => "EL2",
        2 => "a lower EL (AArch64)",
        _ => "a lower EL (AArch32)",
    }
}

/// What kind of exception: the entry within its group.
fn kind_name(kind: u64) -> &'static str {
    match kind % 4 {
        0 => "synchronous",
        1 => "IRQ",
        2 => "FIQ",
        _ => "SError",
    }
}

extern "C" fn handle_exception(frame: &TrapFrame, kind: u64) -> ! {
    let esr = ESR_EL2.get();
    let far = FAR_EL2.get();
    let class = ExceptionClass::of(esr);
    let sp = frame as *const TrapFrame as u64 + size_of::<TrapFrame>() as u64;
    crate::fatal::report(|out| {
        let _ = writeln!(
            out,
            "unexpected exception on cpu{}: {} from {}",
            cpu::id(),
            kind_name(kind),
            origin(kind)
        );
        let _ = writeln!(
            out,
            "  ESR_EL2 {esr:#010x}: class {:#04x}, {}; ISS {:#x}",
            class.0,
            class.description(),
            esr::iss(esr)
        );
        if class.is_abort() {
            let iss = esr::iss(esr);
            let access = if esr::is_write(iss) { "write" } else { "read" };
            let _ = writeln!(out, "  {}, on a {access}", esr::fault_status(iss));
        }
        let _ = writeln!(
            out,
            "  FAR_EL2 {far:#018x}  ELR_EL2 {:#018x}  SPSR_EL2 {:#010x}  SP {sp:#018x}",
            frame.elr, frame.spsr
        );
        for (row, regs) in frame.x.chunks(4).enumerate() {
            let _ = write!(out, " ");
            for (col, value) in regs.iter().enumerate() {
                let _ = write!(out, " x{:<2} {value:#018x}", row * 4 + col);
            }
            let _ = writeln!(out);
        }
    });
    crate::fatal::stop_all_cpus()
}
