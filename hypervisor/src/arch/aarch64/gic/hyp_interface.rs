//! GICv2 virtual interface control (GICH), banked per CPU: the list
//! registers through which a vCPU receives virtual interrupts.

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_bitfields;
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite};

use super::frames;

register_bitfields![u32,
    HCR [
        ENABLE OFFSET(0) NUMBITS(1) [],
        /// Maintenance interrupt when at most one list register is in use.
        UNDERFLOW OFFSET(1) NUMBITS(1) []
    ],
    VTR [LIST_REGS OFFSET(0) NUMBITS(6) []],
];

register_structs! {
    pub HypInterfaceRegisters {
        (0x000 => hcr: ReadWrite<u32, HCR::Register>),
        (0x004 => vtr: ReadOnly<u32, VTR::Register>),
        (0x008 => vmcr: ReadWrite<u32>),
        (0x00c => _reserved0),
        (0x010 => misr: ReadOnly<u32>),
        (0x014 => _reserved1),
        (0x020 => eisr: [ReadOnly<u32>; 2]),
        (0x028 => _reserved3),
        (0x030 => elrsr: [ReadOnly<u32>; 2]),
        (0x038 => _reserved2),
        (0x100 => lr: [ReadWrite<u32>; 64]),
        (0x200 => @END),
    }
}

pub struct HypInterface {
    regs: &'static HypInterfaceRegisters,
}

pub fn get() -> HypInterface {
    // SAFETY: the board's GICH address is mapped as device memory in
    // cordon's EL2 tables; the frame is banked per CPU.
    HypInterface {
        regs: unsafe { &*(frames().gich as *const HypInterfaceRegisters) },
    }
}

impl HypInterface {
    pub(super) fn init(&self) {
        for lr in 0..self.list_registers() {
            self.regs.lr[lr].set(0);
        }
        self.regs.vmcr.set(0);
        self.regs.hcr.write(HCR::ENABLE::SET);
    }

    pub fn list_registers(&self) -> usize {
        self.regs.vtr.read(VTR::LIST_REGS) as usize + 1
    }

    /// Whether list register `lr` holds nothing (ELRSR bit set).
    pub fn is_empty(&self, lr: usize) -> bool {
        self.regs.elrsr[lr / 32].get() & (1 << (lr % 32)) != 0
    }

    /// List registers whose interrupt the guest EOId with maintenance
    /// requested (EISR); they keep the maintenance interrupt raised until
    /// rewritten.
    pub fn end_of_interrupt_status(&self) -> u64 {
        self.regs.eisr[0].get() as u64 | ((self.regs.eisr[1].get() as u64) << 32)
    }

    pub fn read(&self, lr: usize) -> u32 {
        self.regs.lr[lr].get()
    }

    pub fn write(&self, lr: usize, value: u32) {
        self.regs.lr[lr].set(value);
    }

    /// Asks for a maintenance interrupt once the list registers drain, so
    /// that waiting interrupts can move in.
    pub fn set_underflow_interrupt(&self, on: bool) {
        let underflow = if on {
            HCR::UNDERFLOW::SET
        } else {
            HCR::UNDERFLOW::CLEAR
        };
        self.regs.hcr.write(HCR::ENABLE::SET + underflow);
    }
}
