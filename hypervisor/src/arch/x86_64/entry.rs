//! From the multiboot2 loader to Rust: the multiboot2 header, the boot CPU's
//! 32-bit entry (boot page tables, long mode), the GDT, and the real-mode
//! trampoline that application processors start in after INIT-SIPI-SIPI.
//!
//! The boot page tables identity-map the low 4 GiB with 2 MiB pages: cordon,
//! the loader's data, the ACPI tables and the local APIC all lie there.

use core::arch::global_asm;

use super::smp::TRAMPOLINE_BASE;

/// What a multiboot2 header starts with.
const MULTIBOOT2_HEADER_MAGIC: u32 = 0xe852_50d6;
/// Architecture field of the header: 32-bit protected mode i386.
const MULTIBOOT2_ARCH_I386: u32 = 0;
/// CR0: protected mode, paging.
const CR0_PE: u32 = 1 << 0;
const CR0_PG: u32 = 1 << 31;
/// CR4: physical address extension (needed for long mode).
const CR4_PAE: u32 = 1 << 5;
/// The extended feature enable register and its long-mode enable bit.
const IA32_EFER: u32 = 0xc000_0080;
const EFER_LME: u32 = 1 << 8;
/// Page-table entry bits: present, writable, 2 MiB page (in a directory).
const PTE_PRESENT_WRITABLE: u32 = 0b11;
const PDE_LARGE: u32 = 1 << 7;
/// Page directories the boot tables use: one per GiB of the low 4 GiB.
const BOOT_PAGE_DIRECTORIES: u32 = 4;
/// Entries in a page table.
const ENTRIES_PER_TABLE: u32 = 512;
const LARGE_PAGE_SHIFT: u32 = 21;
const PAGE_SHIFT: u32 = 12;
/// Where the boot page tables' identity map ends.
pub const IDENTITY_MAP_END: u64 = (BOOT_PAGE_DIRECTORIES as u64) << 30;
/// The boot CPU's stack.
const BOOT_STACK_SIZE: usize = 64 * 1024;

/// GDT selectors (index * 8): 64-bit code, data.
pub const CODE64_SELECTOR: u16 = 0x08;
pub const DATA_SELECTOR: u16 = 0x10;

// Assembler macros for both ways into long mode, the boot CPU's (from
// 32-bit protected mode) and the trampoline's (from real mode): PAE, the
// page tables `cr3_source` gives (an immediate or a memory operand),
// EFER.LME, then paging and protection; and the data segments of the GDT.
global_asm!(
    ".macro enter_long_mode cr3_source",
    "    mov %cr4, %eax",
    "    or ${cr4_pae}, %eax",
    "    mov %eax, %cr4",
    "    mov \\cr3_source, %eax",
    "    mov %eax, %cr3",
    "    mov ${efer}, %ecx",
    "    rdmsr",
    "    or ${efer_lme}, %eax",
    "    wrmsr",
    "    mov %cr0, %eax",
    "    or ${cr0_pg} | {cr0_pe}, %eax",
    "    mov %eax, %cr0",
    ".endm",
    ".macro load_data_segments",
    "    mov ${data}, %ax",
    "    mov %ax, %ds",
    "    mov %ax, %es",
    "    mov %ax, %ss",
    "    mov %ax, %fs",
    "    mov %ax, %gs",
    ".endm",
    cr4_pae = const CR4_PAE,
    efer = const IA32_EFER,
    efer_lme = const EFER_LME,
    cr0_pg = const CR0_PG,
    cr0_pe = const CR0_PE,
    data = const DATA_SELECTOR,
    options(att_syntax),
);

// The multiboot2 header: magic, architecture, length, checksum, and the
// end tag (type 0, size 8). The loader reads the ELF's program headers for
// where to put the image and its entry point.
global_asm!(
    ".section .multiboot2, \"a\"",
    ".balign 8",
    "2:",
    ".long {magic}",
    ".long {arch}",
    ".long 3f - 2b",
    ".long 0x100000000 - ({magic} + {arch} + (3f - 2b))",
    ".short 0, 0",
    ".long 8",
    "3:",
    magic = const MULTIBOOT2_HEADER_MAGIC,
    arch = const MULTIBOOT2_ARCH_I386,
);

// The boot CPU, entered by the loader in 32-bit protected mode with paging
// off, EAX = multiboot2 magic, EBX = boot information address.
global_asm!(
    ".section .text.boot, \"ax\"",
    ".code32",
    ".global _start",
    "_start:",
    "    cli",
    "    cld",
    "    mov %eax, %ebp",
    "    mov %ebx, %esi",
    // Zero .bss (the page tables and stack live there).
    "    mov $__bss_start, %edi",
    "    mov $__bss_end, %ecx",
    "    sub %edi, %ecx",
    "    shr $2, %ecx",
    "    xor %eax, %eax",
    "    rep stosl",
    // PML4[0] -> PDPT; PDPT[i] -> directory i; each directory entry a 2 MiB page.
    "    mov $boot_pdpt, %eax",
    "    or ${pw}, %eax",
    "    mov %eax, boot_pml4",
    "    xor %ecx, %ecx",
    "1:  mov %ecx, %eax",
    "    shl ${page_shift}, %eax",
    "    add $boot_page_directories, %eax",
    "    or ${pw}, %eax",
    "    mov %eax, boot_pdpt(,%ecx,8)",
    "    inc %ecx",
    "    cmp ${directories}, %ecx",
    "    jb 1b",
    "    xor %ecx, %ecx",
    "1:  mov %ecx, %eax",
    "    shl ${large_shift}, %eax",
    "    or ${pw} | {large}, %eax",
    "    mov %eax, boot_page_directories(,%ecx,8)",
    "    inc %ecx",
    "    cmp ${directories} * {entries}, %ecx",
    "    jb 1b",
    "    enter_long_mode $boot_pml4",
    "    lgdt gdt_pointer",
    "    ljmp ${code64}, $2f",
    ".code64",
    "2:  load_data_segments",
    "    lea boot_stack_top(%rip), %rsp",
    // x86_bsp_main(magic, boot information): zero-extended from 32 bits.
    "    mov %ebp, %edi",
    "    mov %esi, %esi",
    "    call x86_bsp_main",
    "3:  hlt",
    "    jmp 3b",
    pw = const PTE_PRESENT_WRITABLE,
    large = const PDE_LARGE,
    page_shift = const PAGE_SHIFT,
    large_shift = const LARGE_PAGE_SHIFT,
    directories = const BOOT_PAGE_DIRECTORIES,
    entries = const ENTRIES_PER_TABLE,
    code64 = const CODE64_SELECTOR,
    options(att_syntax),
);

// The GDT: null, 64-bit code, data. Its pointer holds a 32-bit base for
// `lgdt` from 32-bit and real mode; the trampoline keeps its own copy.
global_asm!(
    ".section .rodata.gdt, \"a\"",
    ".balign 16",
    "gdt:",
    "    .quad 0",
    "    .quad 0x00af9a000000ffff",
    "    .quad 0x00cf92000000ffff",
    "gdt_end:",
    ".balign 8",
    "gdt_pointer:",
    "    .short gdt_end - gdt - 1",
    "    .long gdt",
    ".section .bss.boot, \"aw\", @nobits",
    ".balign 4096",
    ".global boot_pml4",
    "boot_pml4: .skip 4096",
    "boot_pdpt: .skip 4096",
    "boot_page_directories: .skip 4096 * {directories}",
    ".balign 16",
    "boot_stack: .skip {stack}",
    "boot_stack_top:",
    directories = const BOOT_PAGE_DIRECTORIES,
    stack = const BOOT_STACK_SIZE,
    options(att_syntax),
);

// The application-processor trampoline, copied to TRAMPOLINE_BASE (the
// SIPI vector's page) before each start. It begins in real mode with
// CS = TRAMPOLINE_BASE >> 4, switches straight to long mode on the boot
// page tables (whose address the boot CPU writes into `ap_cr3`), and calls
// x86_ap_main(ap_cpu) on the stack in `ap_stack`.
global_asm!(
    ".section .rodata.trampoline, \"a\"",
    ".balign 16",
    ".global ap_trampoline_start",
    "ap_trampoline_start:",
    ".code16",
    "    cli",
    "    cld",
    "    mov %cs, %ax",
    "    mov %ax, %ds",
    "    lgdtl ap_gdt_pointer - ap_trampoline_start",
    "    enter_long_mode ap_cr3-ap_trampoline_start",
    "    ljmpl ${code64}, ${base} + (ap_long_mode - ap_trampoline_start)",
    ".code64",
    "ap_long_mode:",
    "    load_data_segments",
    "    mov {base} + (ap_stack - ap_trampoline_start), %rsp",
    "    mov {base} + (ap_cpu - ap_trampoline_start), %rdi",
    "    movabs $x86_ap_main, %rax",
    "    call *%rax",
    "1:  hlt",
    "    jmp 1b",
    ".balign 8",
    "ap_gdt_pointer:",
    "    .short gdt_end - gdt - 1",
    "    .long gdt",
    ".balign 8",
    ".global ap_cr3, ap_stack, ap_cpu, ap_trampoline_end",
    "ap_cr3: .quad 0",
    "ap_stack: .quad 0",
    "ap_cpu: .quad 0",
    "ap_trampoline_end:",
    code64 = const CODE64_SELECTOR,
    base = const TRAMPOLINE_BASE,
    options(att_syntax),
);
