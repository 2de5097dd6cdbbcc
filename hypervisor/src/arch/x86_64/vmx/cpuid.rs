//! What CPUID tells a guest: the host's answers, with a hypervisor leaf
//! naming cordon, and hidden: VMX; the local APIC (no guest is given one:
//! a guest that owns its CPU's interrupts takes them from the legacy PIC);
//! and the features whose registers cordon does not give guests (XSAVE,
//! whose XSETBV always exits; the MTRR, PAT and machine-check MSRs; the
//! speculation-control MSRs of leaf 7; the APERF/MPERF and energy-bias
//! MSRs of leaf 6; the performance-monitoring counters of leaf 0xa and
//! IA32_PERF_CAPABILITIES), so that a guest does not reach for them.

/// CPUID leaf 1, ECX: VMX, IA32_PERF_CAPABILITIES (PDCM), x2APIC, the
/// TSC-deadline timer, XSAVE and OSXSAVE (hidden from guests).
const LEAF_1_ECX_VMX: u32 = 1 << 5;
const LEAF_1_ECX_PDCM: u32 = 1 << 15;
const LEAF_1_ECX_X2APIC: u32 = 1 << 21;
const LEAF_1_ECX_TSC_DEADLINE: u32 = 1 << 24;
const LEAF_1_ECX_XSAVE: u32 = 1 << 26;
const LEAF_1_ECX_OSXSAVE: u32 = 1 << 27;
const LEAF_1_ECX_HIDDEN: u32 = LEAF_1_ECX_VMX
    | LEAF_1_ECX_PDCM
    | LEAF_1_ECX_X2APIC
    | LEAF_1_ECX_TSC_DEADLINE
    | LEAF_1_ECX_XSAVE
    | LEAF_1_ECX_OSXSAVE;
/// CPUID leaf 1, EDX: machine check, the local APIC, MTRRs, machine-check
/// architecture, PAT (hidden from guests).
const LEAF_1_EDX_MCE: u32 = 1 << 7;
const LEAF_1_EDX_APIC: u32 = 1 << 9;
const LEAF_1_EDX_MTRR: u32 = 1 << 12;
const LEAF_1_EDX_MCA: u32 = 1 << 14;
const LEAF_1_EDX_PAT: u32 = 1 << 16;
const LEAF_1_EDX_HIDDEN: u32 =
    LEAF_1_EDX_MCE | LEAF_1_EDX_APIC | LEAF_1_EDX_MTRR | LEAF_1_EDX_MCA | LEAF_1_EDX_PAT;
/// Leaf 6: thermal and power management; its ECX has APERF/MPERF and the
/// energy-performance bias MSR (hidden from guests).
const POWER_MANAGEMENT_LEAF: u32 = 6;
const LEAF_6_ECX_APERFMPERF: u32 = 1 << 0;
const LEAF_6_ECX_ENERGY_PERF_BIAS: u32 = 1 << 3;
/// Leaf 0xa: architectural performance monitoring (none for guests).
const PERFORMANCE_MONITORING_LEAF: u32 = 0xa;
/// Leaf 7: structured extended features; its EBX has IA32_TSC_ADJUST, its
/// EDX lists the speculation-control MSRs (all hidden from guests).
const STRUCTURED_FEATURES_LEAF: u32 = 7;
const LEAF_7_EBX_TSC_ADJUST: u32 = 1 << 1;
/// CPUID leaf 1, ECX: "running under a hypervisor".
const LEAF_1_ECX_HYPERVISOR: u32 = 1 << 31;
/// The hypervisor leaves: 0x4000_0000 names the hypervisor and the highest
/// hypervisor leaf.
pub const HYPERVISOR_LEAF: u32 = 0x4000_0000;
/// The other hypervisor leaves, which cordon leaves empty.
const HYPERVISOR_LEAF_OTHERS_FIRST: u32 = HYPERVISOR_LEAF + 1;
const HYPERVISOR_LEAF_LAST: u32 = 0x4000_00ff;
/// The 12-byte vendor signature in EBX, ECX, EDX of the hypervisor leaf.
pub const SIGNATURE: &[u8; 12] = b"cordon\0\0\0\0\0\0";

/// The four CPUID registers: EAX, EBX, ECX, EDX.
pub type Registers = [u32; 4];

/// The guest's answer to CPUID `leaf`, from the host's answer `host`.
pub fn for_guest(leaf: u32, host: Registers) -> Registers {
    let [eax, ebx, ecx, edx] = host;
    match leaf {
        1 => [
            eax,
            ebx,
            (ecx & !LEAF_1_ECX_HIDDEN) | LEAF_1_ECX_HYPERVISOR,
            edx & !LEAF_1_EDX_HIDDEN,
        ],
        POWER_MANAGEMENT_LEAF => [
            eax,
            ebx,
            ecx & !(LEAF_6_ECX_APERFMPERF | LEAF_6_ECX_ENERGY_PERF_BIAS),
            edx,
        ],
        PERFORMANCE_MONITORING_LEAF => [0; 4],
        STRUCTURED_FEATURES_LEAF => [eax, ebx & !LEAF_7_EBX_TSC_ADJUST, ecx, 0],
        HYPERVISOR_LEAF => {
            let word = |i: usize| u32::from_le_bytes(SIGNATURE[i..i + 4].try_into().unwrap());
            [HYPERVISOR_LEAF, word(0), word(4), word(8)]
        }
        HYPERVISOR_LEAF_OTHERS_FIRST..=HYPERVISOR_LEAF_LAST => [0; 4],
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmx_apic_and_xsave_are_hidden_and_the_hypervisor_bit_set() {
        let host = [0x506e3, 0x800, 0x7ffa_f3ff, 0xbfeb_fbff];
        let [eax, _, ecx, edx] = for_guest(1, host);
        for hidden in [LEAF_1_ECX_VMX, LEAF_1_ECX_X2APIC, LEAF_1_ECX_XSAVE] {
            assert_eq!(ecx & hidden, 0);
        }
        assert_ne!(ecx & LEAF_1_ECX_HYPERVISOR, 0);
        assert_eq!(
            ecx | LEAF_1_ECX_HIDDEN,
            host[2] | LEAF_1_ECX_HIDDEN | LEAF_1_ECX_HYPERVISOR
        );
        assert_eq!(edx & LEAF_1_EDX_APIC, 0);
        assert_eq!(edx | LEAF_1_EDX_HIDDEN, host[3]);
        assert_eq!(eax, host[0]);
        assert_eq!(for_guest(7, [1, 2, 3, 4]), [1, 0, 3, 0]);
        assert_eq!(for_guest(6, [1, 2, 0xb, 4]), [1, 2, 0x2, 4]);
        assert_eq!(for_guest(0xa, [1, 2, 3, 4]), [0; 4]);
    }

    #[test]
    fn the_hypervisor_leaf_names_cordon() {
        let [max, ebx, ecx, edx] = for_guest(HYPERVISOR_LEAF, [7; 4]);
        assert_eq!(max, HYPERVISOR_LEAF);
        let mut name = Vec::new();
        for word in [ebx, ecx, edx] {
            name.extend_from_slice(&word.to_le_bytes());
        }
        assert_eq!(&name[..6], b"cordon");
        assert_eq!(for_guest(HYPERVISOR_LEAF + 1, [7; 4]), [0; 4]);
        assert_eq!(for_guest(5, [1, 2, 3, 4]), [1, 2, 3, 4]);
    }
}
