//! cordon's console: the UART it writes its own messages to, and how that
//! UART is chosen (`cordon.console=` in the bootargs, else `stdout-path`,
//! else the board's early console).

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod mini_uart;
pub mod multiplexer;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod pl011;

use fdt::Fdt;

use crate::board::{Board, Uart, UartKind};
use crate::dt::{self, AddressError, BootInfo};

/// Why the device tree's console could not be used.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ConsoleChoiceError<'a> {
    /// Neither `cordon.console=` nor `stdout-path` names a node.
    NotNamed,
    Address(AddressError<'a>),
    /// The node is not a UART cordon drives on this board.
    Unsupported {
        path: &'a str,
    },
}

impl core::fmt::Display for ConsoleChoiceError<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotNamed => write!(f, "no cordon.console= option and no stdout-path"),
            Self::Address(err) => write!(f, "{err}"),
            Self::Unsupported { path } => {
                write!(f, "{path} is not a UART cordon drives on this board")
            }
        }
    }
}

/// The UART the device tree (or `cordon.console=<path or alias>`) names.
pub fn choose<'a>(
    fdt: &Fdt<'a>,
    info: &BootInfo<'a>,
    board: &Board,
) -> Result<(Uart, &'a str), ConsoleChoiceError<'a>> {
    let named = info
        .option("console")
        .or(info.stdout_path)
        .ok_or(ConsoleChoiceError::NotNamed)?;
    let path = dt::resolve_path(fdt, named).map_err(ConsoleChoiceError::Address)?;
    let node = fdt
        .find_node(path)
        .ok_or(ConsoleChoiceError::Address(AddressError::NoSuchNode(path)))?;
    let kind = node
        .compatible()
        .and_then(|c| c.all().find_map(UartKind::from_compatible))
        .filter(|kind| board.console_kinds.contains(kind))
        .ok_or(ConsoleChoiceError::Unsupported { path })?;
    let (base, _) = dt::translate_to_cpu(fdt, path).map_err(ConsoleChoiceError::Address)?;
    Ok((Uart { kind, base }, path))
}

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub use device::{CONSOLE, Console};

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod device {
    use core::fmt;

    use spin::mutex::SpinMutex;

    use super::mini_uart::MiniUart;
    use super::multiplexer::Multiplexer;
    use super::pl011::Pl011;
    use crate::board::{Uart, UartKind};

    enum Driver {
        Pl011(Pl011),
        MiniUart(MiniUart),
    }

    /// The console device; `None` until [`Console::attach`].
    pub struct Console {
        driver: Option<Driver>,
        multiplexer: Multiplexer,
    }

    // SAFETY: the drivers hold MMIO addresses; every access goes through the
    // `CONSOLE` mutex (or happens while only one CPU runs, see `early`).
    unsafe impl Send for Console {}

    /// cordon's console. Lock it for each whole line so lines never interleave.
    pub static CONSOLE: SpinMutex<Console> = SpinMutex::new(Console {
        driver: None,
        multiplexer: Multiplexer::new(),
    });

    impl Console {
        /// Starts writing to `uart`.
        ///
        /// # Safety
        /// `uart` must be a UART of its kind at a mapped device address.
        pub unsafe fn attach(&mut self, uart: Uart) {
            let base = uart.base as usize;
            // SAFETY: forwarded from the caller.
            self.driver = Some(unsafe {
                match uart.kind {
                    UartKind::Pl011 => Driver::Pl011(Pl011::new(base)),
                    UartKind::Bcm2835Aux => Driver::MiniUart(MiniUart::new(base)),
                }
            });
        }

        /// A byte typed on the console, if one is waiting.
        pub fn read_byte(&mut self) -> Option<u8> {
            match &self.driver {
                Some(Driver::Pl011(uart)) => uart.read_byte(),
                Some(Driver::MiniUart(uart)) => uart.read_byte(),
                None => None,
            }
        }

        /// Raise the UART's interrupt when input arrives.
        pub fn enable_input_interrupt(&mut self) {
            match &self.driver {
                Some(Driver::Pl011(uart)) => uart.enable_input_interrupt(),
                Some(Driver::MiniUart(uart)) => uart.enable_input_interrupt(),
                None => {}
            }
        }

        /// Writes guest output from source `source`, each of its lines
        /// after `prefix` (see [`Multiplexer`]).
        pub fn write_from(&mut self, source: usize, prefix: &str, bytes: &[u8]) {
            let Self {
                driver,
                multiplexer,
            } = self;
            multiplexer.guest_output(source, prefix, bytes, &mut |b| write_to(driver, b));
        }

        /// Ends a line a guest left open (before cordon writes its own).
        pub fn end_open_line(&mut self) {
            let Self {
                driver,
                multiplexer,
            } = self;
            multiplexer.end_open_line(&mut |b| write_to(driver, b));
        }

        fn write_byte(&mut self, byte: u8) {
            write_to(&self.driver, byte);
        }

        /// The console without taking the lock: only while a single CPU runs
        /// and the MMU is off (exclusive loads/stores that a lock needs are
        /// not reliable on uncached memory), or when a panicking CPU cannot
        /// get the lock.
        ///
        /// # Safety
        /// No other reference to the console may be in use.
        #[allow(clippy::mut_from_ref)]
        pub unsafe fn early() -> &'static mut Console {
            // SAFETY: forwarded from the caller.
            unsafe { &mut *CONSOLE.as_mut_ptr() }
        }
    }

    fn write_to(driver: &Option<Driver>, byte: u8) {
        match driver {
            Some(Driver::Pl011(uart)) => uart.write_byte(byte),
            Some(Driver::MiniUart(uart)) => uart.write_byte(byte),
            None => {}
        }
    }

    impl fmt::Write for Console {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            for byte in s.bytes() {
                if byte == b'\n' {
                    self.write_byte(b'\r');
                }
                self.write_byte(byte);
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::GicV2;
    use crate::dt::tests::{rpi4_like_dtb, virt_like_dtb};

    const GIC: GicV2 = GicV2 {
        gicd: 0,
        gicc: 0,
        gich: 0,
        gicv: 0,
        maintenance_ppi: 9,
    };

    fn rpi4_board() -> Board {
        Board {
            name: "rpi4",
            early_console: Uart {
                kind: UartKind::Pl011,
                base: 0xfe20_1000,
            },
            console_kinds: &[UartKind::Pl011, UartKind::Bcm2835Aux],
            gic: GIC,
            firmware_mailbox: Some("/soc/mailbox@7e00b880"),
        }
    }

    #[test]
    fn stdout_path_alias_picks_the_mini_uart_on_rpi4() {
        let blob = rpi4_like_dtb();
        let fdt = Fdt::new(&blob).unwrap();
        let info = BootInfo::parse(&fdt).unwrap();
        let (uart, path) = choose(&fdt, &info, &rpi4_board()).unwrap();
        assert_eq!(path, "/soc/serial@7e215040");
        assert_eq!(
            uart,
            Uart {
                kind: UartKind::Bcm2835Aux,
                base: 0xfe21_5040
            }
        );
    }

    #[test]
    fn a_uart_the_board_does_not_drive_is_refused() {
        let blob = virt_like_dtb();
        let fdt = Fdt::new(&blob).unwrap();
        let info = BootInfo::parse(&fdt).unwrap();
        let mut board = rpi4_board();
        board.console_kinds = &[UartKind::Bcm2835Aux];
        assert_eq!(
            choose(&fdt, &info, &board),
            Err(ConsoleChoiceError::Unsupported {
                path: "/pl011@9000000"
            })
        );
        board.console_kinds = &[UartKind::Pl011];
        assert_eq!(choose(&fdt, &info, &board).unwrap().0.base, 0x900_0000);
    }
}
