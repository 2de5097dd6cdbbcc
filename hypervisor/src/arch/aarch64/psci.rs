//! PSCI (Arm Power State Coordination Interface, DEN0022): function IDs and
//! return codes; the call itself on the firmware conduit.

/// CPU_ON, SMC64 calling convention.
pub const CPU_ON_64: u32 = 0xc400_0003;

/// A PSCI call's negative return code.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PsciError {
    NotSupported,
    InvalidParameters,
    Denied,
    AlreadyOn,
    OnPending,
    InternalFailure,
    NotPresent,
    Disabled,
    InvalidAddress,
    Unknown(i64),
}

impl PsciError {
    /// `Ok` for 0, the error for the negative codes PSCI defines.
    pub fn check(code: i64) -> Result<(), PsciError> {
        Err(match code {
            0 => return Ok(()),
            -1 => Self::NotSupported,
            -2 => Self::InvalidParameters,
            -3 => Self::Denied,
            -4 => Self::AlreadyOn,
            -5 => Self::OnPending,
            -6 => Self::InternalFailure,
            -7 => Self::NotPresent,
            -8 => Self::Disabled,
            -9 => Self::InvalidAddress,
            other => Self::Unknown(other),
        })
    }
}

impl core::fmt::Display for PsciError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Unknown(code) => write!(f, "PSCI error {code}"),
            known => write!(f, "PSCI {known:?}"),
        }
    }
}

/// Calls PSCI firmware through `conduit` and returns its x0.
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub fn call(conduit: crate::dt::PsciConduit, function: u32, args: [u64; 3]) -> i64 {
    let mut x0 = function as u64;
    // SAFETY: an SMCCC call: firmware may change x0-x17 (declared clobbered)
    // and preserves everything else, memory included, except what the call
    // is about (starting a CPU at an entry point cordon owns).
    unsafe {
        match conduit {
            crate::dt::PsciConduit::Smc => core::arch::asm!(
                "smc #0",
                inout("x0") x0, inout("x1") args[0] => _, inout("x2") args[1] => _,
                inout("x3") args[2] => _, out("x4") _, out("x5") _, out("x6") _, out("x7") _,
                out("x8") _, out("x9") _, out("x10") _, out("x11") _, out("x12") _,
                out("x13") _, out("x14") _, out("x15") _, out("x16") _, out("x17") _,
                options(nostack)
            ),
            crate::dt::PsciConduit::Hvc => core::arch::asm!(
                "hvc #0",
                inout("x0") x0, inout("x1") args[0] => _, inout("x2") args[1] => _,
                inout("x3") args[2] => _, out("x4") _, out("x5") _, out("x6") _, out("x7") _,
                out("x8") _, out("x9") _, out("x10") _, out("x11") _, out("x12") _,
                out("x13") _, out("x14") _, out("x15") _, out("x16") _, out("x17") _,
                options(nostack)
            ),
        }
    }
    x0 as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_codes() {
        assert_eq!(PsciError::check(0), Ok(()));
        assert_eq!(PsciError::check(-4), Err(PsciError::AlreadyOn));
        assert_eq!(PsciError::check(-42), Err(PsciError::Unknown(-42)));
        assert_eq!(PsciError::AlreadyOn.to_string(), "PSCI AlreadyOn");
    }
}
