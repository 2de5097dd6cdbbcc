//! An emulated PL011 UART: enough for Linux's `amba-pl011` driver and its
//! earlycon. Output bytes go to cordon's console multiplexer; input comes
//! from cordon's console when the VM has it.
//!
//! The transmit FIFO never fills (bytes leave at once), so the transmit
//! interrupt is always raised while unmasked; the receive interrupt follows
//! the input queue.

use heapless::Deque;

/// Register offsets.
mod offset {
    pub const DR: u64 = 0x000;
    pub const RSR_ECR: u64 = 0x004;
    pub const FR: u64 = 0x018;
    pub const ILPR: u64 = 0x020;
    pub const IBRD: u64 = 0x024;
    pub const FBRD: u64 = 0x028;
    pub const LCR_H: u64 = 0x02c;
    pub const CR: u64 = 0x030;
    pub const IFLS: u64 = 0x034;
    pub const IMSC: u64 = 0x038;
    pub const RIS: u64 = 0x03c;
    pub const MIS: u64 = 0x040;
    pub const ICR: u64 = 0x044;
    pub const DMACR: u64 = 0x048;
    /// PrimeCell peripheral and cell ID registers, 0xfe0-0xffc.
    pub const ID_START: u64 = 0xfe0;
    pub const ID_END: u64 = 0x1000;
}

/// Flag register bits.
const FR_RXFE: u32 = 1 << 4;
const FR_TXFE: u32 = 1 << 7;
/// Interrupt bits (RIS, MIS, IMSC, ICR).
const INT_RX: u32 = 1 << 4;
const INT_TX: u32 = 1 << 5;
const INT_RX_TIMEOUT: u32 = 1 << 6;
/// PL011 r1p5 peripheral ID and the PrimeCell component ID, byte per word.
const ID_BYTES: [u32; 8] = [0x11, 0x10, 0x34, 0x00, 0x0d, 0xf0, 0x05, 0xb1];
const RX_DEPTH: usize = super::CONSOLE_INPUT_DEPTH;
/// Reset values of the control registers (UART off; 8-bit words... as the
/// TRM gives them).
const CR_RESET: u32 = 0x0300;
const IFLS_RESET: u32 = 0x12;

pub struct VirtualPl011 {
    cr: u32,
    lcr_h: u32,
    ibrd: u32,
    fbrd: u32,
    ifls: u32,
    imsc: u32,
    dmacr: u32,
    rx: Deque<u8, RX_DEPTH>,
}

impl Default for VirtualPl011 {
    fn default() -> Self {
        Self::new()
    }
}

impl VirtualPl011 {
    pub const fn new() -> Self {
        Self {
            cr: CR_RESET,
            lcr_h: 0,
            ibrd: 0,
            fbrd: 0,
            ifls: IFLS_RESET,
            imsc: 0,
            dmacr: 0,
            rx: Deque::new(),
        }
    }

    fn raw_interrupts(&self) -> u32 {
        let rx = if self.rx.is_empty() {
            0
        } else {
            INT_RX | INT_RX_TIMEOUT
        };
        INT_TX | rx
    }

    /// Whether the UART's interrupt line is raised.
    pub fn interrupt_pending(&self) -> bool {
        self.raw_interrupts() & self.imsc != 0
    }

    /// Gives the guest a byte of input; `false` if the queue is full.
    pub fn push_input(&mut self, byte: u8) -> bool {
        self.rx.push_back(byte).is_ok()
    }

    /// A guest read of the register at `offset`.
    pub fn read(&mut self, offset: u64) -> u32 {
        use offset::*;
        match offset {
            DR => self.rx.pop_front().map_or(0, u32::from),
            FR => {
                let rx = if self.rx.is_empty() { FR_RXFE } else { 0 };
                FR_TXFE | rx
            }
            IBRD => self.ibrd,
            FBRD => self.fbrd,
            LCR_H => self.lcr_h,
            CR => self.cr,
            IFLS => self.ifls,
            IMSC => self.imsc,
            RIS => self.raw_interrupts(),
            MIS => self.raw_interrupts() & self.imsc,
            DMACR => self.dmacr,
            o if (ID_START..ID_END).contains(&o) => ID_BYTES[((o - ID_START) / 4) as usize],
            // RSR/ECR (no errors), ILPR, ICR and reserved offsets.
            _ => 0,
        }
    }

    /// A guest write of `value` to the register at `offset`; a transmitted
    /// byte goes to `output`.
    pub fn write(&mut self, offset: u64, value: u32, output: &mut impl FnMut(u8)) {
        use offset::*;
        match offset {
            DR => output(value as u8),
            IBRD => self.ibrd = value & 0xffff,
            FBRD => self.fbrd = value & 0x3f,
            LCR_H => self.lcr_h = value & 0xff,
            CR => self.cr = value & 0xffff,
            IFLS => self.ifls = value & 0x3f,
            IMSC => self.imsc = value & 0x7ff,
            DMACR => self.dmacr = value & 0x7,
            // RSR_ECR clears errors (there are none); ICR clears interrupts
            // that are level conditions here; the rest is read-only.
            RSR_ECR | ICR | ILPR => {}
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transmitted_bytes_go_out_and_registers_do_not() {
        let mut uart = VirtualPl011::new();
        let mut out = std::vec::Vec::new();
        for &byte in b"hi\n" {
            uart.write(offset::DR, byte as u32, &mut |b| out.push(b));
        }
        uart.write(offset::IBRD, 13, &mut |b| out.push(b));
        assert_eq!(out, b"hi\n");
        assert_eq!(uart.read(offset::IBRD), 13);
    }

    #[test]
    fn flags_and_input() {
        let mut uart = VirtualPl011::new();
        assert_eq!(uart.read(offset::FR), FR_TXFE | FR_RXFE);
        assert!(uart.push_input(b'a'));
        assert_eq!(uart.read(offset::FR), FR_TXFE);
        assert_eq!(uart.read(offset::DR), b'a' as u32);
        assert_eq!(uart.read(offset::DR), 0, "empty FIFO reads 0");
        for _ in 0..RX_DEPTH {
            assert!(uart.push_input(b'z'));
        }
        assert!(!uart.push_input(b'!'), "a full queue drops input");
    }

    #[test]
    fn interrupt_line_follows_mask_and_input() {
        let mut uart = VirtualPl011::new();
        assert!(!uart.interrupt_pending(), "masked at reset");
        uart.write(offset::IMSC, INT_RX | INT_RX_TIMEOUT, &mut |_| {});
        assert!(!uart.interrupt_pending());
        uart.push_input(b'q');
        assert!(uart.interrupt_pending());
        assert_eq!(uart.read(offset::MIS), INT_RX | INT_RX_TIMEOUT);
        uart.read(offset::DR);
        assert!(!uart.interrupt_pending());
        uart.write(offset::IMSC, INT_TX, &mut |_| {});
        assert!(
            uart.interrupt_pending(),
            "an empty transmit FIFO interrupts"
        );
    }

    #[test]
    fn identifies_as_a_primecell_pl011() {
        let mut uart = VirtualPl011::new();
        let ids: std::vec::Vec<u32> = (0..8).map(|n| uart.read(0xfe0 + n * 4)).collect();
        assert_eq!(ids, [0x11, 0x10, 0x34, 0x00, 0x0d, 0xf0, 0x05, 0xb1]);
        uart.write(offset::CR, 0x301, &mut |_| {});
        assert_eq!(uart.read(offset::CR), 0x301);
    }
}
