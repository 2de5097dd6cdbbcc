//! Data cache maintenance by set/way (DC ISW, CSW, CISW) on a few sets and
//! ways of the level 1 data cache. Carried out, it would act on lines of
//! whatever memory the cache holds (an invalidate would drop others'
//! dirty data); cordon traps it (HCR_EL2.TSW) and skips it: every one must
//! return without a fault, and the VM must run on.

use core::arch::asm;

use crate::fault::{self, Fault, Recovery};
use crate::report::Report;

/// CSSELR_EL1: level 1 (Level, bits 3:1, is the level minus one), data or
/// unified (InD clear).
const CSSELR_L1_DATA: u64 = 0;
/// CCSIDR_EL1 (without FEAT_CCIDX): log2(line bytes) - 4, ways - 1, sets - 1.
const LINE_SIZE_MASK: u64 = 0b111;
const LINE_SIZE_BIAS: u64 = 4;
const ASSOCIATIVITY_SHIFT: u32 = 3;
const ASSOCIATIVITY_MASK: u64 = 0x3ff;
const NUM_SETS_SHIFT: u32 = 13;
const NUM_SETS_MASK: u64 = 0x7fff;
/// DC xSW operands hold the way in the top bits of 32.
const OPERAND_BITS: u32 = 32;
/// How many sets and ways to try (or fewer, if the cache has fewer).
const SETS_TRIED: u64 = 4;
const WAYS_TRIED: u64 = 4;

#[derive(Clone, Copy)]
enum Operation {
    Invalidate,
    Clean,
    CleanInvalidate,
}

const OPERATIONS: [Operation; 3] = [
    Operation::Invalidate,
    Operation::Clean,
    Operation::CleanInvalidate,
];

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Self::Invalidate => "dc isw",
            Self::Clean => "dc csw",
            Self::CleanInvalidate => "dc cisw",
        }
    }

    /// Runs it on the set and way `operand` names.
    fn run(self, operand: u64) -> Result<(), Fault> {
        fault::expect(Recovery::SkipInstruction, || match self {
            // SAFETY: set/way maintenance changes no memory the guest can
            // see (its caches are off); cordon traps it, and a fault is
            // skipped.
            Self::Invalidate => unsafe { asm!("dc isw, {}", in(reg) operand, options(nostack)) },
            // SAFETY: as above.
            Self::Clean => unsafe { asm!("dc csw, {}", in(reg) operand, options(nostack)) },
            // SAFETY: as above.
            Self::CleanInvalidate => unsafe {
                asm!("dc cisw, {}", in(reg) operand, options(nostack))
            },
        })
    }
}

/// The level 1 data cache's shape.
struct Geometry {
    line_shift: u32,
    ways: u64,
    sets: u64,
}

impl Geometry {
    fn level1_data() -> Self {
        let ccsidr: u64;
        // SAFETY: selecting a cache and reading its shape changes nothing
        // else (neither is trapped).
        unsafe {
            asm!(
                "msr csselr_el1, {select}",
                "isb",
                "mrs {ccsidr}, ccsidr_el1",
                select = in(reg) CSSELR_L1_DATA,
                ccsidr = out(reg) ccsidr,
                options(nomem, nostack, preserves_flags),
            )
        };
        Self {
            line_shift: ((ccsidr & LINE_SIZE_MASK) + LINE_SIZE_BIAS) as u32,
            ways: ((ccsidr >> ASSOCIATIVITY_SHIFT) & ASSOCIATIVITY_MASK) + 1,
            sets: ((ccsidr >> NUM_SETS_SHIFT) & NUM_SETS_MASK) + 1,
        }
    }

    /// The DC xSW operand for `set` and `way` of level 1.
    fn operand(&self, set: u64, way: u64) -> u64 {
        let way_bits = self.ways.next_power_of_two().trailing_zeros();
        let way = if way_bits == 0 {
            0
        } else {
            way << (OPERAND_BITS - way_bits)
        };
        way | (set << self.line_shift)
    }
}

pub fn run(report: &mut Report) {
    report.probe("set-way-maintenance", |judge| {
        let cache = Geometry::level1_data();
        let (sets, ways) = (SETS_TRIED.min(cache.sets), WAYS_TRIED.min(cache.ways));
        let mut done = 0;
        for set in 0..sets {
            for way in 0..ways {
                let operand = cache.operand(set, way);
                for operation in OPERATIONS {
                    if let Err(fault) = operation.run(operand) {
                        return judge.escaped(format_args!(
                            "{} {operand:#x} took {fault} after {done} returned",
                            operation.name()
                        ));
                    }
                    done += 1;
                }
            }
        }
        judge.contained(format_args!(
            "dc isw, csw, cisw on {sets} sets x {ways} ways of the L1 data cache ({} sets, \
             {} ways, {}-byte lines): all {done} returned without a fault",
            cache.sets,
            cache.ways,
            1u64 << cache.line_shift
        ))
    });
}
