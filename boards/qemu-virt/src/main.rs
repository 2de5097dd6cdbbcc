//! QEMU `virt` (aarch64), cordon's development board: run it with
//! `-M virt,virtualization=on,gic-version=2` so cordon gets EL2.

#![no_std]
#![no_main]

use cordon_hypervisor::board::{Board, GicV2, Uart, UartKind};

/// Memory map of QEMU's hw/arm/virt.c (fixed for the machine).
static BOARD: Board = Board {
    name: "qemu-virt",
    early_console: Uart {
        kind: UartKind::Pl011,
        base: 0x0900_0000,
    },
    console_kinds: &[UartKind::Pl011],
    gic: GicV2 {
        gicd: 0x0800_0000,
        gicc: 0x0801_0000,
        gich: 0x0803_0000,
        gicv: 0x0804_0000,
        maintenance_ppi: 9,
    },
    firmware_mailbox: None,
};

cordon_hypervisor::board!(BOARD);
