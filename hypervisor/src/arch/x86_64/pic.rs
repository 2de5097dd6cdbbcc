//! The legacy 8259 interrupt controllers. cordon uses the local APICs; the
//! firmware may leave the PICs' timer and keyboard lines unmasked, and their
//! interrupts would then reach whatever VM runs. Both are masked at boot.

use x86_64::instructions::port::PortWriteOnly;

/// The interrupt-mask registers of the primary and secondary PIC.
const PRIMARY_MASK_PORT: u16 = 0x21;
const SECONDARY_MASK_PORT: u16 = 0xa1;
/// A set bit masks that line.
const ALL_LINES: u8 = 0xff;

/// Masks every line of both PICs.
pub fn mask_all() {
    for port in [PRIMARY_MASK_PORT, SECONDARY_MASK_PORT] {
        // SAFETY: writing the PICs' mask registers only stops their
        // interrupts, which cordon does not use.
        unsafe { PortWriteOnly::<u8>::new(port).write(ALL_LINES) };
    }
}
