//! What the guest knows of QEMU `virt`'s physical map (`-m 2G`, GICv2,
//! `virtualization=on`) beyond its device tree: the things cordon must keep
//! from it.

/// The PL011 UART; used as the console until the device tree is read.
pub const UART: u64 = 0x0900_0000;

/// cordon's own image: loaded by QEMU `-kernel` at the start of RAM plus
/// 2 MiB. It starts with an arm64 Image header, whose first word is an
/// executable branch (so an allowed fetch from there would not fault there).
pub const CORDON_IMAGE: u64 = 0x4020_0000;

/// The GIC's virtual interface control frame (GICH), cordon's alone.
pub const GICH: u64 = 0x0803_0000;
/// GICH_VTR: read-only, so a write that got through changes nothing.
pub const GICH_VTR: u64 = 0x004;

/// The physical virtual CPU interface (GICV). The VM sees it only at its
/// GICC address, through stage 2; at its physical address it must not.
pub const GICV: u64 = 0x0804_0000;
/// GICV_IIDR: read-only and free of side effects.
pub const GICV_IIDR: u64 = 0x0fc;

/// The PL031 real-time clock, given to no VM.
pub const RTC: u64 = 0x0901_0000;
/// RTCDR, the (read-only) current time.
pub const RTC_DR: u64 = 0x000;
/// The RTC's interrupt: SPI 2.
pub const RTC_INTID: u32 = SPI_BASE + 2;
/// INTID of SPI 0.
const SPI_BASE: u32 = 32;

/// Addresses above 4 GiB the sweep also tries.
pub const HIGH_ADDRESSES: [u64; 5] = [
    // Just above 4 GiB: nothing there with 2 GiB of RAM.
    0x1_0000_0000,
    // The high PCIe ECAM window: the host bridge's configuration space.
    0x40_1000_0000,
    // The high PCIe MMIO window.
    0x80_0000_0000,
    // The last word of a 44-bit (cortex-a72) physical address space.
    0xfff_ffff_fffc,
    // The last word of a 48-bit address space: beyond the CPU's, so
    // stage 1 (off) already refuses it.
    0xffff_ffff_fffc,
];
