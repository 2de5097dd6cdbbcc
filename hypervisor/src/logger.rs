//! `log` output on cordon's console: `[cpu<N> <LEVEL>] message`, one whole
//! line per console lock so CPUs never interleave mid-line.

use core::fmt::Write;

use log::{LevelFilter, Log, Metadata, Record};

use crate::arch::aarch64::cpu;
use crate::console::CONSOLE;
use crate::dt::BootInfo;

struct ConsoleLogger;

/// Feeds formatted text to a byte ring.
struct RingWriter<'a>(&'a mut crate::management::ring::ByteRing);

impl core::fmt::Write for RingWriter<'_> {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        self.0.push(text.as_bytes());
        Ok(())
    }
}

static LOGGER: ConsoleLogger = ConsoleLogger;

impl Log for ConsoleLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let mut ring = crate::management::LOG.lock();
        let _ = writeln!(
            RingWriter(&mut ring),
            "[cpu{} {:<5}] {}",
            cpu::id(),
            record.level(),
            record.args()
        );
        drop(ring);
        let mut console = CONSOLE.lock();
        console.end_open_line();
        let _ = writeln!(
            console,
            "[cpu{} {:<5}] {}",
            cpu::id(),
            record.level(),
            record.args()
        );
    }

    fn flush(&self) {}
}

/// Starts logging at the level `cordon.log=<error|warn|info|debug|trace>`
/// asks for (default info).
pub fn init(info: &BootInfo) {
    let level = info
        .option("log")
        .and_then(|name| name.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::Info);
    // Fails only if a logger is set already, and then that one stays.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
