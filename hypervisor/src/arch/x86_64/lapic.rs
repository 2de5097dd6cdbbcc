//! The local APIC in xAPIC mode (memory-mapped): its ID, enabling it, the
//! inter-processor interrupts that start other CPUs, letting the legacy
//! PIC's interrupts through its LINT0 pin (or not), and ending an
//! interrupt.

use spin::Once;
use tock_registers::interfaces::{ReadWriteable, Readable, Writeable};
use tock_registers::register_bitfields;
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};

register_bitfields![u32,
    ID [APIC_ID OFFSET(24) NUMBITS(8) []],
    SVR [
        VECTOR OFFSET(0) NUMBITS(8) [],
        APIC_ENABLE OFFSET(8) NUMBITS(1) []
    ],
    ICR_LOW [
        VECTOR OFFSET(0) NUMBITS(8) [],
        DELIVERY_MODE OFFSET(8) NUMBITS(3) [Init = 0b101, Startup = 0b110],
        DELIVERY_PENDING OFFSET(12) NUMBITS(1) [],
        LEVEL OFFSET(14) NUMBITS(1) [Deassert = 0, Assert = 1],
        TRIGGER OFFSET(15) NUMBITS(1) [Edge = 0, Level = 1]
    ],
    ICR_HIGH [DESTINATION OFFSET(24) NUMBITS(8) []],
    LVT [
        DELIVERY_MODE OFFSET(8) NUMBITS(3) [ExtInt = 0b111],
        TRIGGER OFFSET(15) NUMBITS(1) [Edge = 0, Level = 1],
        MASKED OFFSET(16) NUMBITS(1) []
    ],
];

register_structs! {
    pub LapicRegisters {
        (0x000 => _reserved0),
        (0x020 => id: ReadOnly<u32, ID::Register>),
        (0x024 => _reserved1),
        (0x0b0 => eoi: WriteOnly<u32>),
        (0x0b4 => _reserved_eoi),
        (0x0f0 => svr: ReadWrite<u32, SVR::Register>),
        (0x0f4 => _reserved2),
        (0x300 => icr_low: ReadWrite<u32, ICR_LOW::Register>),
        (0x304 => _reserved3),
        (0x310 => icr_high: ReadWrite<u32, ICR_HIGH::Register>),
        (0x314 => _reserved4),
        (0x350 => lint0: ReadWrite<u32, LVT::Register>),
        (0x354 => @END),
    }
}

/// The vector of spurious interrupts (its low 4 bits must be 1s on old
/// APICs), which no EOI ends.
pub const SPURIOUS_VECTOR: u32 = 0xff;
/// Highest APIC ID xAPIC mode can address.
pub const MAX_XAPIC_ID: u32 = 0xff;
/// What a write to the EOI register must hold.
const END_OF_INTERRUPT: u32 = 0;

/// The local APICs' address (the same on every CPU), from the MADT.
static ADDRESS: Once<u64> = Once::new();

/// Records where every CPU's local APIC is (the boot CPU, from the MADT).
///
/// # Safety
/// `address` must be the local APIC's register page, identity-mapped.
pub unsafe fn set_address(address: u64) {
    ADDRESS.call_once(|| address);
}

/// This CPU's local APIC, once the boot CPU recorded where it is.
pub fn this_cpu() -> Option<Lapic> {
    // SAFETY: `set_address`'s caller promised the address is the local
    // APIC's page; every CPU sees its own there.
    ADDRESS.get().map(|&address| unsafe { Lapic::new(address) })
}

/// The local APIC of the CPU that uses it (every CPU sees its own at the
/// same address).
pub struct Lapic {
    registers: &'static LapicRegisters,
}

impl Lapic {
    /// The local APIC at `address` (from the MADT).
    ///
    /// # Safety
    /// `address` must be the local APIC's register page, identity-mapped.
    pub unsafe fn new(address: u64) -> Self {
        // SAFETY: as the caller promised; the registers are MMIO, accessed
        // only through volatile tock-registers.
        let registers = unsafe { &*(address as *const LapicRegisters) };
        Self { registers }
    }

    /// This CPU's APIC ID.
    pub fn id(&self) -> u32 {
        self.registers.id.read(ID::APIC_ID)
    }

    /// Software-enables the APIC (needed to send and receive IPIs).
    pub fn enable(&self) {
        self.registers
            .svr
            .modify(SVR::APIC_ENABLE::SET + SVR::VECTOR.val(SPURIOUS_VECTOR));
    }

    /// Lets the legacy PIC's interrupts in through LINT0 (the "virtual
    /// wire"): the PIC then interrupts this CPU, which acknowledges at the
    /// PIC the vector the PIC gives.
    pub fn accept_pic_interrupts(&self) {
        self.registers
            .lint0
            .write(LVT::DELIVERY_MODE::ExtInt + LVT::TRIGGER::Edge + LVT::MASKED::CLEAR);
    }

    /// Keeps the legacy PIC's interrupts out (LINT0 masked), as every CPU
    /// does until a VM that owns the PIC runs on it.
    pub fn refuse_pic_interrupts(&self) {
        self.registers.lint0.modify(LVT::MASKED::SET);
    }

    /// Ends the interrupt in service, so that the next can come.
    pub fn end_of_interrupt(&self) {
        self.registers.eoi.set(END_OF_INTERRUPT);
    }

    /// Sends INIT to the CPU with APIC ID `apic_id`, then de-asserts it
    /// (older CPUs need the de-assert; newer ones ignore it).
    pub fn send_init(&self, apic_id: u32) {
        self.send(
            apic_id,
            ICR_LOW::DELIVERY_MODE::Init + ICR_LOW::LEVEL::Assert + ICR_LOW::TRIGGER::Level,
        );
        self.send(
            apic_id,
            ICR_LOW::DELIVERY_MODE::Init + ICR_LOW::LEVEL::Deassert + ICR_LOW::TRIGGER::Level,
        );
    }

    /// Sends a start-up IPI: the CPU starts in real mode at `page << 12`.
    pub fn send_startup(&self, apic_id: u32, page: u8) {
        self.send(
            apic_id,
            ICR_LOW::DELIVERY_MODE::Startup
                + ICR_LOW::LEVEL::Assert
                + ICR_LOW::VECTOR.val(u32::from(page)),
        );
    }

    fn send(
        &self,
        apic_id: u32,
        command: tock_registers::fields::FieldValue<u32, ICR_LOW::Register>,
    ) {
        self.registers
            .icr_high
            .write(ICR_HIGH::DESTINATION.val(apic_id));
        self.registers.icr_low.write(command);
        while self.registers.icr_low.is_set(ICR_LOW::DELIVERY_PENDING) {
            core::hint::spin_loop();
        }
    }
}
