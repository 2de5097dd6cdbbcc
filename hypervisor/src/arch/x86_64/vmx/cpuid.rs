//! What CPUID tells a guest: the host's answers, with VMX hidden and a
//! hypervisor leaf naming cordon.

/// CPUID leaf 1, ECX: VMX (hidden from guests).
const LEAF_1_ECX_VMX: u32 = 1 << 5;
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
            (ecx & !LEAF_1_ECX_VMX) | LEAF_1_ECX_HYPERVISOR,
            edx,
        ],
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
    fn vmx_is_hidden_and_the_hypervisor_bit_set() {
        let host = [0x506e3, 0x800, 0x7ffa_f3ff, 0xbfeb_fbff];
        let [eax, _, ecx, edx] = for_guest(1, host);
        assert_eq!(ecx & LEAF_1_ECX_VMX, 0);
        assert_ne!(ecx & LEAF_1_ECX_HYPERVISOR, 0);
        assert_eq!(ecx | LEAF_1_ECX_VMX, host[2] | LEAF_1_ECX_HYPERVISOR);
        assert_eq!((eax, edx), (host[0], host[3]));
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
        assert_eq!(for_guest(7, [1, 2, 3, 4]), [1, 2, 3, 4]);
    }
}
