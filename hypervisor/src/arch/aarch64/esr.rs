//! Decoding the Exception Syndrome Register (ESR_ELx): what an exception was.

/// Exception class, ESR bits [31:26].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ExceptionClass(pub u8);

const EC_SHIFT: u32 = 26;
const EC_MASK: u64 = 0x3f;
const ISS_MASK: u64 = 0x1ff_ffff;

pub const EC_DATA_ABORT_LOWER: u8 = 0x24;
pub const EC_DATA_ABORT_SAME: u8 = 0x25;
pub const EC_INSTRUCTION_ABORT_LOWER: u8 = 0x20;
pub const EC_INSTRUCTION_ABORT_SAME: u8 = 0x21;

impl ExceptionClass {
    pub fn of(esr: u64) -> Self {
        Self(((esr >> EC_SHIFT) & EC_MASK) as u8)
    }

    pub fn description(self) -> &'static str {
        match self.0 {
            0x00 => "unknown reason (undefined instruction)",
            0x01 => "WFI or WFE",
            0x07 => "FP/SIMD access trapped",
            0x0e => "illegal execution state",
            0x15 => "SVC from AArch64",
            0x16 => "HVC from AArch64",
            0x17 => "SMC from AArch64",
            0x18 => "MSR, MRS or system instruction",
            EC_INSTRUCTION_ABORT_LOWER => "instruction abort from a lower EL",
            EC_INSTRUCTION_ABORT_SAME => "instruction abort without a change of EL",
            0x22 => "PC alignment fault",
            EC_DATA_ABORT_LOWER => "data abort from a lower EL",
            EC_DATA_ABORT_SAME => "data abort without a change of EL",
            0x26 => "SP alignment fault",
            0x2c => "floating-point exception",
            0x2f => "SError interrupt",
            0x30 | 0x31 => "breakpoint",
            0x32 | 0x33 => "software step",
            0x34 | 0x35 => "watchpoint",
            0x3c => "BRK instruction",
            _ => "reserved or unhandled class",
        }
    }

    pub fn is_abort(self) -> bool {
        matches!(
            self.0,
            EC_DATA_ABORT_LOWER
                | EC_DATA_ABORT_SAME
                | EC_INSTRUCTION_ABORT_LOWER
                | EC_INSTRUCTION_ABORT_SAME
        )
    }
}

/// Instruction-specific syndrome, ESR bits [24:0].
pub fn iss(esr: u64) -> u32 {
    (esr & ISS_MASK) as u32
}

/// Data/instruction fault status code (ISS bits [5:0]) of an abort, in words.
pub fn fault_status(iss: u32) -> FaultStatus {
    let code = (iss & 0x3f) as u8;
    let level = code & 0b11;
    match code >> 2 {
        0b0000 => FaultStatus::AddressSize(level),
        0b0001 => FaultStatus::Translation(level),
        0b0010 => FaultStatus::AccessFlag(level),
        0b0011 => FaultStatus::Permission(level),
        _ if code == 0b01_0000 => FaultStatus::SynchronousExternal,
        _ if code == 0b10_0001 => FaultStatus::Alignment,
        _ => FaultStatus::Other(code),
    }
}

/// ISS bit 6 of a data abort: the access was a write.
pub fn is_write(iss: u32) -> bool {
    iss & (1 << 6) != 0
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FaultStatus {
    AddressSize(u8),
    Translation(u8),
    AccessFlag(u8),
    Permission(u8),
    SynchronousExternal,
    Alignment,
    Other(u8),
}

impl core::fmt::Display for FaultStatus {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::AddressSize(level) => write!(f, "address size fault, level {level}"),
            Self::Translation(level) => write!(f, "translation fault, level {level}"),
            Self::AccessFlag(level) => write!(f, "access flag fault, level {level}"),
            Self::Permission(level) => write!(f, "permission fault, level {level}"),
            Self::SynchronousExternal => write!(f, "synchronous external abort"),
            Self::Alignment => write!(f, "alignment fault"),
            Self::Other(code) => write!(f, "fault status code {code:#04x}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_translation_fault_on_a_read() {
        // Data abort at EL2, level 3 translation fault, read.
        let esr = 0x9600_0007;
        let class = ExceptionClass::of(esr);
        assert_eq!(class, ExceptionClass(EC_DATA_ABORT_SAME));
        assert!(class.is_abort());
        assert_eq!(class.description(), "data abort without a change of EL");
        assert_eq!(fault_status(iss(esr)), FaultStatus::Translation(3));
        assert!(!is_write(iss(esr)));
        assert_eq!(
            fault_status(iss(esr)).to_string(),
            "translation fault, level 3"
        );
    }

    #[test]
    fn decodes_other_classes() {
        assert_eq!(
            ExceptionClass::of(0x5a00_0000).description(),
            "HVC from AArch64"
        );
        assert!(!ExceptionClass::of(0x5e00_0000).is_abort());
        assert_eq!(fault_status(0x4f), FaultStatus::Permission(3));
        assert!(is_write(0x4f));
        assert_eq!(fault_status(0x21), FaultStatus::Alignment);
    }
}
