// EL2 exception vectors: 16 entries of 0x80 bytes, 2 KiB aligned.
// Each saves x0-x1 into a TrapFrame on the stack, loads its entry number
// and joins a common path. Exceptions taken at EL2 are fatal; exceptions
// from a guest (lower EL) are VM exits, handled and returned from.

.section .text.vectors, "ax"
.balign 2048
.global el2_vectors
el2_vectors:
.irp kind, 0, 1, 2, 3, 4, 5, 6, 7
    .balign 0x80
    sub     sp, sp, #{frame_size}
    stp     x0, x1, [sp, #0]
    mov     x0, #\kind
    b       hypervisor_exception
.endr
.irp kind, 8, 9, 10, 11, 12, 13, 14, 15
    .balign 0x80
    sub     sp, sp, #{frame_size}
    stp     x0, x1, [sp, #0]
    mov     x0, #\kind
    b       guest_exit
.endr

// Stores x2-x30, ELR and SPSR in the frame at sp (x0-x1 are there already).
.macro SAVE_REST
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    mrs     x1, elr_el2
    stp     x30, x1, [sp, #240]
    mrs     x1, spsr_el2
    str     x1, [sp, #256]
.endm

hypervisor_exception:
    SAVE_REST
    mov     x1, x0
    mov     x0, sp
    bl      {fatal_handler}
    b       halt

guest_exit:
    SAVE_REST
    mov     x1, x0
    mov     x0, sp
    bl      {exit_handler}
    b       restore_and_return

// Enters a guest: x0 = TrapFrame with its registers, x1 = the top of this
// CPU's stack. The frame is copied just below the top, where every exit's
// frame will be, and everything deeper on the stack is abandoned.
.global enter_guest
enter_guest:
    sub     sp, x1, #{frame_size}
    mov     x2, sp
    mov     x3, #{frame_words}
1:  ldr     x4, [x0], #8
    str     x4, [x2], #8
    subs    x3, x3, #1
    b.ne    1b
    b       restore_and_return

// Loads every register from the frame at sp, drops it, and ERETs.
restore_and_return:
    ldr     x1, [sp, #256]
    msr     spsr_el2, x1
    ldp     x30, x1, [sp, #240]
    msr     elr_el2, x1
    ldp     x28, x29, [sp, #224]
    ldp     x26, x27, [sp, #208]
    ldp     x24, x25, [sp, #192]
    ldp     x22, x23, [sp, #176]
    ldp     x20, x21, [sp, #160]
    ldp     x18, x19, [sp, #144]
    ldp     x16, x17, [sp, #128]
    ldp     x14, x15, [sp, #112]
    ldp     x12, x13, [sp, #96]
    ldp     x10, x11, [sp, #80]
    ldp     x8, x9, [sp, #64]
    ldp     x6, x7, [sp, #48]
    ldp     x4, x5, [sp, #32]
    ldp     x2, x3, [sp, #16]
    ldp     x0, x1, [sp, #0]
    add     sp, sp, #{frame_size}
    eret
