//! Decoding a trapped data access from its syndrome (ESR ISS of a data
//! abort), so cordon can emulate the device register it hit.

/// ISS fields of a data abort.
const ISV: u32 = 1 << 24;
const SAS_SHIFT: u32 = 22;
const SSE: u32 = 1 << 21;
const SRT_SHIFT: u32 = 16;
const SF: u32 = 1 << 15;
const WNR: u32 = 1 << 6;
/// Register number 31 means the zero register for loads and stores.
pub const ZERO_REGISTER: u8 = 31;

/// One load or store the guest made.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MmioAccess {
    /// Bytes: 1, 2, 4 or 8.
    pub size: u8,
    pub write: bool,
    /// Sign-extend a loaded value to the register width.
    pub sign_extend: bool,
    /// The general-purpose register transferred (31 = zero register).
    pub register: u8,
    /// The register is 64 bits wide (X), else 32 (W).
    pub sixty_four: bool,
}

/// The syndrome has no instruction details (ISV = 0): e.g. a load/store
/// pair or a write-back access, which cordon cannot emulate.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NoSyndrome;

impl MmioAccess {
    pub fn decode(iss: u32) -> Result<Self, NoSyndrome> {
        if iss & ISV == 0 {
            return Err(NoSyndrome);
        }
        Ok(Self {
            size: 1 << ((iss >> SAS_SHIFT) & 0b11),
            write: iss & WNR != 0,
            sign_extend: iss & SSE != 0,
            register: ((iss >> SRT_SHIFT) & 0x1f) as u8,
            sixty_four: iss & SF != 0,
        })
    }

    /// The value a load puts in the register, from the `size`-byte `data`.
    pub fn load_value(&self, data: u64) -> u64 {
        let bits = self.size as u32 * 8;
        let data = if bits == 64 {
            data
        } else {
            data & ((1 << bits) - 1)
        };
        let value = if self.sign_extend && bits < 64 {
            let shift = 64 - bits;
            (((data << shift) as i64) >> shift) as u64
        } else {
            data
        };
        if self.sixty_four {
            value
        } else {
            value & u32::MAX as u64
        }
    }

    /// The bytes a store writes, from the register's value.
    pub fn store_value(&self, register_value: u64) -> u64 {
        if self.register == ZERO_REGISTER {
            return 0;
        }
        match self.size {
            8 => register_value,
            size => register_value & ((1 << (size as u32 * 8)) - 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iss(size_log2: u32, write: bool, sse: bool, reg: u32, sf: bool) -> u32 {
        ISV | (size_log2 << SAS_SHIFT)
            | if sse { SSE } else { 0 }
            | (reg << SRT_SHIFT)
            | if sf { SF } else { 0 }
            | if write { WNR } else { 0 }
    }

    #[test]
    fn decodes_size_direction_and_register() {
        let access = MmioAccess::decode(iss(2, true, false, 5, false)).unwrap();
        assert_eq!(
            access,
            MmioAccess {
                size: 4,
                write: true,
                sign_extend: false,
                register: 5,
                sixty_four: false
            }
        );
        let access = MmioAccess::decode(iss(3, false, false, 30, true)).unwrap();
        assert_eq!((access.size, access.write, access.register), (8, false, 30));
        assert_eq!(MmioAccess::decode(0x93), Err(NoSyndrome));
    }

    #[test]
    fn loads_sign_extend_and_truncate() {
        // ldrsb x1: byte 0x80 becomes -128 in 64 bits.
        let ldrsb_x = MmioAccess::decode(iss(0, false, true, 1, true)).unwrap();
        assert_eq!(ldrsb_x.load_value(0x80), 0xffff_ffff_ffff_ff80);
        // ldrsh w1: into 32 bits only.
        let ldrsh_w = MmioAccess::decode(iss(1, false, true, 1, false)).unwrap();
        assert_eq!(ldrsh_w.load_value(0x8001), 0xffff_8001);
        // ldrb w1: upper bytes of the device's answer are dropped.
        let ldrb = MmioAccess::decode(iss(0, false, false, 1, false)).unwrap();
        assert_eq!(ldrb.load_value(0x1234), 0x34);
    }

    #[test]
    fn stores_take_the_low_bytes_and_xzr_is_zero() {
        let strh = MmioAccess::decode(iss(1, true, false, 2, false)).unwrap();
        assert_eq!(strh.store_value(0xdead_beef), 0xbeef);
        let str_xzr = MmioAccess::decode(iss(3, true, false, 31, true)).unwrap();
        assert_eq!(str_xzr.store_value(0x1234), 0);
    }
}
