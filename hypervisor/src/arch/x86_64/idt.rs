//! The interrupt descriptor table: one entry stub per CPU exception, all
//! ending in a report of what happened and where, after which cordon stops.
//! cordon expects no exception; each one is a bug or broken hardware.

use core::arch::global_asm;
use core::mem::size_of;

use spin::Once;
use x86_64::VirtAddr;
use x86_64::instructions::tables::lidt;
use x86_64::structures::DescriptorTablePointer;

use super::console;
use super::cpu;
use super::entry::CODE64_SELECTOR;
use super::exception::{EXCEPTION_COUNT, PAGE_FAULT, PageFaultCode, Vector, has_error_code};

/// Gate type and attributes: present, ring 0, 64-bit interrupt gate.
const INTERRUPT_GATE: u8 = 0x8e;

/// One IDT entry.
#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    attributes: u8,
    offset_middle: u16,
    offset_high: u32,
    reserved: u32,
}

impl Gate {
    fn interrupt(handler: u64) -> Self {
        Self {
            offset_low: handler as u16,
            selector: CODE64_SELECTOR,
            ist: 0,
            attributes: INTERRUPT_GATE,
            offset_middle: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        }
    }
}

/// The registers an exception stub saves, in stack order, then what the
/// CPU pushed.
#[repr(C)]
struct ExceptionFrame {
    r15: u64,
    r14: u64,
    r13: u64,
    r12: u64,
    r11: u64,
    r10: u64,
    r9: u64,
    r8: u64,
    rbp: u64,
    rdi: u64,
    rsi: u64,
    rdx: u64,
    rcx: u64,
    rbx: u64,
    rax: u64,
    vector: u64,
    error_code: u64,
    rip: u64,
    cs: u64,
    rflags: u64,
    rsp: u64,
    ss: u64,
}

// One stub per exception: pushes a zero if the CPU pushes no error code,
// then the vector, and joins the common path, which saves the registers and
// calls x86_exception(frame).
global_asm!(
    ".macro stub_without_code n",
    "exception_stub_\\n: push $0; push $\\n; jmp exception_common",
    ".endm",
    ".macro stub_with_code n",
    "exception_stub_\\n: push $\\n; jmp exception_common",
    ".endm",
    ".section .text.exception, \"ax\"",
    "stub_without_code 0",
    "stub_without_code 1",
    "stub_without_code 2",
    "stub_without_code 3",
    "stub_without_code 4",
    "stub_without_code 5",
    "stub_without_code 6",
    "stub_without_code 7",
    "stub_with_code 8",
    "stub_without_code 9",
    "stub_with_code 10",
    "stub_with_code 11",
    "stub_with_code 12",
    "stub_with_code 13",
    "stub_with_code 14",
    "stub_without_code 15",
    "stub_without_code 16",
    "stub_with_code 17",
    "stub_without_code 18",
    "stub_without_code 19",
    "stub_without_code 20",
    "stub_with_code 21",
    "stub_without_code 22",
    "stub_without_code 23",
    "stub_without_code 24",
    "stub_without_code 25",
    "stub_without_code 26",
    "stub_without_code 27",
    "stub_without_code 28",
    "stub_with_code 29",
    "stub_with_code 30",
    "stub_without_code 31",
    "exception_common:",
    "    push %rax; push %rbx; push %rcx; push %rdx; push %rsi; push %rdi; push %rbp",
    "    push %r8; push %r9; push %r10; push %r11; push %r12; push %r13; push %r14; push %r15",
    "    mov %rsp, %rdi",
    "    and $-16, %rsp",
    "    call x86_exception",
    "    ud2",
    ".section .rodata.exception, \"a\"",
    ".balign 8",
    ".global exception_stubs",
    "exception_stubs:",
    ".irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31",
    "    .quad exception_stub_\\n",
    ".endr",
    options(att_syntax),
);

unsafe extern "C" {
    /// The stubs' addresses, by vector.
    static exception_stubs: [u64; EXCEPTION_COUNT];
}

static IDT: Once<[Gate; EXCEPTION_COUNT]> = Once::new();

/// Loads the IDT on this CPU (building it on first use).
pub fn load() {
    let idt = IDT.call_once(|| {
        // SAFETY: `exception_stubs` is a table of addresses in read-only
        // data, written by the assembler.
        let stubs = unsafe { &exception_stubs };
        stubs.map(Gate::interrupt)
    });
    let pointer = DescriptorTablePointer {
        limit: (size_of::<[Gate; EXCEPTION_COUNT]>() - 1) as u16,
        base: VirtAddr::from_ptr(idt.as_ptr()),
    };
    // SAFETY: the table is static and complete; each gate points at a stub.
    unsafe { lidt(&pointer) };
}

/// Reports an unexpected exception and stops this CPU.
#[unsafe(no_mangle)]
extern "C" fn x86_exception(frame: &ExceptionFrame) -> ! {
    let vector = frame.vector as u8;
    console::write_fatal(format_args!(
        "\ncpu{}: unexpected exception {} at rip {:#x}\n",
        cpu::index(),
        Vector(vector),
        frame.rip
    ));
    if vector == PAGE_FAULT {
        let address = x86_64::registers::control::Cr2::read_raw();
        console::write_fatal(format_args!(
            "  address {address:#x} (cr2): {}\n",
            PageFaultCode(frame.error_code)
        ));
    } else if has_error_code(vector) {
        console::write_fatal(format_args!("  error code {:#x}\n", frame.error_code));
    }
    console::write_fatal(format_args!(
        "  rax {:#018x} rbx {:#018x} rcx {:#018x} rdx {:#018x}\n  \
         rsi {:#018x} rdi {:#018x} rbp {:#018x} rsp {:#018x}\n  \
         r8  {:#018x} r9  {:#018x} r10 {:#018x} r11 {:#018x}\n  \
         r12 {:#018x} r13 {:#018x} r14 {:#018x} r15 {:#018x}\n  \
         cs {:#x} ss {:#x} rflags {:#x}\ncordon: stopped\n",
        frame.rax,
        frame.rbx,
        frame.rcx,
        frame.rdx,
        frame.rsi,
        frame.rdi,
        frame.rbp,
        frame.rsp,
        frame.r8,
        frame.r9,
        frame.r10,
        frame.r11,
        frame.r12,
        frame.r13,
        frame.r14,
        frame.r15,
        frame.cs,
        frame.ss,
        frame.rflags
    ));
    cpu::park()
}
