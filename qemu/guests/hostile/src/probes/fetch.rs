//! Executing memory the VM was not given: a branch into cordon's image.
//!
//! A refused fetch faults at the target itself. cordon's image starts with
//! an Image header whose first word is a branch, so a fetch that got
//! through would run on and fault (if at all) somewhere else.

use crate::attempt;
use crate::platform::Platform;
use crate::qemu_virt;
use crate::report::Report;

pub fn run(platform: &Platform, report: &mut Report) {
    let target = qemu_virt::CORDON_IMAGE;
    if platform.ram.contains(target) {
        report.skip(
            "fetch-cordon-image",
            format_args!("{target:#x} is in its own RAM"),
        );
        return;
    }
    report.probe("fetch-cordon-image", |judge| {
        match attempt::branch_to(target) {
            Err(fault) if fault.elr == target => {
                judge.contained(format_args!("branch to {target:#x}: {fault}"))
            }
            Err(fault) => judge.escaped(format_args!(
                "code at {target:#x} ran, then took {fault} at {:#x}",
                fault.elr
            )),
            Ok(()) => judge.escaped(format_args!("code at {target:#x} ran and returned")),
        }
    });
}
