//! When cordon cannot go on: report (panic or unexpected exception) and
//! stop every CPU.

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::console::{CONSOLE, Console};
use crate::cpu;

/// How long to wait for the console lock before writing without it.
const CONSOLE_LOCK_TRIES: usize = 1_000_000;
/// How long other CPUs get to acknowledge a stop.
const STOP_TIMEOUT_MS: u64 = 1000;

/// Set by the first CPU that reports a fatal error.
static FATAL: AtomicBool = AtomicBool::new(false);

/// Writes a fatal report with the console to itself. A CPU that faults while
/// reporting, or reports after another CPU already did, just stops.
pub fn report(write: impl FnOnce(&mut Console)) {
    if FATAL.swap(true, Ordering::AcqRel) {
        cpu::park();
    }
    let mut guard = (0..CONSOLE_LOCK_TRIES).find_map(|_| CONSOLE.try_lock());
    let console = match guard.as_deref_mut() {
        Some(console) => console,
        // SAFETY: the holder of the lock is stuck (probably this CPU, in
        // the middle of a line); a mangled line beats no report.
        None => unsafe { Console::early() },
    };
    let _ = writeln!(console);
    write(console);
}

/// Stops all other CPUs, says whether they stopped, and stops this one.
pub fn stop_all_cpus() -> ! {
    let all = cpu::stop_others(STOP_TIMEOUT_MS);
    // SAFETY: the report above holds no lock any more; other CPUs are
    // stopped or stuck, so nobody else writes.
    let console = unsafe { Console::early() };
    if all {
        let _ = writeln!(console, "cordon: all CPUs stopped");
    } else {
        let _ = writeln!(console, "cordon: some CPUs did not stop");
    }
    cpu::park()
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    report(|out| {
        let _ = write!(out, "panic on cpu{}", crate::arch::aarch64::cpu::id());
        if let Some(location) = info.location() {
            let _ = write!(out, " at {}:{}", location.file(), location.line());
        }
        let _ = writeln!(out, ": {}", info.message());
    });
    stop_all_cpus()
}
