//! Port I/O of guests: the I/O bitmaps that let a VM reach only the ports
//! assigned to it (every other access exits), and the exit qualification
//! of an I/O instruction that exited.

use core::ops::RangeInclusive;

/// Ports in each of the two bitmaps (A: 0-0x7fff, B: 0x8000-0xffff).
const PORTS_PER_BITMAP: usize = 0x8000;
/// Bytes in each bitmap: one bit a port.
pub const BITMAP_SIZE: usize = PORTS_PER_BITMAP / 8;

/// The two I/O bitmaps of a VM: a set bit makes that port's accesses exit.
/// Page-aligned, as the VMCS wants each bitmap.
#[repr(C, align(4096))]
pub struct IoBitmaps {
    /// Ports 0-0x7fff, then 0x8000-0xffff.
    pub bitmaps: [[u8; BITMAP_SIZE]; 2],
}

impl IoBitmaps {
    /// Every port exits.
    pub fn deny_all() -> Self {
        Self {
            bitmaps: [[0xff; BITMAP_SIZE]; 2],
        }
    }

    /// Lets the guest reach `ports` directly.
    pub fn allow(&mut self, ports: RangeInclusive<u16>) {
        for port in ports {
            let (bitmap, bit) = Self::locate(port);
            self.bitmaps[bitmap][bit / 8] &= !(1 << (bit % 8));
        }
    }

    /// Whether accesses to `port` exit.
    pub fn exits(&self, port: u16) -> bool {
        let (bitmap, bit) = Self::locate(port);
        self.bitmaps[bitmap][bit / 8] & (1 << (bit % 8)) != 0
    }

    fn locate(port: u16) -> (usize, usize) {
        let port = usize::from(port);
        (port / PORTS_PER_BITMAP, port % PORTS_PER_BITMAP)
    }
}

/// Exit qualification of an I/O instruction: access size minus one, "in",
/// string instruction, REP prefix, port.
const SIZE_MASK: u64 = 0b111;
const DIRECTION_IN: u64 = 1 << 3;
const STRING: u64 = 1 << 4;
const REP: u64 = 1 << 5;
const PORT_SHIFT: u32 = 16;

/// An I/O instruction that exited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoAccess {
    pub port: u16,
    /// 1, 2 or 4 bytes.
    pub size: u8,
    pub input: bool,
    /// INS/OUTS (possibly with REP), which cordon does not emulate.
    pub string: bool,
}

impl IoAccess {
    /// Decodes the exit qualification of an I/O-instruction exit.
    pub fn decode(qualification: u64) -> Self {
        Self {
            port: (qualification >> PORT_SHIFT) as u16,
            size: ((qualification & SIZE_MASK) + 1) as u8,
            input: qualification & DIRECTION_IN != 0,
            string: qualification & (STRING | REP) != 0,
        }
    }

    /// What an IN from a port nobody answers reads: all ones, in the
    /// access's size, merged into RAX as the CPU would.
    pub fn floating_input(&self, rax: u64) -> u64 {
        let mask = match self.size {
            1 => 0xff,
            2 => 0xffff,
            // A 32-bit register write zero-extends to 64 bits.
            _ => return 0xffff_ffff,
        };
        rax | mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COM1: RangeInclusive<u16> = 0x3f8..=0x3ff;

    #[test]
    fn only_allowed_ports_pass() {
        let mut bitmaps = IoBitmaps::deny_all();
        bitmaps.allow(COM1);
        bitmaps.allow(0x8000..=0x8000);
        assert!(!bitmaps.exits(0x3f8));
        assert!(!bitmaps.exits(0x3ff));
        assert!(bitmaps.exits(0x3f7));
        assert!(bitmaps.exits(0x400));
        assert!(!bitmaps.exits(0x8000));
        assert!(bitmaps.exits(0xffff));
        // Port 0x3f8 is bit 0 of byte 0x7f of bitmap A.
        assert_eq!(bitmaps.bitmaps[0][0x7f], 0x00);
        assert_eq!(bitmaps.bitmaps[0][0x7e], 0xff);
        assert_eq!(bitmaps.bitmaps[1][0], 0xfe);
    }

    #[test]
    fn qualifications_decode() {
        // OUT 0x80, AL.
        assert_eq!(
            IoAccess::decode(0x80 << 16),
            IoAccess {
                port: 0x80,
                size: 1,
                input: false,
                string: false
            }
        );
        // IN EAX, DX with DX = 0xcfc.
        let access = IoAccess::decode((0xcfc << 16) | DIRECTION_IN | 3);
        assert_eq!((access.port, access.size, access.input), (0xcfc, 4, true));
        assert!(IoAccess::decode(REP | STRING).string);
    }

    #[test]
    fn floating_input_reads_all_ones() {
        let byte = IoAccess::decode(DIRECTION_IN);
        assert_eq!(byte.floating_input(0x1234_5600), 0x1234_56ff);
        let word = IoAccess::decode(DIRECTION_IN | 1);
        assert_eq!(word.floating_input(0xdead_0000), 0xdead_ffff);
        let dword = IoAccess::decode(DIRECTION_IN | 3);
        assert_eq!(dword.floating_input(0xffff_0000_0000_0000), 0xffff_ffff);
    }
}
