//! EL2's own registers, read from EL1: HCR_EL2 (the guest's controls) and
//! VBAR_EL2 (where cordon's vectors are). Without FEAT_NV the architecture
//! makes these UNDEF at EL1 (with it, cordon would trap them and must
//! refuse them the same way).

use core::fmt;

use crate::attempt::read_sysreg;
use crate::fault::Fault;
use crate::report::Report;

/// One read: the register's name and what it did.
struct Read(&'static str, Result<u64, Fault>);

impl fmt::Display for Read {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Ok(value) => write!(f, "{} read {value:#x}", self.0),
            Err(fault) => write!(f, "reading {}: {fault}", self.0),
        }
    }
}

impl Read {
    fn refused(&self) -> bool {
        self.1.is_err_and(|fault| fault.is_undefined())
    }
}

pub fn run(report: &mut Report) {
    report.probe("el2-register-access", |judge| {
        // By encoding (op0, op1, CRn, CRm, op2), which any assembler takes
        // whatever the exception level it assembles for.
        let hcr = Read("HCR_EL2", read_sysreg!("S3_4_C1_C1_0"));
        let vbar = Read("VBAR_EL2", read_sysreg!("S3_4_C12_C0_0"));
        judge.verdict(
            hcr.refused() && vbar.refused(),
            format_args!("{hcr}; {vbar}"),
        )
    });
}
