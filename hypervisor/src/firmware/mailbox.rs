//! The VideoCore mailbox (`brcm,bcm2835-mbox`): cordon writes the bus
//! address of a message to the ARM-to-VideoCore mailbox; the firmware
//! answers in the same buffer and writes the address back to the
//! VideoCore-to-ARM one.

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::registers::{ReadOnly, WriteOnly};
use tock_registers::{register_bitfields, register_structs};

use super::property::ClockRateMessage;
use crate::arch::aarch64::cpu;

register_bitfields![u32,
    STATUS [
        EMPTY OFFSET(30) NUMBITS(1) [],
        FULL OFFSET(31) NUMBITS(1) []
    ],
];

register_structs! {
    MailboxRegisters {
        /// VideoCore to ARM: replies.
        (0x00 => read: ReadOnly<u32>),
        (0x04 => _reserved0),
        (0x18 => read_status: ReadOnly<u32, STATUS::Register>),
        (0x1c => _reserved1),
        /// ARM to VideoCore: requests.
        (0x20 => write: WriteOnly<u32>),
        (0x24 => _reserved2),
        (0x38 => write_status: ReadOnly<u32, STATUS::Register>),
        (0x3c => _reserved3),
        (0x40 => @END),
    }
}

/// The channel of the property interface; a mailbox word is a 16-byte
/// aligned bus address with the channel in its low four bits.
const PROPERTY_CHANNEL: u32 = 8;
const CHANNEL_MASK: u32 = 0xf;
/// How long the firmware may take to answer, in milliseconds (it answers
/// a clock-rate request in microseconds).
const REPLY_TIMEOUT_MS: u64 = 100;
const MS_PER_S: u64 = 1000;

/// A message where the firmware can read it: 16-byte aligned for the
/// mailbox word, and alone in its cache lines (64 bytes on the Pi's
/// Cortex-A72), so that invalidating them after the reply discards
/// nothing else.
#[repr(C, align(64))]
pub struct MessageBuffer(pub ClockRateMessage);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MailboxError {
    /// The buffer's bus address does not fit a mailbox word.
    Unaddressable { bus: u64 },
    /// The mailbox stayed full, or no reply came, within the timeout.
    Timeout,
}

impl core::fmt::Display for MailboxError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Unaddressable { bus } => {
                write!(f, "bus address {bus:#x} does not fit a mailbox word")
            }
            Self::Timeout => write!(f, "no reply within {REPLY_TIMEOUT_MS} ms"),
        }
    }
}

pub struct Mailbox {
    regs: &'static MailboxRegisters,
}

impl Mailbox {
    /// # Safety
    /// `base` is the mailbox's CPU address, mapped as device memory in
    /// cordon's EL2 tables, and nothing else uses the mailbox meanwhile.
    pub unsafe fn new(base: u64) -> Self {
        // SAFETY: the caller's promise.
        Self {
            regs: unsafe { &*(base as *const MailboxRegisters) },
        }
    }

    /// Sends `buffer`, whose bus address is `bus`, to the property channel
    /// and waits for the firmware's reply in it.
    pub fn exchange(&self, buffer: &mut MessageBuffer, bus: u64) -> Result<(), MailboxError> {
        let word = u32::try_from(bus)
            .ok()
            .filter(|word| word & CHANNEL_MASK == 0)
            .ok_or(MailboxError::Unaddressable { bus })?;
        let address = buffer as *mut MessageBuffer as usize;
        let size = size_of::<MessageBuffer>();
        // The firmware reads memory, not this CPU's caches.
        cpu::clean_dcache_range(address, size);
        let deadline = Deadline::after_ms(REPLY_TIMEOUT_MS);
        while self.regs.write_status.is_set(STATUS::FULL) {
            deadline.check()?;
        }
        self.regs.write.set(word | PROPERTY_CHANNEL);
        loop {
            while self.regs.read_status.is_set(STATUS::EMPTY) {
                deadline.check()?;
            }
            if self.regs.read.get() == word | PROPERTY_CHANNEL {
                break;
            }
        }
        // SAFETY: the buffer is this function's to change; lines fetched
        // while the firmware wrote it are stale.
        unsafe { cpu::invalidate_dcache_range(address, size) };
        // SAFETY: a valid, aligned buffer; read from memory as the
        // firmware left it, not from what the compiler last stored.
        buffer.0 = unsafe { core::ptr::read_volatile(&raw const buffer.0) };
        Ok(())
    }
}

/// A point in time on the generic timer.
struct Deadline {
    at: u64,
}

impl Deadline {
    fn after_ms(ms: u64) -> Self {
        let (now, frequency) = cpu::counter();
        Self {
            at: now + frequency * ms / MS_PER_S,
        }
    }

    fn check(&self) -> Result<(), MailboxError> {
        match cpu::counter().0 > self.at {
            true => Err(MailboxError::Timeout),
            false => Ok(()),
        }
    }
}
