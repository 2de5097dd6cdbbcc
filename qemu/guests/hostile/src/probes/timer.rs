//! The EL1 physical timer belongs to cordon: its registers must be UNDEF.

use core::fmt;

use crate::attempt::{read_sysreg, write_sysreg};
use crate::fault::Fault;
use crate::report::{Judge, Report, Verdict};

/// CNTP_CTL_EL0 value with the timer disabled.
const TIMER_OFF: u64 = 0;

pub fn run(report: &mut Report) {
    report.probe("cntp-ctl-read", |judge| {
        match read_sysreg!("cntp_ctl_el0") {
            Ok(value) => judge.escaped(format_args!("CNTP_CTL_EL0 read {value:#x}")),
            Err(fault) => undefined(judge, format_args!("reading CNTP_CTL_EL0"), fault),
        }
    });
    report.probe("cntp-ctl-write", |judge| {
        match write_sysreg!("cntp_ctl_el0", TIMER_OFF) {
            Ok(()) => judge.escaped(format_args!("CNTP_CTL_EL0 written")),
            Err(fault) => undefined(judge, format_args!("writing CNTP_CTL_EL0"), fault),
        }
    });
}

fn undefined(judge: Judge, access: fmt::Arguments, fault: Fault) -> Verdict {
    judge.verdict(fault.is_undefined(), format_args!("{access}: {fault}"))
}
