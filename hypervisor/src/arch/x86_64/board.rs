//! What an x86 board crate tells the core: its name and where its console
//! is. PCs describe the rest (memory, CPUs) through multiboot2 and ACPI.

/// A PC-compatible board.
pub struct PcBoard {
    /// Short name, as in `--board <name>`.
    pub name: &'static str,
    /// I/O port base of the 16550 UART cordon writes its console to.
    pub console_port: u16,
}

/// Declares the board a binary is built for. Use once, in the board crate:
/// `cordon_hypervisor::pc_board!(BOARD);`
#[macro_export]
macro_rules! pc_board {
    ($board:path) => {
        #[unsafe(no_mangle)]
        extern "Rust" fn __cordon_pc_board() -> &'static $crate::arch::x86_64::board::PcBoard {
            &$board
        }
    };
}

unsafe extern "Rust" {
    /// Defined by the [`pc_board!`] macro in the board crate.
    fn __cordon_pc_board() -> &'static PcBoard;
}

/// The board this image was built for.
pub fn this_board() -> &'static PcBoard {
    // SAFETY: `pc_board!` defines this function with exactly this
    // signature; the image does not link without it.
    unsafe { __cordon_pc_board() }
}
