//! GICv2 registers: the distributor cordon emulates and the (virtual) CPU
//! interface the VM is given at its GICC address.

use crate::mmio;
use crate::platform::Platform;

/// Distributor register offsets.
pub const GICD_CTLR: u64 = 0x000;
pub const GICD_TYPER: u64 = 0x004;
pub const GICD_ISENABLER: u64 = 0x100;
pub const GICD_ICENABLER: u64 = 0x180;
pub const GICD_ISPENDR: u64 = 0x200;
pub const GICD_ICPENDR: u64 = 0x280;
const GICD_IPRIORITYR: u64 = 0x400;
const GICD_ITARGETSR: u64 = 0x800;
pub const GICD_SGIR: u64 = 0xf00;
/// GICD_CTLR: forwarding of interrupts to CPU interfaces on.
pub const GICD_CTLR_ENABLE: u32 = 1;
/// GICD_TYPER.CPUNumber: CPU interfaces minus one.
pub const TYPER_CPU_NUMBER_SHIFT: u32 = 5;
pub const TYPER_CPU_NUMBER_MASK: u32 = 0b111;
/// ITARGETSR byte values: CPU interface 0; none.
pub const TARGET_CPU_0: u8 = 1;
pub const NO_TARGETS: u8 = 0;
/// GICD_SGIR fields: the target list filter, the CPU target list, the SGI.
pub const SGIR_FILTER_SHIFT: u32 = 24;
pub const SGIR_TARGETS_SHIFT: u32 = 16;
/// Target list filters: the listed CPUs; all but the writer; the writer.
pub const SGIR_FILTER_LIST: u32 = 0b00;
pub const SGIR_FILTER_ALL_BUT_SELF: u32 = 0b01;
pub const SGIR_FILTER_SELF: u32 = 0b10;

/// CPU interface register offsets.
pub const GICC_CTLR: u64 = 0x000;
pub const GICC_PMR: u64 = 0x004;
pub const GICC_IAR: u64 = 0x00c;
pub const GICC_EOIR: u64 = 0x010;
pub const GICC_HPPIR: u64 = 0x018;
/// GICC_CTLR: signalling of group 0 and group 1 interrupts on.
pub const GICC_CTLR_ENABLE_BOTH_GROUPS: u32 = 0b11;
/// GICC_PMR: let interrupts of every priority through.
pub const PMR_ALL: u32 = 0xff;
/// GICC_HPPIR (and IAR) interrupt ID field.
pub const INTID_MASK: u32 = 0x3ff;
/// GICC_IAR of an SGI: the CPU that sent it.
pub const IAR_SOURCE_SHIFT: u32 = 10;
pub const IAR_SOURCE_MASK: u32 = 0b111;
/// The interrupt ID GICC_IAR reads when nothing is pending.
pub const SPURIOUS: u32 = 1023;

/// Bit-per-interrupt registers: 32 interrupts to a 4-byte word.
const INTERRUPTS_PER_WORD: u32 = 32;
const WORD_BYTES: u64 = 4;

/// Address and bit of `intid` in the bit-per-interrupt block at `block`.
pub fn bit_of(gicd: u64, block: u64, intid: u32) -> (u64, u32) {
    let word = u64::from(intid / INTERRUPTS_PER_WORD);
    (
        gicd + block + word * WORD_BYTES,
        1 << (intid % INTERRUPTS_PER_WORD),
    )
}

/// Address of `intid`'s ITARGETSR byte.
pub fn targets_of(gicd: u64, intid: u32) -> u64 {
    gicd + GICD_ITARGETSR + u64::from(intid)
}

/// Address of `intid`'s IPRIORITYR byte.
pub fn priority_of(gicd: u64, intid: u32) -> u64 {
    gicd + GICD_IPRIORITYR + u64::from(intid)
}

/// The VM's own GIC, used to take interrupts with IRQs masked: they are
/// acknowledged at GICC_IAR by polling (or after a WFI, which a pending
/// interrupt wakes even when PSTATE.I masks it). No vector ever runs.
pub struct Gic {
    gicd: u64,
    gicc: u64,
}

/// GICD_CTLR and GICC_CTLR values: off.
const DISABLED: u32 = 0;

impl Gic {
    /// Turns the distributor and the CPU interface on, every priority let
    /// through.
    pub fn open(platform: &Platform) -> Self {
        let gic = Self {
            gicd: platform.gicd.start,
            gicc: platform.gicc.start,
        };
        // SAFETY: the VM's own distributor (emulated by cordon) and CPU
        // interface, from its device tree; enabling them raises nothing
        // while IRQs are masked.
        unsafe {
            mmio::write32(gic.gicc + GICC_PMR, PMR_ALL);
            mmio::write32(gic.gicc + GICC_CTLR, GICC_CTLR_ENABLE_BOTH_GROUPS);
            mmio::write32(gic.gicd + GICD_CTLR, GICD_CTLR_ENABLE);
        }
        gic
    }

    pub fn distributor(&self) -> u64 {
        self.gicd
    }

    /// Enables `intid` (one the VM owns) at the distributor.
    pub fn enable(&self, intid: u32) {
        let (addr, bit) = bit_of(self.gicd, GICD_ISENABLER, intid);
        // SAFETY: as for `open`; the register is the VM's own.
        unsafe { mmio::write32(addr, bit) };
    }

    pub fn disable(&self, intid: u32) {
        let (addr, bit) = bit_of(self.gicd, GICD_ICENABLER, intid);
        // SAFETY: as for `enable`.
        unsafe { mmio::write32(addr, bit) };
    }

    /// Acknowledges the highest-priority pending interrupt: GICC_IAR, or
    /// `None` if nothing is pending. Each must be [`end`](Self::end)ed.
    pub fn acknowledge(&self) -> Option<u32> {
        // SAFETY: the VM's own CPU interface; acknowledging is what the
        // caller asked for.
        let iar = unsafe { mmio::read32(self.gicc + GICC_IAR) };
        (iar & INTID_MASK != SPURIOUS).then_some(iar)
    }

    /// Ends (drops the priority of and deactivates) an acknowledged
    /// interrupt, given its GICC_IAR value.
    pub fn end(&self, iar: u32) {
        // SAFETY: as for `acknowledge`.
        unsafe { mmio::write32(self.gicc + GICC_EOIR, iar) };
    }

    /// Turns the distributor and the CPU interface off again.
    pub fn close(self) {
        // SAFETY: as for `open`.
        unsafe {
            mmio::write32(self.gicd + GICD_CTLR, DISABLED);
            mmio::write32(self.gicc + GICC_CTLR, DISABLED);
        }
    }
}
