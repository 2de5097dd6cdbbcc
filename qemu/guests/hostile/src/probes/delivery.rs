//! Whether an interrupt the VM does not own can be made to arrive: with
//! its distributor and (virtual) CPU interface on, the VM routes, enables
//! and pends the foreign SPI, then watches GICC_HPPIR for it. Register
//! read-back alone cannot tell: an emulated distributor may answer 0 while
//! the physical GIC did what was asked.

use core::fmt;

use crate::attempt;
use crate::counter;
use crate::gic::{
    GICC_CTLR, GICC_CTLR_ENABLE_BOTH_GROUPS, GICC_HPPIR, GICC_PMR, GICD_CTLR, GICD_CTLR_ENABLE,
    GICD_ICENABLER, GICD_ICPENDR, GICD_ISENABLER, GICD_ISPENDR, INTID_MASK, NO_TARGETS, PMR_ALL,
    TARGET_CPU_0, bit_of, targets_of,
};
use crate::platform::Platform;
use crate::report::Report;

/// How long to watch for the interrupt.
const WAIT_MICROS: u64 = 20_000;
const MICROS_PER_MILLI: u64 = 1000;
/// GICD_CTLR and GICC_CTLR values: off.
const DISABLED: u32 = 0;

/// A register's value for a verdict line: in hex, or "faulted".
struct Register(Option<u32>);

impl fmt::Display for Register {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(value) => write!(f, "{value:#x}"),
            None => write!(f, "faulted"),
        }
    }
}

pub fn run(platform: &Platform, report: &mut Report, intid: u32) {
    let (gicd, gicc) = (platform.gicd.start, platform.gicc.start);
    let (enable, bit) = bit_of(gicd, GICD_ISENABLER, intid);
    let pend = bit_of(gicd, GICD_ISPENDR, intid).0;
    report.probe("gicd-foreign-spi-delivery", |judge| {
        // Every step is best effort: a refused one only makes arrival less
        // likely, and arrival is what is judged.
        let _ = attempt::write32(gicc + GICC_PMR, PMR_ALL);
        let _ = attempt::write32(gicc + GICC_CTLR, GICC_CTLR_ENABLE_BOTH_GROUPS);
        let _ = attempt::write32(gicd + GICD_CTLR, GICD_CTLR_ENABLE);
        let _ = attempt::write8(targets_of(gicd, intid), TARGET_CPU_0);
        let _ = attempt::write32(enable, bit);
        let _ = attempt::write32(pend, bit);
        let mut last = None;
        let arrived = counter::poll_for(WAIT_MICROS, || {
            last = attempt::read32(gicc + GICC_HPPIR).ok();
            let pending = last? & INTID_MASK;
            (pending == intid).then_some(pending)
        });
        let _ = attempt::write32(bit_of(gicd, GICD_ICPENDR, intid).0, bit);
        let _ = attempt::write32(bit_of(gicd, GICD_ICENABLER, intid).0, bit);
        let _ = attempt::write8(targets_of(gicd, intid), NO_TARGETS);
        let _ = attempt::write32(gicd + GICD_CTLR, DISABLED);
        let _ = attempt::write32(gicc + GICC_CTLR, DISABLED);
        match arrived {
            Some(_) => judge.escaped(format_args!(
                "routed, enabled and pended INTID {intid}: it arrived at the CPU interface \
                 (GICC_HPPIR)"
            )),
            None => judge.contained(format_args!(
                "routed, enabled and pended INTID {intid}: not pending at the CPU interface \
                 within {} ms (GICC_HPPIR last read {})",
                WAIT_MICROS / MICROS_PER_MILLI,
                Register(last),
            )),
        }
    });
}
