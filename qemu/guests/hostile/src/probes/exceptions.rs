//! A storm of exceptions: 10000 `udf` (UNDEF by the architecture, taken at
//! EL1 without cordon) and 10000 reads of CNTP_CTL_EL0 (trapped to cordon,
//! which injects an UNDEF), in turn, each caught by the guest's vectors and
//! skipped. Contained if all 20000 are UNDEFs at the instruction that
//! took them and the storm completes.

use core::fmt;

use crate::attempt;
use crate::counter;
use crate::fault::Fault;
use crate::report::Report;

/// Rounds, each one `udf` and one trapped read.
const ROUNDS: u32 = 10_000;

/// The first instruction that did not take its UNDEF, and what it did.
enum Wrong {
    Returned,
    Fault(Fault),
    /// The UNDEF named another instruction (ELR).
    Elsewhere(Fault, u64),
}

impl fmt::Display for Wrong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Returned => write!(f, "returned without an exception"),
            Self::Fault(fault) => write!(f, "took {fault}"),
            Self::Elsewhere(fault, at) => {
                write!(f, "took {fault} naming {:#x}, not {at:#x}", fault.elr)
            }
        }
    }
}

/// Whether the instruction at `at` took an UNDEF there.
fn judge<T>(at: u64, result: Result<T, Fault>) -> Option<Wrong> {
    match result {
        Ok(_) => Some(Wrong::Returned),
        Err(fault) if !fault.is_undefined() => Some(Wrong::Fault(fault)),
        Err(fault) if fault.elr != at => Some(Wrong::Elsewhere(fault, at)),
        Err(_) => None,
    }
}

pub fn run(report: &mut Report) {
    report.probe("exception-storm", |verdict| {
        let start = counter::now();
        let mut first_wrong = None;
        let mut wrong = 0u32;
        for _ in 0..ROUNDS {
            let (at, result) = attempt::undefined();
            let udf = judge(at, result).map(|w| ("udf", w));
            let (at, result) = attempt::read_cntp_ctl();
            let trapped = judge(at, result).map(|w| ("mrs cntp_ctl_el0", w));
            for problem in [udf, trapped].into_iter().flatten() {
                wrong += 1;
                first_wrong.get_or_insert(problem);
            }
        }
        let millis = counter::millis_since(start);
        match first_wrong {
            None => verdict.contained(format_args!(
                "{ROUNDS} udf and {ROUNDS} trapped CNTP_CTL_EL0 reads in {millis} ms: every one \
                 an UNDEF at its own address, caught and skipped"
            )),
            Some((insn, problem)) => verdict.escaped(format_args!(
                "{wrong} of {} instructions went wrong; the first {insn} {problem}",
                2 * ROUNDS
            )),
        }
    });
}
