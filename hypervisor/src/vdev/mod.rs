//! Devices cordon emulates for guests (register models, no hardware access).

pub mod mini_uart;
pub mod pl011;

use crate::board::UartKind;
use mini_uart::VirtualMiniUart;
use pl011::VirtualPl011;

/// Bytes of console input an emulated UART queues for its guest; more are
/// dropped. A line pasted into the console (a SHA-256 on a command line)
/// arrives faster than a guest drains a hardware-sized FIFO, so the queue
/// is deeper; the guest cannot tell, it reads until the FIFO is empty.
pub const CONSOLE_INPUT_DEPTH: usize = 1024;

/// Bytes of guest-physical space an emulated UART's page covers: a PL011's
/// frame, or the BCM2835 AUX page around the mini-UART.
pub const UART_PAGE_SIZE: u64 = 0x1000;

/// A VM's emulated console UART, of the kind of the board's console.
pub enum VirtualUart {
    Pl011(VirtualPl011),
    MiniUart(VirtualMiniUart),
}

impl VirtualUart {
    /// A UART at reset, of `kind`.
    pub const fn new(kind: UartKind) -> Self {
        match kind {
            UartKind::Pl011 => Self::Pl011(VirtualPl011::new()),
            UartKind::Bcm2835Aux => Self::MiniUart(VirtualMiniUart::new()),
        }
    }

    /// Whether the UART's interrupt line is raised.
    pub fn interrupt_pending(&self) -> bool {
        match self {
            Self::Pl011(uart) => uart.interrupt_pending(),
            Self::MiniUart(uart) => uart.interrupt_pending(),
        }
    }

    /// Gives the guest a byte of input; `false` if the queue is full.
    pub fn push_input(&mut self, byte: u8) -> bool {
        match self {
            Self::Pl011(uart) => uart.push_input(byte),
            Self::MiniUart(uart) => uart.push_input(byte),
        }
    }

    /// A guest read at `offset` into the UART's page.
    pub fn read(&mut self, offset: u64) -> u32 {
        match self {
            Self::Pl011(uart) => uart.read(offset),
            Self::MiniUart(uart) => uart.read(offset),
        }
    }

    /// A guest write at `offset` into the UART's page; a transmitted byte
    /// goes to `output`.
    pub fn write(&mut self, offset: u64, value: u32, output: &mut impl FnMut(u8)) {
        match self {
            Self::Pl011(uart) => uart.write(offset, value, output),
            Self::MiniUart(uart) => uart.write(offset, value, output),
        }
    }
}
