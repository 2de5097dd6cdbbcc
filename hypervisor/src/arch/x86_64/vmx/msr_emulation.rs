//! The few MSRs cordon answers itself, for guests that read them before
//! they can handle a #GP (Linux's `verify_cpu` reads IA32_MISC_ENABLE with
//! no exception handler in place) or on every boot: fixed values that
//! describe a plain CPU, and writes that change nothing. Every other MSR
//! that exits is refused with #GP.

/// IA32_MISC_ENABLE: only fast string operations enabled (in particular
/// not XD_DISABLE or LIMIT_CPUID, which Linux would try to clear).
const IA32_MISC_ENABLE: u32 = 0x1a0;
const MISC_ENABLE_FAST_STRINGS: u64 = 1 << 0;
/// IA32_PLATFORM_ID: platform 0.
const IA32_PLATFORM_ID: u32 = 0x17;
/// IA32_BIOS_SIGN_ID: no microcode update loaded (revision 0); a write
/// (which asks the CPU to fill in the revision) is accepted and changes
/// nothing.
const IA32_BIOS_SIGN_ID: u32 = 0x8b;

/// What cordon does for an RDMSR or WRMSR that exited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsrAnswer {
    /// RDMSR reads this value.
    Read(u64),
    /// WRMSR is accepted and changes nothing.
    Ignored,
    /// #GP, as for an MSR the CPU does not have.
    Refused,
}

/// The answer to RDMSR of `msr` (`write` is `None`) or to WRMSR of
/// `write` to it.
pub fn answer(msr: u32, write: Option<u64>) -> MsrAnswer {
    let fixed = match msr {
        IA32_MISC_ENABLE => MISC_ENABLE_FAST_STRINGS,
        IA32_PLATFORM_ID => 0,
        IA32_BIOS_SIGN_ID => {
            return match write {
                None => MsrAnswer::Read(0),
                Some(_) => MsrAnswer::Ignored,
            };
        }
        _ => return MsrAnswer::Refused,
    };
    match write {
        None => MsrAnswer::Read(fixed),
        Some(value) if value == fixed && msr != IA32_PLATFORM_ID => MsrAnswer::Ignored,
        Some(_) => MsrAnswer::Refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misc_enable_reads_fixed_and_takes_only_its_own_value() {
        assert_eq!(answer(IA32_MISC_ENABLE, None), MsrAnswer::Read(1));
        assert_eq!(answer(IA32_MISC_ENABLE, Some(1)), MsrAnswer::Ignored);
        const XD_DISABLE: u64 = 1 << 34;
        assert_eq!(
            answer(IA32_MISC_ENABLE, Some(1 | XD_DISABLE)),
            MsrAnswer::Refused
        );
    }

    #[test]
    fn the_microcode_revision_is_zero_and_platform_id_read_only() {
        assert_eq!(answer(IA32_BIOS_SIGN_ID, None), MsrAnswer::Read(0));
        assert_eq!(answer(IA32_BIOS_SIGN_ID, Some(0)), MsrAnswer::Ignored);
        assert_eq!(answer(IA32_PLATFORM_ID, None), MsrAnswer::Read(0));
        assert_eq!(answer(IA32_PLATFORM_ID, Some(0)), MsrAnswer::Refused);
    }

    #[test]
    fn other_msrs_are_refused() {
        for msr in [0x1b, 0x3a, 0x277, 0xc000_0080] {
            assert_eq!(answer(msr, None), MsrAnswer::Refused, "{msr:#x}");
        }
    }
}
