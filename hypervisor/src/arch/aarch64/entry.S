// Image header and the entry points of every CPU.
//
// Runs with the MMU off at whatever address the loader chose, so it is
// position-independent: only PC-relative addressing (adr/adrp) until the
// image has relocated itself.

.section .text.head, "ax"
.global _start
_start:
    b       primary_entry           // code0
    .long   0                       // code1
    .quad   {text_offset}           // text_offset
    .quad   __image_size            // image_size (linker script)
    .quad   {flags}                 // flags
    .quad   0                       // res2
    .quad   0                       // res3
    .quad   0                       // res4
    .long   {magic}                 // "ARM\x64"
    .long   0                       // res5 (no PE/COFF header)

// x0 = physical address of the DTB (arm64 boot protocol).
primary_entry:
    mov     x19, x0
    mrs     x20, CurrentEL
    ubfx    x20, x20, #2, #2        // x20 = exception level we were entered at
    cmp     x20, #3
    b.ne    1f
    adr     x0, 1f
    b       leave_el3
1:  msr     daifset, #0xf

    // Apply R_AARCH64_RELATIVE relocations: *(base + offset) = base + addend.
    adr     x0, _start
    adrp    x1, __rela_start
    add     x1, x1, :lo12:__rela_start
    adrp    x2, __rela_end
    add     x2, x2, :lo12:__rela_end
2:  cmp     x1, x2
    b.hs    3f
    ldp     x3, x4, [x1], #16       // r_offset, r_info
    ldr     x5, [x1], #8            // r_addend
    cmp     x4, #{r_aarch64_relative}
    b.ne    halt                    // the build checks no other kind exists
    add     x5, x5, x0
    str     x5, [x0, x3]
    b       2b

    // Zero .bss (16-byte aligned by the linker script).
3:  adrp    x1, __bss_start
    add     x1, x1, :lo12:__bss_start
    adrp    x2, __bss_end
    add     x2, x2, :lo12:__bss_end
4:  cmp     x1, x2
    b.hs    5f
    stp     xzr, xzr, [x1], #16
    b       4b

    // CPU 0's stack, then Rust.
5:  adrp    x1, {stacks}
    add     x1, x1, :lo12:{stacks}
    ldr     x2, ={stack_stride}
    add     sp, x1, x2
    mov     x0, x19
    mov     x1, x20
    bl      {primary_main}
    b       halt

// Secondary CPUs start here (PSCI CPU_ON or spin-table release), MMU off.
// The primary left the stack and CPU number in the secondary boot mailbox
// and the MMU settings in the MMU config, both cleaned to memory.
.global secondary_entry
secondary_entry:
    mrs     x20, CurrentEL
    ubfx    x20, x20, #2, #2
    cmp     x20, #3
    b.ne    1f
    adr     x0, 1f
    b       leave_el3
1:  msr     daifset, #0xf
    cmp     x20, #2
    b.ne    halt
    adrp    x0, {mmu_config}
    add     x0, x0, :lo12:{mmu_config}
    bl      enable_mmu_el2
    adrp    x19, {mailbox}
    add     x19, x19, :lo12:{mailbox}
    ldr     x1, [x19, #{mailbox_stack_top}]
    mov     sp, x1
    ldr     x0, [x19, #{mailbox_cpu}]
    bl      {secondary_main}
    b       halt

// Leave EL3 for EL2 (AArch64, non-secure), continuing at x0.
leave_el3:
    ldr     x1, ={scr_el3}
    msr     scr_el3, x1
    msr     cptr_el3, xzr           // no FP/SIMD traps to EL3
    ldr     x1, ={sctlr_el2_reset}
    msr     sctlr_el2, x1
    mov     x1, #{spsr_el2h_masked}
    msr     spsr_el3, x1
    msr     elr_el3, x0
    isb
    eret

// Turns on the EL2 MMU with the settings at x0 (struct MmuConfig).
// Identity-mapped, so execution continues at the next instruction.
.global enable_mmu_el2
enable_mmu_el2:
    ldp     x1, x2, [x0, #{mmu_mair}]
    ldp     x3, x4, [x0, #{mmu_ttbr0}]
    msr     mair_el2, x1
    msr     tcr_el2, x2
    msr     ttbr0_el2, x3
    isb
    tlbi    alle2
    dsb     nsh
    ic      iallu
    dsb     nsh
    isb
    msr     sctlr_el2, x4
    isb
    ret

.global halt
halt:
    wfe
    b       halt
