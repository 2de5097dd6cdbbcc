//! PSCI (Arm Power State Coordination Interface, DEN0022): function IDs and
//! return codes; the call itself on the firmware conduit.

/// Function IDs (SMC32 unless named _64).
pub const VERSION: u32 = 0x8400_0000;
pub const CPU_OFF: u32 = 0x8400_0002;
pub const CPU_ON: u32 = 0x8400_0003;
pub const CPU_ON_64: u32 = 0xc400_0003;
pub const AFFINITY_INFO: u32 = 0x8400_0004;
pub const AFFINITY_INFO_64: u32 = 0xc400_0004;
pub const MIGRATE_INFO_TYPE: u32 = 0x8400_0006;
pub const SYSTEM_OFF: u32 = 0x8400_0008;
pub const SYSTEM_RESET: u32 = 0x8400_0009;
pub const FEATURES: u32 = 0x8400_000a;

/// PSCI version cordon offers guests: 1.1.
pub const GUEST_VERSION: u64 = 0x0001_0001;
/// MIGRATE_INFO_TYPE answer: no Trusted OS, nothing to migrate.
pub const MIGRATE_NOT_REQUIRED: u64 = 2;
/// Return code of an unsupported function.
pub const NOT_SUPPORTED: i64 = -1;
pub const INVALID_PARAMETERS: i64 = -2;
pub const ALREADY_ON: i64 = -4;

/// cordon's own hypercalls: the SMCCC vendor-specific hypervisor service
/// range (owning entity 6), fast calls, SMC64.
pub const CORDON_HYPERCALL_FIRST: u32 = 0xc600_0000;
pub const CORDON_HYPERCALL_LAST: u32 = 0xc600_ffff;
/// The first cordon hypercall: returns cordon's hypercall ABI version.
pub const CORDON_ABI_VERSION: u32 = CORDON_HYPERCALL_FIRST;
/// Hypercall ABI version: major in bits 31:16, minor in 15:0.
pub const CORDON_ABI: u64 = 0x0000_0001;

/// What a guest asked for with an HVC or SMC (x0 = function, x1-x3 = args).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum GuestCall {
    Version,
    Features(u32),
    CpuOn {
        target: u64,
        entry: u64,
        context: u64,
    },
    CpuOff,
    AffinityInfo {
        target: u64,
        level: u64,
    },
    MigrateInfoType,
    SystemOff,
    SystemReset,
    /// One of cordon's hypercalls.
    Cordon(u32),
    /// Anything else: refused with NOT_SUPPORTED.
    Unsupported(u32),
}

impl GuestCall {
    pub fn decode(function: u64, args: [u64; 3]) -> Self {
        let Ok(function) = u32::try_from(function) else {
            return Self::Unsupported(u32::MAX);
        };
        // SMC32 calls take 32-bit arguments.
        let arg = |n: usize| {
            if function & (1 << 30) == 0 {
                args[n] & u32::MAX as u64
            } else {
                args[n]
            }
        };
        match function {
            VERSION => Self::Version,
            FEATURES => Self::Features(arg(0) as u32),
            CPU_ON | CPU_ON_64 => Self::CpuOn {
                target: arg(0),
                entry: arg(1),
                context: arg(2),
            },
            CPU_OFF => Self::CpuOff,
            AFFINITY_INFO | AFFINITY_INFO_64 => Self::AffinityInfo {
                target: arg(0),
                level: arg(1),
            },
            MIGRATE_INFO_TYPE => Self::MigrateInfoType,
            SYSTEM_OFF => Self::SystemOff,
            SYSTEM_RESET => Self::SystemReset,
            CORDON_HYPERCALL_FIRST..=CORDON_HYPERCALL_LAST => Self::Cordon(function),
            other => Self::Unsupported(other),
        }
    }

    /// PSCI_FEATURES answer for `function`: 0 if cordon implements it.
    pub fn features(function: u32) -> i64 {
        let implemented = [
            VERSION,
            FEATURES,
            CPU_ON,
            CPU_ON_64,
            CPU_OFF,
            AFFINITY_INFO,
            AFFINITY_INFO_64,
            MIGRATE_INFO_TYPE,
            SYSTEM_OFF,
            SYSTEM_RESET,
        ];
        if implemented.contains(&function) {
            0
        } else {
            NOT_SUPPORTED
        }
    }
}

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
    macro_rules! smccc {
        ($instruction:literal) => {
            // SAFETY: an SMCCC call: firmware may change x0-x17 (declared
            // clobbered) and preserves everything else, memory included,
            // except what the call is about (starting a CPU at an entry
            // point cordon owns).
            unsafe {
                core::arch::asm!(
                    $instruction,
                    inout("x0") x0, inout("x1") args[0] => _, inout("x2") args[1] => _,
                    inout("x3") args[2] => _, out("x4") _, out("x5") _, out("x6") _,
                    out("x7") _, out("x8") _, out("x9") _, out("x10") _, out("x11") _,
                    out("x12") _, out("x13") _, out("x14") _, out("x15") _, out("x16") _,
                    out("x17") _, options(nostack)
                )
            }
        };
    }
    match conduit {
        crate::dt::PsciConduit::Smc => smccc!("smc #0"),
        crate::dt::PsciConduit::Hvc => smccc!("hvc #0"),
    }
    x0 as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_guest_calls() {
        assert_eq!(GuestCall::decode(0x8400_0000, [0; 3]), GuestCall::Version);
        assert_eq!(
            GuestCall::decode(0xc400_0003, [1, 0x4008_0000, 0x55]),
            GuestCall::CpuOn {
                target: 1,
                entry: 0x4008_0000,
                context: 0x55
            }
        );
        // SMC32 CPU_ON: arguments are 32 bits.
        assert_eq!(
            GuestCall::decode(0x8400_0003, [0xffff_ffff_0000_0001, 0x1_4008_0000, 0]),
            GuestCall::CpuOn {
                target: 1,
                entry: 0x4008_0000,
                context: 0
            }
        );
        assert_eq!(GuestCall::decode(0x8400_0008, [0; 3]), GuestCall::SystemOff);
        assert_eq!(
            GuestCall::decode(0xc600_0000, [0; 3]),
            GuestCall::Cordon(0xc600_0000)
        );
        assert_eq!(
            GuestCall::decode(0x8200_0000, [0; 3]),
            GuestCall::Unsupported(0x8200_0000)
        );
        assert_eq!(
            GuestCall::decode(0x1_8400_0000, [0; 3]),
            GuestCall::Unsupported(u32::MAX),
            "function IDs are 32 bits"
        );
    }

    #[test]
    fn features_lists_what_is_implemented() {
        assert_eq!(GuestCall::features(CPU_ON_64), 0);
        assert_eq!(GuestCall::features(SYSTEM_RESET), 0);
        assert_eq!(GuestCall::features(0x8400_000c), NOT_SUPPORTED);
    }

    #[test]
    fn return_codes() {
        assert_eq!(PsciError::check(0), Ok(()));
        assert_eq!(PsciError::check(-4), Err(PsciError::AlreadyOn));
        assert_eq!(PsciError::check(-42), Err(PsciError::Unknown(-42)));
        assert_eq!(PsciError::AlreadyOn.to_string(), "PSCI AlreadyOn");
    }
}
