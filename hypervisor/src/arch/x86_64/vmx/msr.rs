//! Which model-specific registers a guest reaches directly: the MSR bitmap,
//! in which a set bit makes that MSR's RDMSR or WRMSR exit. MSRs whose
//! state the VMCS switches on every entry and exit pass through; so do, for
//! a VM that owns its CPU, the MSRs only that CPU's SYSCALL, SWAPGS and
//! RDTSCP read, which cordon never executes; cordon answers every other
//! access with #GP.

/// The MSRs that pass through: FS and GS bases, which the VMCS loads and
/// saves for guest and host.
pub const PASSED_THROUGH: [u32; 2] = [IA32_FS_BASE, IA32_GS_BASE];
const IA32_FS_BASE: u32 = 0xc000_0100;
const IA32_GS_BASE: u32 = 0xc000_0101;
/// The MSRs a VM that owns its CPU also reaches: EFER and SYSENTER's
/// (switched by the VMCS too), and SYSCALL's, SWAPGS's and RDTSCP's.
pub const PASSED_THROUGH_TO_OWNER: [u32; 10] = [
    IA32_SYSENTER_CS,
    IA32_SYSENTER_ESP,
    IA32_SYSENTER_EIP,
    IA32_EFER,
    IA32_STAR,
    IA32_LSTAR,
    IA32_CSTAR,
    IA32_FMASK,
    IA32_KERNEL_GS_BASE,
    IA32_TSC_AUX,
];
const IA32_SYSENTER_CS: u32 = 0x174;
const IA32_SYSENTER_ESP: u32 = 0x175;
const IA32_SYSENTER_EIP: u32 = 0x176;
const IA32_EFER: u32 = 0xc000_0080;
const IA32_STAR: u32 = 0xc000_0081;
const IA32_LSTAR: u32 = 0xc000_0082;
const IA32_CSTAR: u32 = 0xc000_0083;
const IA32_FMASK: u32 = 0xc000_0084;
const IA32_KERNEL_GS_BASE: u32 = 0xc000_0102;
const IA32_TSC_AUX: u32 = 0xc000_0103;

/// The two MSR ranges the bitmap covers, and their size.
const LOW_BASE: u32 = 0;
const HIGH_BASE: u32 = 0xc000_0000;
const RANGE_SIZE: u32 = 0x2000;
const LOW_END: u32 = LOW_BASE + RANGE_SIZE;
const HIGH_END: u32 = HIGH_BASE + RANGE_SIZE;
/// Byte offsets of the four 1 KiB quarters of the bitmap.
const READ_LOW: usize = 0;
const READ_HIGH: usize = 1024;
const WRITE_LOW: usize = 2048;
const WRITE_HIGH: usize = 3072;
pub const BITMAP_SIZE: usize = 4096;

/// A VM's MSR bitmap, page-aligned as the VMCS wants it.
#[repr(C, align(4096))]
pub struct MsrBitmap {
    pub bits: [u8; BITMAP_SIZE],
}

impl MsrBitmap {
    /// Every access exits, except to the MSRs in [`PASSED_THROUGH`].
    pub fn new() -> Self {
        let mut bitmap = Self {
            bits: [0xff; BITMAP_SIZE],
        };
        for msr in PASSED_THROUGH {
            bitmap.pass_through(msr);
        }
        bitmap
    }

    /// Like [`MsrBitmap::new`], and the MSRs in [`PASSED_THROUGH_TO_OWNER`]
    /// pass through too: for a VM that is the only one on its CPU.
    pub fn for_cpu_owner() -> Self {
        let mut bitmap = Self::new();
        for msr in PASSED_THROUGH_TO_OWNER {
            bitmap.pass_through(msr);
        }
        bitmap
    }

    /// Whether RDMSR (or with `write`, WRMSR) of `msr` exits.
    pub fn exits(&self, msr: u32, write: bool) -> bool {
        match Self::locate(msr, write) {
            Some((byte, bit)) => self.bits[byte] & (1 << bit) != 0,
            // MSRs outside both ranges always exit.
            None => true,
        }
    }

    fn pass_through(&mut self, msr: u32) {
        for write in [false, true] {
            if let Some((byte, bit)) = Self::locate(msr, write) {
                self.bits[byte] &= !(1 << bit);
            }
        }
    }

    /// The byte and bit of `msr`'s read or write bit.
    fn locate(msr: u32, write: bool) -> Option<(usize, u32)> {
        let (offset, quarter) = match msr {
            LOW_BASE..LOW_END => (msr - LOW_BASE, if write { WRITE_LOW } else { READ_LOW }),
            HIGH_BASE..HIGH_END => (msr - HIGH_BASE, if write { WRITE_HIGH } else { READ_HIGH }),
            _ => return None,
        };
        Some((quarter + (offset / 8) as usize, offset % 8))
    }
}

impl Default for MsrBitmap {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_vmcs_switched_msrs_pass() {
        let bitmap = MsrBitmap::new();
        for write in [false, true] {
            assert!(!bitmap.exits(IA32_FS_BASE, write));
            assert!(!bitmap.exits(IA32_GS_BASE, write));
            // IA32_KERNEL_GS_BASE is not switched by the VMCS.
            assert!(bitmap.exits(0xc000_0102, write));
            assert!(bitmap.exits(0x3a, write));
            assert!(bitmap.exits(0x4000_0000, write));
        }
        // FS base is bit 0 of byte 0x20 of the read-high and write-high quarters.
        assert_eq!(bitmap.bits[READ_HIGH + 0x20], 0xfc);
        assert_eq!(bitmap.bits[WRITE_HIGH + 0x20], 0xfc);
        assert_eq!(bitmap.bits[READ_LOW], 0xff);
    }

    #[test]
    fn a_cpu_owner_also_reaches_the_syscall_msrs() {
        let bitmap = MsrBitmap::for_cpu_owner();
        for write in [false, true] {
            for msr in [
                IA32_EFER,
                IA32_LSTAR,
                IA32_KERNEL_GS_BASE,
                IA32_SYSENTER_EIP,
            ] {
                assert!(!bitmap.exits(msr, write), "{msr:#x}");
            }
            assert!(bitmap.exits(0x1b, write), "IA32_APIC_BASE");
            assert!(bitmap.exits(0x277, write), "IA32_PAT");
            assert!(bitmap.exits(0x3a, write));
        }
    }
}
