/* Reads past its own RAM: switches to 32-bit protected mode (flat
 * segments, no paging: addresses are guest-physical), says so on COM1,
 * then reads one word every MiB from 1 MiB upwards. The first read past
 * its RAM is an EPT violation, and cordon stops the VM; if it ever reads
 * all 4 GiB, it says ESCAPED. COM1 output needs COM1 passed through
 * (/isa/serial@3f8); without it cordon drops the writes. */

    .set CR0_PE, 1
    .set CODE_SELECTOR, 0x08
    .set DATA_SELECTOR, 0x10
    .set STACK_TOP, 0x1000
    .set STEP, 0x100000
    .set COM1_DATA, 0x3f8
    .set COM1_LINE_STATUS, 0x3fd
    .set TRANSMITTER_EMPTY, 0x20

    .code16
    .section .text.entry, "ax"
    .global _start
_start:
    cli
    lgdtl gdt_pointer
    mov %cr0, %eax
    or $CR0_PE, %eax
    mov %eax, %cr0
    ljmpl $CODE_SELECTOR, $protected

    .code32
protected:
    mov $DATA_SELECTOR, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $STACK_TOP, %esp
    mov $started, %esi
    call puts
    mov $STEP, %esi
read:
    mov (%esi), %eax
    add $STEP, %esi
    jnc read
    mov $escaped, %esi
    call puts
halt:
    hlt
    jmp halt

/* Writes the NUL-terminated line at ESI to COM1, each byte once the
 * transmitter is empty. */
puts:
    lodsb
    test %al, %al
    jz puts_done
    mov %al, %ah
    mov $COM1_LINE_STATUS, %dx
wait_empty:
    in %dx, %al
    test $TRANSMITTER_EMPTY, %al
    jz wait_empty
    mov $COM1_DATA, %dx
    mov %ah, %al
    out %al, %dx
    jmp puts
puts_done:
    ret

    .section .rodata
    .p2align 3
/* Null, then flat 4 GiB code (32-bit, execute/read) and data (read/write). */
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff
    .quad 0x00cf92000000ffff
gdt_end:
gdt_pointer:
    .word gdt_end - gdt - 1
    .long gdt
started:
    .asciz "x86-probe: reading guest-physical memory upwards from 1 MiB until cordon stops me\n"
escaped:
    .asciz "x86-probe: ESCAPED: read all 4 GiB of guest-physical memory\n"
