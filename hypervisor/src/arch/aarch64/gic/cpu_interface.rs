//! GICv2 CPU interface (GICC), banked per CPU.

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_bitfields;
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};

use super::frames;

register_bitfields![u32,
    CTLR [
        /// Signal interrupts (group 1 in the non-secure view; group 0 on a
        /// GIC without security extensions — bit 0 either way).
        ENABLE OFFSET(0) NUMBITS(1) [],
        /// Split priority drop (EOIR) from deactivation (DIR).
        EOI_MODE OFFSET(9) NUMBITS(1) []
    ],
];

register_structs! {
    pub CpuInterfaceRegisters {
        (0x000 => ctlr: ReadWrite<u32, CTLR::Register>),
        (0x004 => pmr: ReadWrite<u32>),
        (0x008 => bpr: ReadWrite<u32>),
        (0x00c => iar: ReadOnly<u32>),
        (0x010 => eoir: WriteOnly<u32>),
        (0x014 => _reserved0),
        (0x1000 => dir: WriteOnly<u32>),
        (0x1004 => @END),
    }
}

/// Lowest priority mask: let every priority through.
const PRIORITY_MASK_ALL: u32 = 0xff;
/// IAR/EOIR interrupt ID field.
const INTID_MASK: u32 = 0x3ff;

pub struct CpuInterface {
    regs: &'static CpuInterfaceRegisters,
}

pub fn get() -> CpuInterface {
    // SAFETY: the board's GICC address is mapped as device memory in
    // cordon's EL2 tables; the frame is banked per CPU.
    CpuInterface {
        regs: unsafe { &*(frames().gicc as *const CpuInterfaceRegisters) },
    }
}

/// An acknowledged interrupt: the raw IAR value (ID plus source CPU for SGIs).
#[derive(Clone, Copy)]
pub struct Acknowledged(u32);

impl Acknowledged {
    pub fn id(self) -> u32 {
        self.0 & INTID_MASK
    }
}

impl CpuInterface {
    pub(super) fn init(&self) {
        self.regs.pmr.set(PRIORITY_MASK_ALL);
        self.regs.bpr.set(0);
        self.regs
            .ctlr
            .write(CTLR::ENABLE::SET + CTLR::EOI_MODE::SET);
    }

    /// The highest-priority pending interrupt, now active; `None` if none.
    pub fn acknowledge(&self) -> Option<Acknowledged> {
        let iar = self.regs.iar.get();
        ((iar & INTID_MASK) < super::SPECIAL_ID_START).then_some(Acknowledged(iar))
    }

    /// Drops the running priority (the interrupt stays active).
    pub fn end_of_interrupt(&self, irq: Acknowledged) {
        self.regs.eoir.set(irq.0);
    }

    /// Deactivates an interrupt cordon handled itself.
    pub fn deactivate(&self, irq: Acknowledged) {
        self.regs.dir.set(irq.0);
    }
}
