//! Abort-storm mode: reads the word just above its RAM, memory it was not
//! given, forever. Each read is a stage-2 fault that cordon refuses with an
//! injected data abort; the guest counts them and prints
//!
//! ```text
//! abort-storm: <n> aborts in <ms> ms
//! ```
//!
//! every 10000. Run next to a heartbeat VM, it shows whether what cordon
//! does per refused access (such as a log line on the shared console)
//! slows the neighbour down. A read that does not fault that way ends the
//! storm with `hostile: abort-storm: ESCAPED (...)` and a power-off.

use crate::platform::Platform;
use crate::{attempt, counter, say, smccc};

/// Aborts between progress lines.
const REPORT_EVERY: u64 = 10_000;

pub fn run(platform: &Platform) -> ! {
    let addr = platform.ram.end;
    say!("hostile: abort-storm: reading {addr:#x} (above its RAM) forever");
    let start = counter::now();
    let mut aborts: u64 = 0;
    loop {
        match attempt::read32(addr) {
            Err(fault) if fault.is_data_abort_at(addr) => aborts += 1,
            Err(fault) => {
                say!("hostile: abort-storm: ESCAPED (read {addr:#x}: unexpected {fault})");
                smccc::power_off()
            }
            Ok(value) => {
                say!("hostile: abort-storm: ESCAPED (read {addr:#x} returned {value:#x})");
                smccc::power_off()
            }
        }
        if aborts.is_multiple_of(REPORT_EVERY) {
            say!(
                "abort-storm: {aborts} aborts in {} ms",
                counter::millis_since(start)
            );
        }
    }
}
