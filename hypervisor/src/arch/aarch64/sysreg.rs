//! Decoding a trapped system-register access or system instruction (ESR
//! class 0x18), and sorting the ones cordon handles.

/// ISS fields of an MSR/MRS/system-instruction trap.
const DIRECTION_READ: u32 = 1 << 0;
const CRM_SHIFT: u32 = 1;
const RT_SHIFT: u32 = 5;
const CRN_SHIFT: u32 = 10;
const OP1_SHIFT: u32 = 14;
const OP2_SHIFT: u32 = 17;
const OP0_SHIFT: u32 = 20;
/// Encodings of the PMU's registers: Op0 3, CRn 9 with CRm 12-14 (PMCR,
/// counters' enables, PMCCNTR, PMUSERENR, PMINTEN...), CRn 14 with CRm 8-15
/// (event counters and types, PMCCFILTR).
const PMU_OP0: u8 = 3;
const PMU_CRN_CONTROL: u8 = 9;
const PMU_CRM_CONTROL: core::ops::RangeInclusive<u8> = 12..=14;
const PMU_CRN_EVENTS: u8 = 14;
const PMU_CRM_EVENTS: core::ops::RangeInclusive<u8> = 8..=15;
/// DC ISW, DC CSW, DC CISW: Op0 1, Op1 0, CRn 7, Op2 2, CRm 6/10/14.
const DC_SET_WAY_CRN: u8 = 7;
const DC_SET_WAY_OP2: u8 = 2;
const DC_SET_WAY_CRMS: [u8; 3] = [6, 10, 14];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SystemAccess {
    pub op0: u8,
    pub op1: u8,
    pub crn: u8,
    pub crm: u8,
    pub op2: u8,
    /// The general-purpose register transferred (31 = zero register).
    pub register: u8,
    /// MRS (read) rather than MSR or a system instruction.
    pub read: bool,
}

impl SystemAccess {
    pub fn decode(iss: u32) -> Self {
        let field = |shift: u32, bits: u32| ((iss >> shift) & ((1 << bits) - 1)) as u8;
        Self {
            op0: field(OP0_SHIFT, 2),
            op1: field(OP1_SHIFT, 3),
            crn: field(CRN_SHIFT, 4),
            crm: field(CRM_SHIFT, 4),
            op2: field(OP2_SHIFT, 3),
            register: field(RT_SHIFT, 5),
            read: iss & DIRECTION_READ != 0,
        }
    }

    /// A data-cache maintenance by set/way (DC ISW, CSW, CISW).
    pub fn is_set_way_maintenance(&self) -> bool {
        self.op0 == 1
            && self.op1 == 0
            && self.crn == DC_SET_WAY_CRN
            && self.op2 == DC_SET_WAY_OP2
            && DC_SET_WAY_CRMS.contains(&self.crm)
    }

    /// A PMU register. Guests see a PMU without counters: its registers
    /// read as zero and ignore writes, so a guest can neither count what
    /// cordon does at EL2 nor disturb counters of its own CPU.
    pub fn is_pmu(&self) -> bool {
        self.op0 == PMU_OP0
            && ((self.crn == PMU_CRN_CONTROL && PMU_CRM_CONTROL.contains(&self.crm))
                || (self.crn == PMU_CRN_EVENTS && PMU_CRM_EVENTS.contains(&self.crm)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iss(op0: u32, op1: u32, crn: u32, crm: u32, op2: u32, rt: u32, read: bool) -> u32 {
        (op0 << OP0_SHIFT)
            | (op2 << OP2_SHIFT)
            | (op1 << OP1_SHIFT)
            | (crn << CRN_SHIFT)
            | (rt << RT_SHIFT)
            | (crm << CRM_SHIFT)
            | read as u32
    }

    #[test]
    fn decodes_fields() {
        // mrs x7, pmccntr_el0: S3_3_C9_C13_0
        let access = SystemAccess::decode(iss(3, 3, 9, 13, 0, 7, true));
        assert_eq!(
            access,
            SystemAccess {
                op0: 3,
                op1: 3,
                crn: 9,
                crm: 13,
                op2: 0,
                register: 7,
                read: true
            }
        );
        assert!(access.is_pmu());
    }

    #[test]
    fn pmu_registers() {
        // PMCR_EL0, PMUSERENR_EL0, PMINTENSET_EL1, PMCCFILTR_EL0, PMEVTYPER0_EL0.
        for (op1, crn, crm, op2) in [
            (3, 9, 12, 0),
            (3, 9, 14, 0),
            (0, 9, 14, 1),
            (3, 14, 15, 7),
            (3, 14, 12, 0),
        ] {
            assert!(SystemAccess::decode(iss(3, op1, crn, crm, op2, 0, false)).is_pmu());
        }
        // CNTP_CTL_EL0 (S3_3_C14_C2_1) and SPE's PMSCR_EL1 (S3_0_C9_C9_0) are not.
        assert!(!SystemAccess::decode(iss(3, 3, 14, 2, 1, 0, true)).is_pmu());
        assert!(!SystemAccess::decode(iss(3, 0, 9, 9, 0, 0, true)).is_pmu());
    }

    #[test]
    fn set_way_maintenance() {
        for crm in [6, 10, 14] {
            assert!(SystemAccess::decode(iss(1, 0, 7, crm, 2, 3, false)).is_set_way_maintenance());
        }
        // DC CIVAC (by address) is not.
        assert!(!SystemAccess::decode(iss(1, 3, 7, 14, 1, 3, false)).is_set_way_maintenance());
    }
}
