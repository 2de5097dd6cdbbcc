//! Why a VM exited: the basic exit reasons cordon handles, by number
//! (Intel SDM, "Basic VM-Exit Reasons").

use core::fmt;

/// Exit-reason bit 31: the VM entry failed (the guest state was refused).
const ENTRY_FAILURE: u32 = 1 << 31;
/// The basic reason is the low 16 bits.
const BASIC_MASK: u32 = 0xffff;

/// A basic exit reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitReason {
    ExceptionOrNmi,
    ExternalInterrupt,
    TripleFault,
    InitSignal,
    Cpuid,
    Hlt,
    Vmcall,
    ControlRegisterAccess,
    IoInstruction,
    Rdmsr,
    Wrmsr,
    InvalidGuestState,
    EptViolation,
    EptMisconfiguration,
    /// Any other VMX instruction the guest tried (VMX is hidden from it).
    VmxInstruction(u16),
    Other(u16),
}

impl ExitReason {
    /// Decodes the VMCS exit-reason field; the flag says whether the VM
    /// entry failed.
    pub fn decode(field: u32) -> (Self, bool) {
        let basic = (field & BASIC_MASK) as u16;
        let reason = match basic {
            0 => Self::ExceptionOrNmi,
            1 => Self::ExternalInterrupt,
            2 => Self::TripleFault,
            3 => Self::InitSignal,
            10 => Self::Cpuid,
            12 => Self::Hlt,
            18 => Self::Vmcall,
            19..=27 | 50 | 53 | 58 => Self::VmxInstruction(basic),
            28 => Self::ControlRegisterAccess,
            30 => Self::IoInstruction,
            31 => Self::Rdmsr,
            32 => Self::Wrmsr,
            33 => Self::InvalidGuestState,
            48 => Self::EptViolation,
            49 => Self::EptMisconfiguration,
            other => Self::Other(other),
        };
        (reason, field & ENTRY_FAILURE != 0)
    }
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::ExceptionOrNmi => "exception or NMI",
            Self::ExternalInterrupt => "external interrupt",
            Self::TripleFault => "triple fault",
            Self::InitSignal => "INIT signal",
            Self::Cpuid => "CPUID",
            Self::Hlt => "HLT",
            Self::Vmcall => "VMCALL",
            Self::ControlRegisterAccess => "control-register access",
            Self::IoInstruction => "I/O instruction",
            Self::Rdmsr => "RDMSR",
            Self::Wrmsr => "WRMSR",
            Self::InvalidGuestState => "VM entry with invalid guest state",
            Self::EptViolation => "EPT violation",
            Self::EptMisconfiguration => "EPT misconfiguration",
            Self::VmxInstruction(number) => return write!(f, "VMX instruction (reason {number})"),
            Self::Other(number) => return write!(f, "exit reason {number}"),
        };
        f.write_str(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_decode_with_the_entry_failure_flag() {
        assert_eq!(ExitReason::decode(12), (ExitReason::Hlt, false));
        assert_eq!(ExitReason::decode(18), (ExitReason::Vmcall, false));
        assert_eq!(
            ExitReason::decode(0x8000_0021),
            (ExitReason::InvalidGuestState, true)
        );
        assert_eq!(
            ExitReason::decode(24),
            (ExitReason::VmxInstruction(24), false)
        );
        assert_eq!(ExitReason::decode(99).0.to_string(), "exit reason 99");
        assert_eq!(ExitReason::decode(48).0.to_string(), "EPT violation");
    }
}
