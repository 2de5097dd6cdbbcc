//! GICv2 distributor (GICD).

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_bitfields;
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};

use super::{PRIVATE_COUNT, frames};

register_bitfields![u32,
    CTLR [ENABLE OFFSET(0) NUMBITS(1) []],
    TYPER [IT_LINES OFFSET(0) NUMBITS(5) []],
    SGIR [
        TARGET_FILTER OFFSET(24) NUMBITS(2) [List = 0],
        TARGET_LIST OFFSET(16) NUMBITS(8) [],
        INTID OFFSET(0) NUMBITS(4) []
    ],
];

register_structs! {
    pub DistributorRegisters {
        (0x000 => ctlr: ReadWrite<u32, CTLR::Register>),
        (0x004 => typer: ReadOnly<u32, TYPER::Register>),
        (0x008 => iidr: ReadOnly<u32>),
        (0x00c => _reserved0),
        (0x100 => isenabler: [ReadWrite<u32>; 32]),
        (0x180 => icenabler: [ReadWrite<u32>; 32]),
        (0x200 => ispendr: [ReadWrite<u32>; 32]),
        (0x280 => icpendr: [ReadWrite<u32>; 32]),
        (0x300 => _reserved1),
        (0x380 => icactiver: [ReadWrite<u32>; 32]),
        (0x400 => ipriorityr: [ReadWrite<u8>; 1024]),
        (0x800 => itargetsr: [ReadWrite<u8>; 1024]),
        (0xc00 => icfgr: [ReadWrite<u32>; 64]),
        (0xd00 => _reserved2),
        (0xf00 => sgir: WriteOnly<u32, SGIR::Register>),
        (0xf04 => _reserved3),
        (0x1000 => @END),
    }
}

/// ICFGR: two bits per interrupt; the upper one set means edge-triggered.
const ICFGR_EDGE: u32 = 0b10;

pub struct Distributor {
    regs: &'static DistributorRegisters,
}

pub fn get() -> Distributor {
    // SAFETY: the board's GICD address is mapped as device memory in
    // cordon's EL2 tables and only reached through this type.
    Distributor {
        regs: unsafe { &*(frames().gicd as *const DistributorRegisters) },
    }
}

fn word_bit(irq: u32) -> (usize, u32) {
    ((irq / 32) as usize, 1 << (irq % 32))
}

impl Distributor {
    /// Interrupt IDs the distributor implements (a multiple of 32).
    pub fn irq_count(&self) -> u32 {
        (self.regs.typer.read(TYPER::IT_LINES) + 1) * 32
    }

    pub fn iidr(&self) -> u32 {
        self.regs.iidr.get()
    }

    pub(super) fn init(&self, priority: u8) {
        self.regs.ctlr.set(0);
        for irq in (PRIVATE_COUNT..self.irq_count()).step_by(32) {
            let (word, _) = word_bit(irq);
            self.regs.icenabler[word].set(u32::MAX);
            self.regs.icpendr[word].set(u32::MAX);
            self.regs.icactiver[word].set(u32::MAX);
        }
        for irq in PRIVATE_COUNT..self.irq_count() {
            self.regs.ipriorityr[irq as usize].set(priority);
            self.regs.itargetsr[irq as usize].set(0);
        }
        self.regs.ctlr.write(CTLR::ENABLE::SET);
    }

    /// Sets up this CPU's banked SGI/PPI registers; returns its CPU interface
    /// mask (ITARGETSR of a private interrupt reads as the CPU's own bit).
    pub(super) fn init_private(&self, priority: u8) -> u8 {
        self.regs.icenabler[0].set(u32::MAX);
        self.regs.icpendr[0].set(u32::MAX);
        self.regs.icactiver[0].set(u32::MAX);
        for irq in 0..PRIVATE_COUNT {
            self.regs.ipriorityr[irq as usize].set(priority);
        }
        self.regs.itargetsr[0].get()
    }

    pub fn enable(&self, irq: u32) {
        let (word, bit) = word_bit(irq);
        self.regs.isenabler[word].set(bit);
    }

    pub fn disable(&self, irq: u32) {
        let (word, bit) = word_bit(irq);
        self.regs.icenabler[word].set(bit);
    }

    pub fn set_pending(&self, irq: u32) {
        let (word, bit) = word_bit(irq);
        self.regs.ispendr[word].set(bit);
    }

    pub fn clear_pending(&self, irq: u32) {
        let (word, bit) = word_bit(irq);
        self.regs.icpendr[word].set(bit);
    }

    /// Deactivates `irq` (for a private interrupt: on this CPU).
    pub fn clear_active(&self, irq: u32) {
        let (word, bit) = word_bit(irq);
        self.regs.icactiver[word].set(bit);
    }

    /// Routes SPI `irq` to the CPU interfaces in `mask`.
    pub fn set_targets(&self, irq: u32, mask: u8) {
        self.regs.itargetsr[irq as usize].set(mask);
    }

    pub fn set_edge_triggered(&self, irq: u32, edge: bool) {
        let word = (irq / 16) as usize;
        let shift = (irq % 16) * 2;
        let value = self.regs.icfgr[word].get();
        let value = if edge {
            value | (ICFGR_EDGE << shift)
        } else {
            value & !(ICFGR_EDGE << shift)
        };
        self.regs.icfgr[word].set(value);
    }

    /// Sends SGI `sgi` to the CPU interfaces in `targets`.
    pub fn send_sgi(&self, sgi: u32, targets: u8) {
        self.regs.sgir.write(
            SGIR::TARGET_FILTER::List
                + SGIR::TARGET_LIST.val(targets as u32)
                + SGIR::INTID.val(sgi),
        );
    }
}
