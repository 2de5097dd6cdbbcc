//! GICv2 registers the distributor probes use.

/// Distributor register offsets.
pub const GICD_CTLR: u64 = 0x000;
pub const GICD_TYPER: u64 = 0x004;
pub const GICD_ISENABLER: u64 = 0x100;
pub const GICD_ICENABLER: u64 = 0x180;
pub const GICD_ISPENDR: u64 = 0x200;
pub const GICD_ICPENDR: u64 = 0x280;
const GICD_ITARGETSR: u64 = 0x800;
/// GICD_CTLR: forwarding of interrupts to CPU interfaces on.
pub const GICD_CTLR_ENABLE: u32 = 1;
/// GICD_TYPER.CPUNumber: CPU interfaces minus one.
pub const TYPER_CPU_NUMBER_SHIFT: u32 = 5;
pub const TYPER_CPU_NUMBER_MASK: u32 = 0b111;
/// ITARGETSR byte values: CPU interface 0; none.
pub const TARGET_CPU_0: u8 = 1;
pub const NO_TARGETS: u8 = 0;

/// CPU interface register offsets.
pub const GICC_CTLR: u64 = 0x000;
pub const GICC_PMR: u64 = 0x004;
pub const GICC_HPPIR: u64 = 0x018;
/// GICC_CTLR: signalling of group 0 and group 1 interrupts on.
pub const GICC_CTLR_ENABLE_BOTH_GROUPS: u32 = 0b11;
/// GICC_PMR: let interrupts of every priority through.
pub const PMR_ALL: u32 = 0xff;
/// GICC_HPPIR (and IAR) interrupt ID field.
pub const INTID_MASK: u32 = 0x3ff;

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
