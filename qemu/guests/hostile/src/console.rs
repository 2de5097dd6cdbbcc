//! The console: the PL011 UART `/chosen/stdout-path` names (emulated by
//! cordon), written one byte at a time through its data register.

use core::fmt::{self, Write};

use crate::global::Global;
use crate::{mmio, qemu_virt};

/// PL011 data register.
const UARTDR: u64 = 0x000;
/// PL011 flag register and its "transmit FIFO full" bit.
const UARTFR: u64 = 0x018;
const UARTFR_TXFF: u32 = 1 << 5;

/// Base address of the UART; QEMU `virt`'s until the device tree is read,
/// so that a broken device tree can still be reported.
static UART: Global<u64> = Global::new(qemu_virt::UART);

/// Writes to the UART at `base` from now on.
pub fn attach(base: u64) {
    UART.set(base);
}

struct Console;

impl Console {
    fn write_byte(&mut self, byte: u8) {
        let base = UART.get();
        // SAFETY: `base` is the console UART (from the device tree, or the
        // board's); FR reads and DR writes are what a PL011 is for.
        unsafe {
            while mmio::read32(base + UARTFR) & UARTFR_TXFF != 0 {}
            mmio::write32(base + UARTDR, byte.into());
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
