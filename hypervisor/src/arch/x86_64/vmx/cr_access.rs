//! Guest accesses to control registers that exit: the exit qualification
//! decoded, and what a write becomes (the guest sees what it wrote; the
//! CPU runs with the bits VMX needs kept set).

/// Exit qualification: the control register, the access type, the
/// general-purpose register, LMSW's source.
const CR_MASK: u64 = 0xf;
const TYPE_SHIFT: u32 = 4;
const TYPE_MASK: u64 = 0b11;
const GPR_SHIFT: u32 = 8;
const GPR_MASK: u64 = 0xf;
const LMSW_DATA_SHIFT: u32 = 16;
const LMSW_DATA_MASK: u64 = 0xffff;
/// Access types.
const MOV_TO_CR: u64 = 0;
const MOV_FROM_CR: u64 = 1;
const CLTS: u64 = 2;

/// CR0 bits LMSW writes (PE, MP, EM, TS), and which it cannot clear (PE).
const LMSW_BITS: u64 = 0xf;
const CR0_PE: u64 = 1 << 0;
/// CR0.TS, which CLTS clears.
pub const CR0_TS: u64 = 1 << 3;

/// A control-register access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrAccess {
    /// MOV to CR`cr` from general-purpose register `gpr` (0 = RAX ... 15 = R15).
    MoveTo { cr: u8, gpr: u8 },
    /// MOV from CR`cr` to `gpr`.
    MoveFrom { cr: u8, gpr: u8 },
    /// CLTS: clear CR0.TS.
    Clts,
    /// LMSW with this 16-bit source.
    Lmsw { source: u16 },
}

impl CrAccess {
    /// Decodes a control-register-access exit qualification.
    pub fn decode(qualification: u64) -> Self {
        let cr = (qualification & CR_MASK) as u8;
        let gpr = ((qualification >> GPR_SHIFT) & GPR_MASK) as u8;
        match (qualification >> TYPE_SHIFT) & TYPE_MASK {
            MOV_TO_CR => Self::MoveTo { cr, gpr },
            MOV_FROM_CR => Self::MoveFrom { cr, gpr },
            CLTS => Self::Clts,
            _ => Self::Lmsw {
                source: ((qualification >> LMSW_DATA_SHIFT) & LMSW_DATA_MASK) as u16,
            },
        }
    }
}

/// What a guest's write of `value` to a control register becomes: the
/// value the CPU runs with (`value` plus the `kept` bits VMX needs) and the
/// read shadow (what the guest reads back: `value`).
pub fn guest_write(value: u64, kept: u64) -> (u64, u64) {
    (value | kept, value)
}

/// CR0 after LMSW `source` on a guest CR0 (as the guest sees it) of `cr0`.
pub fn lmsw(cr0: u64, source: u16) -> u64 {
    let source = u64::from(source) & LMSW_BITS;
    (cr0 & !LMSW_BITS) | source | (cr0 & CR0_PE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualifications_decode() {
        // mov cr0, eax
        assert_eq!(CrAccess::decode(0x0), CrAccess::MoveTo { cr: 0, gpr: 0 });
        // mov rbx, cr4 (gpr 3)
        assert_eq!(
            CrAccess::decode(0x314),
            CrAccess::MoveFrom { cr: 4, gpr: 3 }
        );
        assert_eq!(CrAccess::decode(0x20), CrAccess::Clts);
        assert_eq!(
            CrAccess::decode(0x0031_0030),
            CrAccess::Lmsw { source: 0x31 }
        );
    }

    #[test]
    fn writes_keep_what_vmx_needs_and_show_what_was_written() {
        const CR0_NE: u64 = 1 << 5;
        const CR0_ET: u64 = 1 << 4;
        assert_eq!(guest_write(CR0_ET, CR0_NE), (CR0_ET | CR0_NE, CR0_ET));
    }

    #[test]
    fn lmsw_sets_but_never_clears_pe() {
        assert_eq!(lmsw(0x11, 0x0), 0x11);
        assert_eq!(lmsw(0x10, 0xffff), 0x1f);
        assert_eq!(lmsw(0x8000_0011, 0x8), 0x8000_0019);
    }
}
