//! The probes, run in order. Each tries one way out of the VM and delivers
//! a verdict line; each must be able to report `ESCAPED` if cordon let the
//! attempt through.

mod cache;
mod calls;
mod delivery;
mod distributor;
mod el2;
mod exceptions;
mod fetch;
mod hypercalls;
mod memory;
mod pmu;
mod sgi;
mod stack;
mod sweep;
mod timer;
mod wait;

use core::fmt;

use crate::fault::Fault;
use crate::platform::Platform;
use crate::report::{Judge, Report, Verdict};

/// Written where a read gave nothing to write back ("hstl").
const MARKER: u32 = 0x6873_746c;

pub fn run_all(platform: &Platform, report: &mut Report) {
    memory::run(platform, report);
    sweep::run(platform, report);
    distributor::run(platform, report);
    calls::run(platform, report);
    timer::run(report);
    pmu::run(report);
    fetch::run(platform, report);
    hypercalls::run(report);
    sgi::run(platform, report);
    el2::run(report);
    cache::run(report);
    wait::run(platform, report);
    exceptions::run(report);
    stack::run(platform, report);
}

/// The verdict on an access to `addr` that faulted: contained if it is the
/// data abort of a refused access; otherwise the access never reached
/// cordon's check, so the probe proved nothing, which must not pass.
fn judge_fault(judge: Judge, access: fmt::Arguments, addr: u64, fault: Fault) -> Verdict {
    if fault.is_data_abort_at(addr) {
        judge.contained(format_args!("{access}: {fault}"))
    } else {
        judge.escaped(format_args!(
            "{access}: unexpected {fault}; the probe did not test isolation"
        ))
    }
}
