//! cordon's console on x86: a 16550 UART at an I/O port (COM1 on a PC), and
//! the `log` output on it, `[cpu<N> <LEVEL>] message`, one whole line per
//! console lock so CPUs never interleave mid-line.

use core::fmt::{self, Write};

use log::{LevelFilter, Log, Metadata, Record};
use spin::Mutex;
use uart_16550::backend::PioBackend;
use uart_16550::{Config, Uart16550, Uart16550Tty};

use super::cpu;

/// The console UART, once [`init`] found it.
static CONSOLE: Mutex<Option<Uart16550Tty<PioBackend>>> = Mutex::new(None);

/// Sets up the UART at `port` (115200 8N1) and starts logging at `level`.
/// Without a working UART cordon stays silent.
pub fn init(port: u16, level: LevelFilter) {
    // SAFETY: the board names `port` as its console UART, which only cordon
    // drives, through this lock.
    let uart = unsafe { Uart16550::new_port(port) };
    if let Ok(mut uart) = uart
        && uart.init(Config::default()).is_ok()
    {
        *CONSOLE.lock() = Some(Uart16550Tty::from_inner(uart));
    }
    // Fails only if a logger is set already, and then that one stays.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}

/// Writes to the console, if there is one.
pub fn write_fmt(args: fmt::Arguments) {
    if let Some(uart) = CONSOLE.lock().as_mut() {
        let _ = uart.write_fmt(args);
    }
}

/// Writes a fatal report even if the console lock is held (perhaps by the
/// CPU that is reporting): a mangled line beats no report.
pub fn write_fatal(args: fmt::Arguments) {
    if CONSOLE.is_locked() {
        // SAFETY: the holder is stuck or stopped; see above.
        unsafe { CONSOLE.force_unlock() };
    }
    write_fmt(args);
}

struct ConsoleLogger;

static LOGGER: ConsoleLogger = ConsoleLogger;

impl Log for ConsoleLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if self.enabled(record.metadata()) {
            write_fmt(format_args!(
                "[cpu{} {:<5}] {}\n",
                cpu::index(),
                record.level(),
                record.args()
            ));
        }
    }

    fn flush(&self) {}
}
