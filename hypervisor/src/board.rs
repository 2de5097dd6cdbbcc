//! What a board crate tells the core about its hardware.
//!
//! A board is data, not code: the boot device tree says what the machine
//! has; the board says what cordon may rely on before reading it and which
//! devices cordon itself drives.

/// A UART model cordon has a driver for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum UartKind {
    /// Arm PrimeCell PL011.
    Pl011,
    /// The BCM2835 auxiliary "mini-UART".
    Bcm2835Aux,
}

impl UartKind {
    /// The model a device-tree `compatible` string names, if cordon drives it.
    pub fn from_compatible(compatible: &str) -> Option<Self> {
        match compatible {
            "arm,pl011" => Some(Self::Pl011),
            "brcm,bcm2835-aux-uart" => Some(Self::Bcm2835Aux),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Pl011 => "PL011",
            Self::Bcm2835Aux => "BCM2835 mini-UART",
        }
    }
}

/// A UART at a CPU physical address.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Uart {
    pub kind: UartKind,
    pub base: u64,
}

/// A GICv2 (GIC-400) as seen from the CPUs: CPU physical addresses of its
/// register frames.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct GicV2 {
    /// Distributor.
    pub gicd: u64,
    /// CPU interface.
    pub gicc: u64,
    /// Virtual interface control (the hypervisor's view of list registers).
    pub gich: u64,
    /// Virtual CPU interface (what guests see as their GICC).
    pub gicv: u64,
    /// PPI raised by the virtual interface (maintenance interrupt).
    pub maintenance_ppi: u32,
}

pub struct Board {
    /// Short name, as in `--board <name>`.
    pub name: &'static str,
    /// Console used until the device tree names one, and if it names none
    /// that cordon drives.
    pub early_console: Uart,
    /// UART models this board may use as cordon's console.
    pub console_kinds: &'static [UartKind],
    pub gic: GicV2,
    /// Device-tree path of the firmware's mailbox, through which cordon
    /// asks the firmware what only it knows (see [`crate::firmware`]).
    pub firmware_mailbox: Option<&'static str>,
}

/// Declares the board a binary is built for. Use once, in the board crate:
/// `cordon_hypervisor::board!(BOARD);`
#[macro_export]
macro_rules! board {
    ($board:path) => {
        #[unsafe(no_mangle)]
        extern "Rust" fn __cordon_board() -> &'static $crate::board::Board {
            &$board
        }
    };
}

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
unsafe extern "Rust" {
    /// Defined by the [`board!`] macro in the board crate.
    fn __cordon_board() -> &'static Board;
}

/// The board this image was built for.
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub fn this_board() -> &'static Board {
    // SAFETY: `board!` defines this function with exactly this signature;
    // the image does not link without it.
    unsafe { __cordon_board() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compatible_strings() {
        assert_eq!(
            UartKind::from_compatible("arm,pl011"),
            Some(UartKind::Pl011)
        );
        assert_eq!(
            UartKind::from_compatible("brcm,bcm2835-aux-uart"),
            Some(UartKind::Bcm2835Aux)
        );
        assert_eq!(UartKind::from_compatible("ns16550a"), None);
    }
}
