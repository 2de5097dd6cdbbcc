//! The performance monitors must not count what happens in cordon: with
//! the cycle counter filtered to EL2 only (PMCCFILTR_EL0: P and U set to
//! exclude EL1 and EL0, NSH set to include EL2), a few HVCs — cordon
//! running on this CPU — must not move it. Otherwise the VM can time the
//! hypervisor (a side channel; on a shared CPU, into other VMs' exits).
//!
//! cordon can prevent it with MDCR_EL2.HPMD (PMUv3p1 and later) or by
//! trapping PMU accesses (MDCR_EL2.TPM) and masking NSH.

use crate::attempt::{read_sysreg, write_sysreg};
use crate::report::Report;
use crate::smccc::{self, Conduit, PSCI_VERSION};

/// PMCCFILTR_EL0: do not count at EL1 (P), at EL0 (U); count at EL2 (NSH).
const FILTER_P: u64 = 1 << 31;
const FILTER_U: u64 = 1 << 30;
const FILTER_NSH: u64 = 1 << 27;
const NO_FILTER: u64 = 0;
/// PMCR_EL0: counters enabled (E), cycle counter reset (C).
const PMCR_E: u64 = 1 << 0;
const PMCR_C: u64 = 1 << 2;
const PMCR_OFF: u64 = 0;
/// PMCNTENSET_EL0 / PMCNTENCLR_EL0: the cycle counter.
const CYCLE_COUNTER: u64 = 1 << 31;
/// How many times cordon runs while the counter watches.
const HVC_ROUNDS: usize = 100;

pub fn run(report: &mut Report) {
    report.probe("pmu-count-el2-cycles", |judge| {
        let setup = write_sysreg!("pmccfiltr_el0", FILTER_P | FILTER_U | FILTER_NSH)
            .and_then(|()| write_sysreg!("pmcntenset_el0", CYCLE_COUNTER))
            .and_then(|()| write_sysreg!("pmcr_el0", PMCR_E | PMCR_C));
        if let Err(fault) = setup {
            return judge.contained(format_args!("setting up the cycle counter: {fault}"));
        }
        let before = read_sysreg!("pmccntr_el0");
        for _ in 0..HVC_ROUNDS {
            // Only the time cordon takes to answer matters, not the answer.
            let _ = smccc::call(Conduit::Hvc, PSCI_VERSION, [0; 3]);
        }
        let after = read_sysreg!("pmccntr_el0");
        // Undoing is best effort: its outcome changes no verdict.
        let _ = write_sysreg!("pmcntenclr_el0", CYCLE_COUNTER);
        let _ = write_sysreg!("pmccfiltr_el0", NO_FILTER);
        let _ = write_sysreg!("pmcr_el0", PMCR_OFF);
        match (before, after) {
            (Ok(before), Ok(after)) => judge.verdict(
                after == before,
                format_args!(
                    "cycle counter filtered to EL2 went from {before} to {after} over \
                     {HVC_ROUNDS} HVCs"
                ),
            ),
            (Err(fault), _) | (_, Err(fault)) => {
                judge.contained(format_args!("reading the cycle counter: {fault}"))
            }
        }
    });
}
