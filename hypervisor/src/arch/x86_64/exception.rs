//! CPU exceptions (vectors 0-31): their names, which push an error code,
//! and what a page fault's error code says.

use core::fmt;

/// Vectors below this are exceptions the CPU defines.
pub const EXCEPTION_COUNT: usize = 32;
/// The general-protection vector (also what cordon gives a guest for an
/// MSR it may not touch).
pub const GENERAL_PROTECTION: u8 = 13;
/// The page-fault vector, whose report adds CR2 and the decoded error code.
pub const PAGE_FAULT: u8 = 14;

/// Mnemonic and description of each exception vector.
const NAMES: [(&str, &str); EXCEPTION_COUNT] = [
    ("#DE", "divide error"),
    ("#DB", "debug"),
    ("NMI", "non-maskable interrupt"),
    ("#BP", "breakpoint"),
    ("#OF", "overflow"),
    ("#BR", "bound range exceeded"),
    ("#UD", "invalid opcode"),
    ("#NM", "device not available"),
    ("#DF", "double fault"),
    ("#09", "coprocessor segment overrun"),
    ("#TS", "invalid TSS"),
    ("#NP", "segment not present"),
    ("#SS", "stack-segment fault"),
    ("#GP", "general protection"),
    ("#PF", "page fault"),
    ("#15", "reserved"),
    ("#MF", "x87 floating-point error"),
    ("#AC", "alignment check"),
    ("#MC", "machine check"),
    ("#XM", "SIMD floating-point"),
    ("#VE", "virtualization exception"),
    ("#CP", "control protection"),
    ("#22", "reserved"),
    ("#23", "reserved"),
    ("#24", "reserved"),
    ("#25", "reserved"),
    ("#26", "reserved"),
    ("#27", "reserved"),
    ("#HV", "hypervisor injection"),
    ("#VC", "VMM communication"),
    ("#SX", "security exception"),
    ("#31", "reserved"),
];

/// Exceptions for which the CPU pushes an error code.
const WITH_ERROR_CODE: [u8; 10] = [8, 10, 11, 12, 13, 14, 17, 21, 29, 30];

/// Whether the CPU pushes an error code for `vector`.
pub fn has_error_code(vector: u8) -> bool {
    WITH_ERROR_CODE.contains(&vector)
}

/// An exception vector, shown as "#PF (page fault, vector 14)".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vector(pub u8);

impl fmt::Display for Vector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match NAMES.get(usize::from(self.0)) {
            Some((mnemonic, description)) => {
                write!(f, "{mnemonic} ({description}, vector {})", self.0)
            }
            None => write!(f, "interrupt vector {}", self.0),
        }
    }
}

/// Page-fault error code bits, from bit 0 up: what each means when set,
/// and when clear (if that says something).
const PAGE_FAULT_BITS: [(&str, &str); 6] = [
    ("protection violation", "page not present"),
    ("write", "read"),
    ("user mode", "supervisor mode"),
    ("reserved bit set", ""),
    ("instruction fetch", ""),
    ("protection key", ""),
];

/// A page fault's error code, shown as "page not present, write, ...".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageFaultCode(pub u64);

impl fmt::Display for PageFaultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (bit, (set, clear)) in PAGE_FAULT_BITS.iter().enumerate() {
            let text = if self.0 & (1 << bit) != 0 { set } else { clear };
            if text.is_empty() {
                continue;
            }
            if !first {
                f.write_str(", ")?;
            }
            f.write_str(text)?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_have_names() {
        assert_eq!(
            Vector(PAGE_FAULT).to_string(),
            "#PF (page fault, vector 14)"
        );
        assert_eq!(
            Vector(GENERAL_PROTECTION).to_string(),
            "#GP (general protection, vector 13)"
        );
        assert_eq!(Vector(0).to_string(), "#DE (divide error, vector 0)");
        assert_eq!(Vector(200).to_string(), "interrupt vector 200");
    }

    #[test]
    fn error_codes_follow_the_sdm() {
        assert!(has_error_code(8));
        assert!(has_error_code(PAGE_FAULT));
        assert!(!has_error_code(6));
        assert!(!has_error_code(3));
    }

    #[test]
    fn page_fault_codes_are_decoded() {
        assert_eq!(
            PageFaultCode(0).to_string(),
            "page not present, read, supervisor mode"
        );
        assert_eq!(
            PageFaultCode(0b1_0111).to_string(),
            "protection violation, write, user mode, instruction fetch"
        );
        assert_eq!(
            PageFaultCode(0b1000).to_string(),
            "page not present, read, supervisor mode, reserved bit set"
        );
    }
}
