//! SGIs to CPUs the VM does not have: a 1-vCPU VM writes GICD_SGIR with
//! the target list 0xfe (CPU interfaces 1-7) and with the filter "all but
//! self". cordon must ignore both writes (no fault) and only the VM's own
//! vCPUs may receive SGIs, so nothing may arrive at its CPU interface. An
//! SGI to itself ("self" filter), sent last, shows that arrivals are seen.
//!
//! Whether another VM's CPU received something cannot be seen from here;
//! the neighbour's heartbeat (heartbeat mode) covers that.

use crate::attempt;
use crate::counter::{self, MICROS_PER_MILLI};
use crate::gic::{
    GICD_SGIR, Gic, IAR_SOURCE_MASK, IAR_SOURCE_SHIFT, INTID_MASK, SGIR_FILTER_ALL_BUT_SELF,
    SGIR_FILTER_LIST, SGIR_FILTER_SELF, SGIR_FILTER_SHIFT, SGIR_TARGETS_SHIFT,
};
use crate::platform::Platform;
use crate::report::Report;

const NAME: &str = "sgi-to-foreign-cpus";
/// The SGIs sent to the target list, to all but self, and to self.
const LIST_SGI: u32 = 1;
const ALL_BUT_SELF_SGI: u32 = 2;
const SELF_SGI: u32 = 3;
/// CPU interfaces 1 to 7: all that a 1-vCPU VM does not have.
const FOREIGN_TARGETS: u32 = 0xfe;
/// No target list (the filter says where the SGI goes).
const NO_LIST: u32 = 0;
/// SGIs are INTIDs 0 to 15.
const SGI_COUNT: u32 = 16;
/// How long to watch for arrivals.
const WAIT_MICROS: u64 = 10_000;

fn sgir(filter: u32, targets: u32, sgi: u32) -> u32 {
    (filter << SGIR_FILTER_SHIFT) | (targets << SGIR_TARGETS_SHIFT) | sgi
}

/// What arrived at the CPU interface.
#[derive(Default)]
struct Arrivals {
    /// SGIs, a bit each.
    sgis: u16,
    /// The CPU the SGI to self came from.
    self_source: Option<u32>,
    /// Interrupts that are not SGIs.
    others: u32,
}

impl Arrivals {
    fn add(&mut self, iar: u32) {
        let id = iar & INTID_MASK;
        if id >= SGI_COUNT {
            self.others += 1;
            return;
        }
        self.sgis |= 1 << id;
        if id == SELF_SGI {
            self.self_source = Some((iar >> IAR_SOURCE_SHIFT) & IAR_SOURCE_MASK);
        }
    }

    fn has(&self, sgi: u32) -> bool {
        self.sgis & (1 << sgi) != 0
    }
}

pub fn run(platform: &Platform, report: &mut Report) {
    if platform.cpu_count() != 1 {
        report.skip(
            NAME,
            format_args!("needs a 1-vCPU VM, this one has {}", platform.cpu_count()),
        );
        return;
    }
    report.probe(NAME, |judge| {
        let gic = Gic::open(platform);
        let sgir_addr = gic.distributor() + GICD_SGIR;
        // Anything pending already is not the probe's doing.
        let mut before = 0;
        while let Some(iar) = gic.acknowledge() {
            gic.end(iar);
            before += 1;
        }
        let writes = [
            sgir(SGIR_FILTER_LIST, FOREIGN_TARGETS, LIST_SGI),
            sgir(SGIR_FILTER_ALL_BUT_SELF, NO_LIST, ALL_BUT_SELF_SGI),
            sgir(SGIR_FILTER_SELF, NO_LIST, SELF_SGI),
        ];
        let faulted = writes
            .iter()
            .find_map(|&value| attempt::write32(sgir_addr, value).err().map(|f| (value, f)));
        let mut arrivals = Arrivals::default();
        counter::poll_for(WAIT_MICROS, || {
            while let Some(iar) = gic.acknowledge() {
                arrivals.add(iar);
                gic.end(iar);
            }
            None::<()>
        });
        gic.close();
        let sent = format_args!(
            "GICD_SGIR: SGI {LIST_SGI} to target list {FOREIGN_TARGETS:#x}, SGI \
             {ALL_BUT_SELF_SGI} to all but self, SGI {SELF_SGI} to self"
        );
        let watched = WAIT_MICROS / MICROS_PER_MILLI;
        if let Some((value, fault)) = faulted {
            judge.escaped(format_args!(
                "{sent}: writing {value:#x} took {fault} instead of being ignored"
            ))
        } else if arrivals.has(LIST_SGI) || arrivals.has(ALL_BUT_SELF_SGI) {
            judge.escaped(format_args!(
                "{sent}: SGIs {:#06x} (a bit each) arrived within {watched} ms; a 1-vCPU VM \
                 must get none but SGI {SELF_SGI}",
                arrivals.sgis
            ))
        } else if arrivals.self_source != Some(0) {
            judge.escaped(format_args!(
                "{sent}: SGI {SELF_SGI} did not arrive from CPU 0 within {watched} ms (source \
                 {:?}): arrivals are not seen, the probe proved nothing",
                arrivals.self_source
            ))
        } else {
            judge.contained(format_args!(
                "{sent}: no fault; within {watched} ms only SGI {SELF_SGI} arrived, from CPU 0 \
                 (SGIs {:#06x}, {} other interrupts; {before} pending before)",
                arrivals.sgis, arrivals.others
            ))
        }
    });
}
