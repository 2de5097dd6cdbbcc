//! Thin wrappers around the VMX instructions, each reporting VMfailInvalid
//! (CF) and VMfailValid (ZF, with the VM-instruction error number).

use core::arch::asm;
use core::fmt;

use super::fields::Field;

/// A VMX instruction that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmFail {
    /// No current VMCS, or a bad pointer (VMfailInvalid).
    Invalid,
    /// The current VMCS's VM-instruction error field says why (VMfailValid).
    Valid(u32),
}

impl fmt::Display for VmFail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid => f.write_str("VMfailInvalid (no current VMCS or a bad address)"),
            Self::Valid(error) => write!(f, "VMfailValid, VM-instruction error {error}"),
        }
    }
}

/// What the flags after a VMX instruction say.
fn outcome(carry: u8, zero: u8) -> Result<(), VmFail> {
    match (carry, zero) {
        (0, 0) => Ok(()),
        (0, _) => Err(VmFail::Valid(
            // SAFETY: VMfailValid means there is a current VMCS.
            unsafe { vmread(Field::InstructionError) } as u32,
        )),
        _ => Err(VmFail::Invalid),
    }
}

/// Defines a wrapper for a VMX instruction whose operand is a physical
/// address in memory.
macro_rules! address_instruction {
    ($(#[$doc:meta])* $name:ident, $mnemonic:literal) => {
        $(#[$doc])*
        pub unsafe fn $name(address: u64) -> Result<(), VmFail> {
            let (carry, zero): (u8, u8);
            // SAFETY: as the caller promised.
            unsafe {
                asm!(concat!($mnemonic, " qword ptr [{}]"), "setc {}", "setz {}",
                     in(reg) &address, out(reg_byte) carry, out(reg_byte) zero,
                     options(nostack));
            }
            outcome(carry, zero)
        }
    };
}

address_instruction!(
    /// Enters VMX operation with the VMXON region at physical `address`.
    ///
    /// # Safety
    /// CR4.VMXE must be set, CR0/CR4 adjusted to the fixed bits, and
    /// `address` a 4 KiB-aligned page holding the VMCS revision, used for
    /// nothing else.
    vmxon,
    "vmxon"
);

address_instruction!(
    /// Clears the VMCS at physical `address` (inactive and launchable).
    ///
    /// # Safety
    /// In VMX operation; `address` a 4 KiB-aligned page holding the
    /// revision, this VMCS's alone.
    vmclear,
    "vmclear"
);

address_instruction!(
    /// Makes the VMCS at physical `address` current.
    ///
    /// # Safety
    /// As for [`vmclear`].
    vmptrld,
    "vmptrld"
);

/// Reads `field` of the current VMCS.
///
/// # Safety
/// There must be a current VMCS.
pub unsafe fn vmread(field: Field) -> u64 {
    let value: u64;
    // SAFETY: as the caller promised; every `Field` exists on VT-x CPUs.
    unsafe {
        asm!("vmread {}, {}", out(reg) value, in(reg) field as u64, options(nostack));
    }
    value
}

/// Writes `value` to `field` of the current VMCS.
///
/// # Safety
/// There must be a current VMCS; the value must not let the guest reach
/// what it was not given.
pub unsafe fn vmwrite(field: Field, value: u64) -> Result<(), VmFail> {
    let (carry, zero): (u8, u8);
    // SAFETY: as the caller promised.
    unsafe {
        asm!("vmwrite {}, {}", "setc {}", "setz {}", in(reg) field as u64, in(reg) value,
             out(reg_byte) carry, out(reg_byte) zero, options(nostack));
    }
    outcome(carry, zero)
}
