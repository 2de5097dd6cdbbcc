//! BCM2835 auxiliary mini-UART, transmit side. The firmware enables it (AUX
//! enable bit and baud rate) when it is the console.

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_bitfields;
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite};

register_bitfields![u32,
    IER [
        /// Interrupt when the receive FIFO holds data.
        RX OFFSET(0) NUMBITS(1) [],
    ],
    LSR [
        /// The receive FIFO holds at least one byte.
        DATA_READY OFFSET(0) NUMBITS(1) [],
        /// The transmit FIFO can accept at least one byte.
        TX_EMPTY OFFSET(5) NUMBITS(1) [],
    ],
];

register_structs! {
    MiniUartRegisters {
        (0x00 => io: ReadWrite<u32>),
        (0x04 => ier: ReadWrite<u32, IER::Register>),
        (0x08 => _reserved0),
        (0x14 => lsr: ReadOnly<u32, LSR::Register>),
        (0x18 => @END),
    }
}

pub struct MiniUart {
    regs: *const MiniUartRegisters,
}

impl MiniUart {
    /// # Safety
    /// `base` must be the address of the mini-UART's `AUX_MU_IO` register,
    /// mapped as device memory, used only through this driver.
    pub const unsafe fn new(base: usize) -> Self {
        Self {
            regs: base as *const MiniUartRegisters,
        }
    }

    fn regs(&self) -> &MiniUartRegisters {
        // SAFETY: `new`'s contract: `regs` points at the device's registers.
        unsafe { &*self.regs }
    }

    /// A received byte, if one is waiting.
    pub fn read_byte(&self) -> Option<u8> {
        self.regs()
            .lsr
            .is_set(LSR::DATA_READY)
            .then(|| self.regs().io.get() as u8)
    }

    /// Raise the UART's interrupt when input arrives.
    pub fn enable_input_interrupt(&self) {
        self.regs().ier.write(IER::RX::SET);
    }

    pub fn write_byte(&self, byte: u8) {
        while !self.regs().lsr.is_set(LSR::TX_EMPTY) {
            core::hint::spin_loop();
        }
        self.regs().io.set(byte as u32);
    }
}
