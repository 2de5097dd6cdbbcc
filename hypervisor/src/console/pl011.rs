//! Arm PrimeCell PL011 UART, transmit side (the firmware or loader has set
//! the baud rate; cordon keeps it).

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_bitfields;
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite};

register_bitfields![u32,
    FR [
        /// Receive FIFO empty.
        RXFE OFFSET(4) NUMBITS(1) [],
        /// Transmit FIFO full.
        TXFF OFFSET(5) NUMBITS(1) [],
    ],
    IMSC [
        /// Receive and receive-timeout interrupts.
        RXIM OFFSET(4) NUMBITS(1) [],
        RTIM OFFSET(6) NUMBITS(1) [],
    ],
];

register_structs! {
    Pl011Registers {
        (0x000 => dr: ReadWrite<u32>),
        (0x004 => _reserved0),
        (0x018 => fr: ReadOnly<u32, FR::Register>),
        (0x01c => _reserved1),
        (0x038 => imsc: ReadWrite<u32, IMSC::Register>),
        (0x03c => @END),
    }
}

pub struct Pl011 {
    regs: *const Pl011Registers,
}

impl Pl011 {
    /// # Safety
    /// `base` must be the address of a PL011 mapped as device memory, used
    /// only through this driver.
    pub const unsafe fn new(base: usize) -> Self {
        Self {
            regs: base as *const Pl011Registers,
        }
    }

    fn regs(&self) -> &Pl011Registers {
        // SAFETY: `new`'s contract: `regs` points at the device's registers.
        unsafe { &*self.regs }
    }

    /// A received byte, if one is waiting.
    pub fn read_byte(&self) -> Option<u8> {
        (!self.regs().fr.is_set(FR::RXFE)).then(|| self.regs().dr.get() as u8)
    }

    /// Raise the UART's interrupt when input arrives.
    pub fn enable_input_interrupt(&self) {
        self.regs().imsc.write(IMSC::RXIM::SET + IMSC::RTIM::SET);
    }

    pub fn write_byte(&self, byte: u8) {
        while self.regs().fr.is_set(FR::TXFF) {
            core::hint::spin_loop();
        }
        self.regs().dr.set(byte as u32);
    }
}
