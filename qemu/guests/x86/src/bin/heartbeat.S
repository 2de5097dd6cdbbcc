/* Beats for ever, in real mode: beat n is cordon's log hypercall
 * (VMCALL, EAX = 1) with EBX = n, then a pause. cordon logs each beat at
 * debug level ("<vm>: hypercall log 0x<n>"). */

    .set HYPERCALL_LOG, 1
    .set PAUSE_LOOPS, 0x400000

    .code16
    .section .text.entry, "ax"
    .global _start
_start:
    xor %ebx, %ebx
beat:
    inc %ebx
    mov $HYPERCALL_LOG, %eax
    vmcall
    mov $PAUSE_LOOPS, %ecx
pause:
    dec %ecx
    jnz pause
    jmp beat
