//! VM-execution, VM-exit and VM-entry controls, adjusted to what the CPU
//! allows. Each control's capability MSR says, per bit, whether it may be 0
//! (low half: a 1 there means the bit must be 1) and whether it may be 1
//! (high half); cordon asks for some bits it needs and some it can do
//! without, and gets an error naming a needed bit the CPU refuses.

use core::fmt;

/// IA32_VMX_BASIC: whether the TRUE_* capability MSRs exist (they allow
/// clearing some default-1 bits).
pub const BASIC_TRUE_CONTROLS: u64 = 1 << 55;

/// Which control word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    PinBased,
    PrimaryProcessorBased,
    SecondaryProcessorBased,
    Exit,
    Entry,
}

impl Control {
    /// The capability MSR for this control: the TRUE_* one if `basic`
    /// (IA32_VMX_BASIC) says it exists.
    pub fn capability_msr(self, basic: u64) -> u32 {
        let true_controls = basic & BASIC_TRUE_CONTROLS != 0;
        match (self, true_controls) {
            (Self::PinBased, false) => 0x481,
            (Self::PinBased, true) => 0x48d,
            (Self::PrimaryProcessorBased, false) => 0x482,
            (Self::PrimaryProcessorBased, true) => 0x48e,
            (Self::Exit, false) => 0x483,
            (Self::Exit, true) => 0x48f,
            (Self::Entry, false) => 0x484,
            (Self::Entry, true) => 0x490,
            (Self::SecondaryProcessorBased, _) => 0x48b,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::PinBased => "pin-based VM-execution",
            Self::PrimaryProcessorBased => "primary processor-based VM-execution",
            Self::SecondaryProcessorBased => "secondary processor-based VM-execution",
            Self::Exit => "VM-exit",
            Self::Entry => "VM-entry",
        }
    }
}

/// A control bit cordon needs that the CPU cannot set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsupported {
    pub control: Control,
    /// The needed bits the CPU does not allow to be 1.
    pub bits: u32,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "this CPU's VT-x lacks {} controls cordon needs (bits {:#010x})",
            self.control.name(),
            self.bits
        )
    }
}

/// The value of `control`: the bits the CPU requires, plus `required`
/// (all of which must be allowed), plus those of `optional` it allows.
/// `capability` is the control's capability MSR.
pub fn adjust(
    control: Control,
    required: u32,
    optional: u32,
    capability: u64,
) -> Result<u32, Unsupported> {
    let must_be_one = capability as u32;
    let may_be_one = (capability >> 32) as u32;
    let refused = required & !may_be_one;
    if refused != 0 {
        return Err(Unsupported {
            control,
            bits: refused,
        });
    }
    Ok(must_be_one | required | (optional & may_be_one))
}

/// CR0 or CR4 adjusted for VMX operation: bits IA32_VMX_CRn_FIXED0 sets
/// must be 1, bits IA32_VMX_CRn_FIXED1 clears must be 0.
pub fn fixed_cr(value: u64, fixed0: u64, fixed1: u64) -> u64 {
    (value | fixed0) & fixed1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A capability MSR value: `must` bits fixed to 1, `may` bits allowed 1.
    fn capability(must: u32, may: u32) -> u64 {
        (u64::from(may) << 32) | u64::from(must)
    }

    #[test]
    fn default_one_bits_are_kept_and_optional_bits_filtered() {
        let msr = capability(0x16, 0x16 | 0x80 | 0x1_0000);
        assert_eq!(
            adjust(Control::PinBased, 0x80, 0x1_0000 | 0x100, msr),
            Ok(0x16 | 0x80 | 0x1_0000)
        );
    }

    #[test]
    fn a_refused_required_bit_is_named() {
        let msr = capability(0, 0x0000_00ff);
        let error = adjust(Control::Entry, 0x0000_8200, 0, msr).unwrap_err();
        assert_eq!(
            error,
            Unsupported {
                control: Control::Entry,
                bits: 0x0000_8200
            }
        );
        assert_eq!(
            error.to_string(),
            "this CPU's VT-x lacks VM-entry controls cordon needs (bits 0x00008200)"
        );
    }

    /// The TRUE_* MSRs are chosen only when IA32_VMX_BASIC says they exist.
    #[test]
    fn true_capability_msrs_are_used_when_present() {
        // Revision 1, 1 KiB VMXON region and VMCS, no TRUE_* MSRs.
        let basic_without = 0x0000_0400_0000_0001;
        let basic_with = basic_without | BASIC_TRUE_CONTROLS;
        assert_eq!(Control::Exit.capability_msr(basic_without), 0x483);
        assert_eq!(Control::Exit.capability_msr(basic_with), 0x48f);
        assert_eq!(
            Control::SecondaryProcessorBased.capability_msr(basic_with),
            0x48b
        );
    }

    #[test]
    fn control_registers_follow_the_fixed_bits() {
        const CR0_PE: u64 = 1;
        const CR0_NE: u64 = 1 << 5;
        const CR0_CD: u64 = 1 << 30;
        const CR0_PG: u64 = 1 << 31;
        let fixed0 = CR0_PE | CR0_NE | CR0_PG;
        let fixed1 = 0xffff_ffff & !CR0_CD;
        assert_eq!(fixed_cr(CR0_PE | CR0_PG | CR0_CD, fixed0, fixed1), fixed0);
    }
}
