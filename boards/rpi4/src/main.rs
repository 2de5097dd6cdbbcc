//! Raspberry Pi 4 Model B (BCM2711, GIC-400, four Cortex-A72), loaded by
//! U-Boot `booti` or the firmware; secondary CPUs start by spin-table.

#![no_std]
#![no_main]

use cordon_hypervisor::board::{Board, GicV2, Uart, UartKind};

/// BCM2711 addresses as the CPUs see them ("low peripheral" mode).
static BOARD: Board = Board {
    name: "rpi4",
    // UART0 (PL011) on GPIO 14/15 until the device tree's stdout-path says
    // otherwise (the firmware often picks the mini-UART).
    early_console: Uart {
        kind: UartKind::Pl011,
        base: 0xfe20_1000,
    },
    console_kinds: &[UartKind::Pl011, UartKind::Bcm2835Aux],
    gic: GicV2 {
        gicd: 0xff84_1000,
        gicc: 0xff84_2000,
        gich: 0xff84_4000,
        gicv: 0xff84_6000,
        maintenance_ppi: 9,
    },
    // The VideoCore firmware's mailbox (clock rates).
    firmware_mailbox: Some("/soc/mailbox@7e00b880"),
};

cordon_hypervisor::board!(BOARD);
