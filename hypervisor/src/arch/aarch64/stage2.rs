//! Stage-2 translation: the guest-physical address space of a VM.
//!
//! Built with the same walker as cordon's own tables ([`super::pagetable`]);
//! only the leaf attributes and the control register differ.

/// Leaf attributes of stage-2 mappings (VMSAv8-64 stage-2 descriptors).
pub struct Stage2Attrs;

impl Stage2Attrs {
    const MEMATTR_SHIFT: u32 = 2;
    /// MemAttr: normal memory, inner and outer write-back cacheable.
    const MEMATTR_NORMAL_WB: u64 = 0b1111;
    /// MemAttr: Device-nGnRE.
    const MEMATTR_DEVICE_NGNRE: u64 = 0b0001;
    /// S2AP: read and write.
    const S2AP_READ_WRITE: u64 = 0b11 << 6;
    const INNER_SHAREABLE: u64 = 0b11 << 8;
    const ACCESS_FLAG: u64 = 1 << 10;
    /// XN[1:0] = 0b10: not executable at EL1 or EL0.
    const EXECUTE_NEVER: u64 = 0b10 << 53;

    /// Guest RAM: normal memory the guest may read, write and execute.
    pub const RAM: u64 = (Self::MEMATTR_NORMAL_WB << Self::MEMATTR_SHIFT)
        | Self::S2AP_READ_WRITE
        | Self::INNER_SHAREABLE
        | Self::ACCESS_FLAG;
    /// A passed-through device's registers.
    pub const DEVICE: u64 = (Self::MEMATTR_DEVICE_NGNRE << Self::MEMATTR_SHIFT)
        | Self::S2AP_READ_WRITE
        | Self::ACCESS_FLAG
        | Self::EXECUTE_NEVER;
}

/// VTCR_EL2 fields.
mod vtcr {
    pub const SL0_SHIFT: u32 = 6;
    pub const IRGN0_WBWA: u64 = 0b01 << 8;
    pub const ORGN0_WBWA: u64 = 0b01 << 10;
    pub const SH0_INNER: u64 = 0b11 << 12;
    pub const TG0_4K: u64 = 0b00 << 14;
    pub const PS_SHIFT: u32 = 16;
    pub const RES1: u64 = 1 << 31;
}

/// Guest-physical address bits cordon uses for every VM, given the CPU's
/// physical address size (guests never need more than the machine has).
pub fn ipa_bits(pa_bits: u32) -> u32 {
    pa_bits.min(48)
}

/// VTCR_EL2 for tables whose walk starts at `start_level` (0-2) and that
/// translate `ipa_bits`, on a CPU with PARange encoding `pa_range`.
pub fn vtcr(ipa_bits: u32, start_level: u8, pa_range: u64) -> u64 {
    // SL0 with a 4 KiB granule: 0 = level 2, 1 = level 1, 2 = level 0.
    let sl0 = 2 - start_level as u64;
    (64 - ipa_bits as u64)
        | (sl0 << vtcr::SL0_SHIFT)
        | vtcr::IRGN0_WBWA
        | vtcr::ORGN0_WBWA
        | vtcr::SH0_INNER
        | vtcr::TG0_4K
        | (pa_range.min(5) << vtcr::PS_SHIFT)
        | vtcr::RES1
}

/// VTTBR_EL2: root table and VMID.
pub fn vttbr(root: u64, vmid: u16) -> u64 {
    root | ((vmid as u64) << 48)
}

#[cfg(test)]
mod tests {
    use super::super::pagetable::PageTable;
    use super::super::pagetable::tests::VecStore;
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn vtcr_for_a_44_bit_machine() {
        let value = vtcr(44, 0, 4);
        assert_eq!(value & 0x3f, 20, "T0SZ");
        assert_eq!((value >> 6) & 0b11, 2, "SL0 = level 0");
        assert_eq!((value >> 16) & 0b111, 4, "PS");
        assert_ne!(value & (1 << 31), 0);
        assert_eq!((vtcr(40, 1, 2) >> 6) & 0b11, 1);
    }

    #[test]
    fn vmid_goes_in_the_top_bits() {
        assert_eq!(vttbr(0x4000_1000, 3), 0x0003_0000_4000_1000);
    }

    #[test]
    fn guest_map_has_only_what_was_given() {
        let mut store = VecStore::new(32);
        let mut s2 = PageTable::new(&mut store, ipa_bits(44)).unwrap();
        // 512 MiB of RAM 1:1, a device page, a GICV frame at the GICC address.
        s2.map(
            &mut store,
            0x8000_0000,
            0x8000_0000,
            512 * MIB,
            Stage2Attrs::RAM,
        )
        .unwrap();
        s2.map(
            &mut store,
            0x0a00_0000,
            0x0a00_0000,
            0x4000,
            Stage2Attrs::DEVICE,
        )
        .unwrap();
        s2.map(
            &mut store,
            0x0801_0000,
            0x0804_0000,
            0x2000,
            Stage2Attrs::DEVICE,
        )
        .unwrap();

        let ram = s2.translate(&mut store, 0x8123_4567).unwrap();
        assert_eq!(
            (ram.pa, ram.level, ram.attrs),
            (0x8123_4567, 2, Stage2Attrs::RAM)
        );
        let gicc = s2.translate(&mut store, 0x0801_1004).unwrap();
        assert_eq!(gicc.pa, 0x0804_1004);
        assert_eq!(gicc.attrs, Stage2Attrs::DEVICE);
        for unmapped in [
            0x0800_0000,
            0x0801_2000,
            0x7fff_f000,
            0xa000_0000,
            0x0a00_4000,
        ] {
            assert!(
                s2.translate(&mut store, unmapped).is_none(),
                "{unmapped:#x}"
            );
        }
    }

    #[test]
    fn device_memory_is_never_executable_and_ram_is() {
        assert_eq!(Stage2Attrs::RAM & (0b11 << 53), 0);
        assert_eq!((Stage2Attrs::DEVICE >> 2) & 0xf, 0b0001);
        assert_eq!((Stage2Attrs::RAM >> 2) & 0xf, 0b1111);
    }
}
