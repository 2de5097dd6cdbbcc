//! A stack overflow off the bottom of its RAM: a recursion on a stack that
//! starts at its image (loaded `entry::TEXT_OFFSET` into its RAM, so the
//! RAM below is free) and runs down until a push lands below its RAM, in
//! memory it was not given. The push must take a data abort (a write, at an
//! address just below its RAM), which its vectors catch on their own stack,
//! and the guest must run on.
//!
//! Were the image loaded at the very start of its RAM, the first push
//! would fault: the probe still holds, with no recursion.

use crate::attempt::{self, STACK_FRAME};
use crate::entry;
use crate::platform::Platform;
use crate::report::Report;

pub fn run(platform: &Platform, report: &mut Report) {
    let ram = platform.ram;
    report.probe("stack-storm", |judge| {
        let top = entry::image_start().clamp(ram.start, ram.end);
        let Err(fault) = attempt::overflow_stack(top) else {
            return judge.escaped(format_args!(
                "a recursion from {top:#x} down past {:#x} returned",
                ram.start
            ));
        };
        let guard = ram.start.saturating_sub(STACK_FRAME)..ram.start;
        // The faulting push was one frame below the last that succeeded.
        let frames = (top.saturating_sub(fault.far) / STACK_FRAME).saturating_sub(1);
        let far = fault.far;
        let stopped = format_args!(
            "recursion from {top:#x}: {frames} frames of {STACK_FRAME} bytes, then the push at \
             {far:#x} took {fault}"
        );
        if guard.contains(&fault.far) && fault.is_write() {
            judge.contained(format_args!(
                "{stopped}: a write below its RAM, caught on SP_EL1; it runs on"
            ))
        } else {
            judge.escaped(format_args!(
                "{stopped}: not a write abort just below its RAM ({:#x}); the probe did not \
                 test isolation",
                ram.start
            ))
        }
    });
}
