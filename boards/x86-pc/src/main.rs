//! An x86-64 PC (industrial PC, QEMU `pc`, Bochs) with Intel VT-x, booted
//! by GRUB through multiboot2. Memory and CPUs come from multiboot2 and
//! ACPI; the board only names its console.

#![no_std]
#![no_main]

use cordon_hypervisor::arch::x86_64::board::PcBoard;

/// COM1, the first serial port of every PC.
static BOARD: PcBoard = PcBoard {
    name: "x86-pc",
    console_port: 0x3f8,
};

cordon_hypervisor::pc_board!(BOARD);
