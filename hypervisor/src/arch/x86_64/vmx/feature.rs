//! Whether a CPU can run VMX: CPUID says it has VMX, and the firmware has
//! not locked `IA32_FEATURE_CONTROL` with VMX off.

use core::fmt;

/// CPUID leaf 1, ECX: the CPU implements VMX.
pub const CPUID_1_ECX_VMX: u32 = 1 << 5;
/// The MSR through which firmware allows or forbids VMXON.
pub const IA32_FEATURE_CONTROL: u32 = 0x3a;
/// `IA32_FEATURE_CONTROL`: writes are refused until reset.
const LOCK: u64 = 1 << 0;
/// `IA32_FEATURE_CONTROL`: VMXON is allowed outside SMX operation.
const VMX_OUTSIDE_SMX: u64 = 1 << 2;

/// Why a CPU cannot run VMX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmxUnavailable {
    /// CPUID.1:ECX.VMX is 0: no VT-x, or a hypervisor/emulator hides it.
    NotInCpu,
    /// The firmware locked `IA32_FEATURE_CONTROL` with VMX off.
    LockedOffByFirmware { feature_control: u64 },
}

impl fmt::Display for VmxUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotInCpu => f.write_str(
                "no VMX: this CPU does not report Intel VT-x (CPUID.1:ECX.VMX = 0); cordon \
                 needs a CPU with VT-x, not hidden by an emulator or an outer hypervisor",
            ),
            Self::LockedOffByFirmware { feature_control } => write!(
                f,
                "no VMX: the firmware locked IA32_FEATURE_CONTROL ({feature_control:#x}) with \
                 VMX disabled; enable Intel Virtualization Technology (VT-x) in the firmware setup"
            ),
        }
    }
}

/// What cordon must do to `IA32_FEATURE_CONTROL` before VMXON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureControl {
    /// Locked with VMX allowed: nothing.
    Ready,
    /// Unlocked: write this value (VMX allowed, locked).
    Write(u64),
}

/// Decides from CPUID.1:ECX and `IA32_FEATURE_CONTROL` whether VMX can be
/// used, and how to enable it. `feature_control` is only read if CPUID
/// reports VMX (the MSR may not exist otherwise), so it is a closure.
pub fn check(
    cpuid_1_ecx: u32,
    feature_control: impl FnOnce() -> u64,
) -> Result<FeatureControl, VmxUnavailable> {
    if cpuid_1_ecx & CPUID_1_ECX_VMX == 0 {
        return Err(VmxUnavailable::NotInCpu);
    }
    let value = feature_control();
    match (value & LOCK != 0, value & VMX_OUTSIDE_SMX != 0) {
        (true, true) => Ok(FeatureControl::Ready),
        (true, false) => Err(VmxUnavailable::LockedOffByFirmware {
            feature_control: value,
        }),
        (false, _) => Ok(FeatureControl::Write(value | VMX_OUTSIDE_SMX | LOCK)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_vmx_in_cpuid_never_reads_the_msr() {
        let result = check(0, || panic!("the MSR must not be read"));
        assert_eq!(result, Err(VmxUnavailable::NotInCpu));
        assert!(result.unwrap_err().to_string().starts_with("no VMX:"));
    }

    #[test]
    fn locked_on_is_ready_and_locked_off_is_an_error() {
        assert_eq!(
            check(CPUID_1_ECX_VMX, || LOCK | VMX_OUTSIDE_SMX),
            Ok(FeatureControl::Ready)
        );
        let error = check(CPUID_1_ECX_VMX, || LOCK).unwrap_err();
        assert_eq!(
            error,
            VmxUnavailable::LockedOffByFirmware {
                feature_control: LOCK
            }
        );
        assert!(error.to_string().contains("firmware setup"));
    }

    #[test]
    fn unlocked_is_enabled_and_locked_keeping_other_bits() {
        const SENTER_BITS: u64 = 0x7f << 8;
        assert_eq!(
            check(CPUID_1_ECX_VMX | 1, || SENTER_BITS),
            Ok(FeatureControl::Write(SENTER_BITS | VMX_OUTSIDE_SMX | LOCK))
        );
    }
}
