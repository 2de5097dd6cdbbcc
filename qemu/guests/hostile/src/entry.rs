//! Where the guest starts: the arm64 Image header cordon's loader checks,
//! then the code that runs before any Rust: cordon enters at EL1h with the
//! MMU off, x0 = the device tree, at an address it chose, so this code uses
//! only PC-relative addressing until it has applied the image's own
//! relocations. Then it zeroes .bss, takes its stack, lets FP/SIMD run (Rust
//! code uses it), installs the exception vectors and calls `main`.

use cordon_guest_loader::arm64_image as image;

/// `R_AARCH64_RELATIVE`: the only kind of relocation a static PIE has.
const R_AARCH64_RELATIVE: u64 = 1027;
/// Bytes of an `Elf64_Rela` entry: r_offset, r_info, r_addend.
const RELA_ENTRY_SIZE: u64 = 24;
/// Offset of r_addend in an `Elf64_Rela` entry.
const RELA_ADDEND: u64 = 16;
/// CPACR_EL1.FPEN = 0b11: FP/SIMD instructions do not trap.
const CPACR_FP_ENABLED: u64 = 0b11 << 20;
/// DAIF bit of `msr daifclr`: SError. Unmasked, so that one is reported.
const DAIF_SERROR: u64 = 0b0100;

const STACK_SIZE: usize = 64 << 10;

/// The header's text_offset: the guest asks to be loaded this far above a
/// 2 MiB boundary (cordon loads it at its RAM's first one), so that the RAM
/// below its image is free: the stack probe's stack, which overflows into
/// what lies below RAM, and the reset loop's marker. A multiple of 4 KiB
/// (`adrp` needs the image page-aligned).
pub const TEXT_OFFSET: u64 = 256 << 10;

unsafe extern "C" {
    /// The image's first byte (the linker script's).
    static __image_start: u8;
}

/// Where the image was loaded.
pub fn image_start() -> u64 {
    &raw const __image_start as u64
}

#[repr(C, align(16))]
struct Stack([u8; STACK_SIZE]);

/// The only stack (zero-initialised, so in .bss).
static mut STACK: Stack = Stack([0; STACK_SIZE]);

core::arch::global_asm!(
    ".section .text.head, \"ax\"",
    ".global _start",
    "_start:",
    "    b       2f                      // code0: over the header",
    "    .long   0                       // code1",
    "    .quad   {text_offset}",
    "    .quad   __image_size            // from the linker script",
    "    .quad   {flags}",
    "    .quad   0, 0, 0                 // res2-res4",
    "    .long   {magic}",
    "    .long   0                       // res5",
    "",
    "2:  mov     x19, x0                 // the device tree",
    // Relocate: *(base + r_offset) = base + r_addend (linked at 0).
    "    adr     x20, _start",
    "    adrp    x21, __rela_start",
    "    add     x21, x21, :lo12:__rela_start",
    "    adrp    x22, __rela_end",
    "    add     x22, x22, :lo12:__rela_end",
    "3:  cmp     x21, x22",
    "    b.hs    4f",
    "    ldp     x9, x10, [x21]          // r_offset, r_info",
    "    ldr     x11, [x21, #{rela_addend}]",
    "    add     x21, x21, #{rela_entry_size}",
    "    cmp     x10, #{r_relative}",
    "    b.ne    9f",
    "    add     x11, x11, x20",
    "    str     x11, [x20, x9]",
    "    b       3b",
    // Zero .bss (16-byte aligned at both ends).
    "4:  adrp    x9, __bss_start",
    "    add     x9, x9, :lo12:__bss_start",
    "    adrp    x10, __bss_end",
    "    add     x10, x10, :lo12:__bss_end",
    "5:  cmp     x9, x10",
    "    b.hs    6f",
    "    stp     xzr, xzr, [x9], #16",
    "    b       5b",
    // The stack, FP/SIMD, the vectors.
    "6:  adrp    x9, {stack}",
    "    add     x9, x9, :lo12:{stack}",
    "    ldr     x10, ={stack_size}",
    "    add     sp, x9, x10",
    "    ldr     x9, ={cpacr}",
    "    msr     cpacr_el1, x9",
    "    adrp    x9, hostile_vectors     // vectors.rs",
    "    add     x9, x9, :lo12:hostile_vectors",
    "    msr     vbar_el1, x9",
    "    isb",
    "    msr     daifclr, #{serror}",
    "    mov     x0, x19",
    "    bl      {main}",
    // A relocation this code does not know: nothing can be reported yet.
    "9:  ldr     x0, ={system_off}",
    "    hvc     #0",
    "    b       9b",
    ".ltorg",
    text_offset = const TEXT_OFFSET,
    flags = const image::FLAG_PAGE_SIZE_4K | image::FLAG_PLACE_ANYWHERE,
    magic = const image::MAGIC,
    rela_addend = const RELA_ADDEND,
    rela_entry_size = const RELA_ENTRY_SIZE,
    r_relative = const R_AARCH64_RELATIVE,
    stack = sym STACK,
    stack_size = const STACK_SIZE,
    cpacr = const CPACR_FP_ENABLED,
    serror = const DAIF_SERROR,
    main = sym crate::main,
    system_off = const crate::smccc::PSCI_SYSTEM_OFF,
);
