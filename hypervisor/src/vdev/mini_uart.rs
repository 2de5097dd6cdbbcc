//! An emulated BCM2835 AUX page with its mini-UART: enough for Linux's
//! `8250_bcm2835aux` driver (a 16550 with 32-bit registers). Offsets are
//! from the start of the AUX page; the mini-UART's registers start at
//! [`offset::MU_IO`]. The SPI masters of the page read as zero.
//!
//! As with the PL011 model, the transmitter is always empty (bytes leave at
//! once) and the receive side follows the input queue. The baud-rate
//! registers keep what is written and change nothing.

use heapless::Deque;

/// Register offsets from the AUX page.
mod offset {
    pub const AUX_IRQ: u64 = 0x00;
    pub const AUX_ENABLES: u64 = 0x04;
    pub const MU_IO: u64 = 0x40;
    pub const MU_IER: u64 = 0x44;
    pub const MU_IIR: u64 = 0x48;
    pub const MU_LCR: u64 = 0x4c;
    pub const MU_MCR: u64 = 0x50;
    pub const MU_LSR: u64 = 0x54;
    pub const MU_SCRATCH: u64 = 0x5c;
    pub const MU_CNTL: u64 = 0x60;
    pub const MU_STAT: u64 = 0x64;
    pub const MU_BAUD: u64 = 0x68;
}

/// AUX_IRQ and AUX_ENABLES: the mini-UART's bit.
const AUX_MINI_UART: u32 = 1 << 0;
const AUX_ENABLES_MASK: u32 = 0b111;
/// IER: receive and transmit interrupt enables (as a 16550's).
const IER_RX: u32 = 1 << 0;
const IER_TX: u32 = 1 << 1;
const IER_MASK: u32 = 0xf;
/// IIR: FIFOs always on; "no interrupt", transmitter empty and receive
/// data identifications.
const IIR_FIFOS_ON: u32 = 0xc0;
const IIR_NONE: u32 = 0x1;
const IIR_TX_EMPTY: u32 = 0x2;
const IIR_RX_DATA: u32 = 0x4;
/// IIR writes: clear the receive FIFO.
const IIR_CLEAR_RX: u32 = 1 << 1;
/// LCR: divisor latch access.
const LCR_DLAB: u32 = 1 << 7;
const BYTE_MASK: u32 = 0xff;
/// LSR: data ready, transmit holding register empty, transmitter idle.
const LSR_DATA_READY: u32 = 1 << 0;
const LSR_TX_EMPTY: u32 = 1 << 5;
const LSR_TX_IDLE: u32 = 1 << 6;
/// MU_STAT: symbol available, space available, transmitter idle, transmit
/// FIFO empty, and the receive FIFO's fill level from bit 16.
const STAT_RX_AVAILABLE: u32 = 1 << 0;
const STAT_TX_SPACE: u32 = 1 << 1;
const STAT_TX_IDLE: u32 = 1 << 3;
const STAT_TX_EMPTY: u32 = 1 << 8;
const STAT_RX_LEVEL_SHIFT: u32 = 16;
/// The hardware's receive FIFO depth, the most MU_STAT reports.
const HW_RX_FIFO: usize = 8;
/// CNTL at reset: receiver and transmitter on.
const CNTL_RESET: u32 = 0b11;
const BAUD_MASK: u32 = 0xffff;
const RX_DEPTH: usize = super::CONSOLE_INPUT_DEPTH;

pub struct VirtualMiniUart {
    enables: u32,
    ier: u32,
    lcr: u32,
    mcr: u32,
    scratch: u32,
    cntl: u32,
    baud: u32,
    rx: Deque<u8, RX_DEPTH>,
}

impl Default for VirtualMiniUart {
    fn default() -> Self {
        Self::new()
    }
}

impl VirtualMiniUart {
    pub const fn new() -> Self {
        Self {
            enables: AUX_MINI_UART,
            ier: 0,
            lcr: 0,
            mcr: 0,
            scratch: 0,
            cntl: CNTL_RESET,
            baud: 0,
            rx: Deque::new(),
        }
    }

    fn rx_interrupt(&self) -> bool {
        self.ier & IER_RX != 0 && !self.rx.is_empty()
    }

    fn tx_interrupt(&self) -> bool {
        self.ier & IER_TX != 0
    }

    /// Whether the UART's interrupt line is raised.
    pub fn interrupt_pending(&self) -> bool {
        self.rx_interrupt() || self.tx_interrupt()
    }

    /// Gives the guest a byte of input; `false` if the queue is full.
    pub fn push_input(&mut self, byte: u8) -> bool {
        self.rx.push_back(byte).is_ok()
    }

    fn latched(&self) -> bool {
        self.lcr & LCR_DLAB != 0
    }

    /// A guest read of the register at `offset`.
    pub fn read(&mut self, offset: u64) -> u32 {
        use offset::*;
        match offset {
            AUX_IRQ => u32::from(self.interrupt_pending()) * AUX_MINI_UART,
            AUX_ENABLES => self.enables,
            MU_IO if self.latched() => self.baud & BYTE_MASK,
            MU_IO => self.rx.pop_front().map_or(0, u32::from),
            MU_IER if self.latched() => (self.baud >> 8) & BYTE_MASK,
            MU_IER => self.ier,
            MU_IIR => {
                let id = if self.rx_interrupt() {
                    IIR_RX_DATA
                } else if self.tx_interrupt() {
                    IIR_TX_EMPTY
                } else {
                    IIR_NONE
                };
                IIR_FIFOS_ON | id
            }
            MU_LCR => self.lcr,
            MU_MCR => self.mcr,
            MU_LSR => {
                let ready = if self.rx.is_empty() {
                    0
                } else {
                    LSR_DATA_READY
                };
                LSR_TX_EMPTY | LSR_TX_IDLE | ready
            }
            MU_SCRATCH => self.scratch,
            MU_CNTL => self.cntl,
            MU_STAT => {
                let available = if self.rx.is_empty() {
                    0
                } else {
                    STAT_RX_AVAILABLE
                };
                let level = self.rx.len().min(HW_RX_FIFO) as u32;
                available
                    | STAT_TX_SPACE
                    | STAT_TX_IDLE
                    | STAT_TX_EMPTY
                    | (level << STAT_RX_LEVEL_SHIFT)
            }
            MU_BAUD => self.baud,
            // MSR (no modem lines) and the SPI masters.
            _ => 0,
        }
    }

    /// A guest write of `value` to the register at `offset`; a transmitted
    /// byte goes to `output`.
    pub fn write(&mut self, offset: u64, value: u32, output: &mut impl FnMut(u8)) {
        use offset::*;
        match offset {
            AUX_ENABLES => self.enables = value & AUX_ENABLES_MASK,
            MU_IO if self.latched() => self.baud = (self.baud & !BYTE_MASK) | (value & BYTE_MASK),
            MU_IO => output(value as u8),
            MU_IER if self.latched() => {
                self.baud = (self.baud & BYTE_MASK) | ((value & BYTE_MASK) << 8)
            }
            MU_IER => self.ier = value & IER_MASK,
            MU_IIR if value & IIR_CLEAR_RX != 0 => self.rx.clear(),
            MU_LCR => self.lcr = value & BYTE_MASK,
            MU_MCR => self.mcr = value & BYTE_MASK,
            MU_SCRATCH => self.scratch = value & BYTE_MASK,
            MU_CNTL => self.cntl = value & BYTE_MASK,
            MU_BAUD => self.baud = value & BAUD_MASK,
            // AUX_IRQ, LSR, MSR and STAT are read-only; the SPI masters are
            // not modelled.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transmitted_bytes_go_out_and_the_divisor_latch_does_not() {
        let mut uart = VirtualMiniUart::new();
        let mut out = std::vec::Vec::new();
        for &byte in b"ok\n" {
            uart.write(offset::MU_IO, byte.into(), &mut |b| out.push(b));
        }
        uart.write(offset::MU_LCR, LCR_DLAB | 0x3, &mut |b| out.push(b));
        uart.write(offset::MU_IO, 0x0e, &mut |b| out.push(b));
        uart.write(offset::MU_IER, 0x01, &mut |b| out.push(b));
        assert_eq!(out, b"ok\n");
        assert_eq!(uart.read(offset::MU_BAUD), 0x010e);
        assert_eq!(uart.read(offset::MU_IER), 0x01, "IER reads the latch");
        uart.write(offset::MU_LCR, 0x3, &mut |_| {});
        assert_eq!(uart.read(offset::MU_IER), 0, "interrupts untouched");
    }

    #[test]
    fn status_and_input() {
        let mut uart = VirtualMiniUart::new();
        assert_eq!(uart.read(offset::MU_LSR), LSR_TX_EMPTY | LSR_TX_IDLE);
        assert!(uart.push_input(b'a'));
        assert_eq!(
            uart.read(offset::MU_LSR),
            LSR_TX_EMPTY | LSR_TX_IDLE | LSR_DATA_READY
        );
        assert_eq!(uart.read(offset::MU_STAT) >> STAT_RX_LEVEL_SHIFT, 1);
        assert_eq!(uart.read(offset::MU_IO), u32::from(b'a'));
        assert_eq!(uart.read(offset::MU_IO), 0, "empty FIFO reads 0");
        uart.push_input(b'b');
        uart.write(offset::MU_IIR, IIR_CLEAR_RX, &mut |_| {});
        assert_eq!(uart.read(offset::MU_LSR) & LSR_DATA_READY, 0, "cleared");
        for _ in 0..RX_DEPTH {
            assert!(uart.push_input(b'z'));
        }
        assert!(!uart.push_input(b'!'), "a full queue drops input");
    }

    #[test]
    fn interrupt_line_and_identification() {
        let mut uart = VirtualMiniUart::new();
        assert!(!uart.interrupt_pending(), "masked at reset");
        assert_eq!(uart.read(offset::MU_IIR), IIR_FIFOS_ON | IIR_NONE);
        uart.write(offset::MU_IER, IER_RX, &mut |_| {});
        assert!(!uart.interrupt_pending());
        uart.push_input(b'q');
        assert!(uart.interrupt_pending());
        assert_eq!(uart.read(offset::MU_IIR), IIR_FIFOS_ON | IIR_RX_DATA);
        assert_eq!(uart.read(offset::AUX_IRQ), AUX_MINI_UART);
        uart.read(offset::MU_IO);
        assert!(!uart.interrupt_pending());
        uart.write(offset::MU_IER, IER_TX, &mut |_| {});
        assert_eq!(uart.read(offset::MU_IIR), IIR_FIFOS_ON | IIR_TX_EMPTY);
        assert!(uart.interrupt_pending(), "an empty transmitter interrupts");
    }
}
