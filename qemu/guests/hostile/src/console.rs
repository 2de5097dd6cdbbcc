//! The console: the UART `/chosen/stdout-path` names (emulated by cordon),
//! a PL011 or a BCM2835 mini-UART, written one byte at a time through its
//! data register.

use core::fmt::{self, Write};

use crate::global::Global;
use crate::{mmio, qemu_virt};

/// PL011 data register.
const UARTDR: u64 = 0x000;
/// PL011 flag register and its "transmit FIFO full" bit.
const UARTFR: u64 = 0x018;
const UARTFR_TXFF: u32 = 1 << 5;
/// Mini-UART data register (from the node's `reg`), and its line status
/// register with the "transmitter empty" bit.
const MU_IO: u64 = 0x00;
const MU_LSR: u64 = 0x14;
const MU_LSR_TX_EMPTY: u32 = 1 << 5;

/// The UARTs the guest can write to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum UartKind {
    Pl011,
    MiniUart,
}

impl UartKind {
    /// The kind a `compatible` string names.
    pub fn from_compatible(compatible: &str) -> Option<Self> {
        match compatible {
            "arm,pl011" => Some(Self::Pl011),
            "brcm,bcm2835-aux-uart" => Some(Self::MiniUart),
            _ => None,
        }
    }
}

/// Base address of the UART; QEMU `virt`'s until the device tree is read,
/// so that a broken device tree can still be reported.
static UART: Global<(UartKind, u64)> = Global::new((UartKind::Pl011, qemu_virt::UART));

/// Writes to the UART of `kind` at `base` from now on.
pub fn attach(kind: UartKind, base: u64) {
    UART.set((kind, base));
}

struct Console;

impl Console {
    fn write_byte(&mut self, byte: u8) {
        let (kind, base) = UART.get();
        // Data register, status register, and the status bits that say
        // the transmitter takes a byte (when they are `ready`).
        let (data, status, mask, ready) = match kind {
            UartKind::Pl011 => (UARTDR, UARTFR, UARTFR_TXFF, 0),
            UartKind::MiniUart => (MU_IO, MU_LSR, MU_LSR_TX_EMPTY, MU_LSR_TX_EMPTY),
        };
        // SAFETY: `base` is the console UART of `kind` (from the device
        // tree, or the board's); status reads and data writes are what a
        // UART is for.
        unsafe {
            while mmio::read32(base + status) & mask != ready {}
            mmio::write32(base + data, byte.into());
        }
    }
}

impl Write for Console {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        text.bytes().for_each(|byte| self.write_byte(byte));
        Ok(())
    }
}

/// Prints `line` and a newline.
pub fn print_line(line: fmt::Arguments) {
    // Writing to the console cannot fail.
    let _ = Console.write_fmt(format_args!("{line}\n"));
}

/// Prints a line on the console: `say!("hostile: {}", x)`.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::console::print_line(format_args!($($arg)*))
    };
}
