//! Which RAM is free once cordon has started: RAM from the device tree minus
//! everything that must survive (cordon's image, the DTB, reservations).

use crate::dt::{BootInfo, ReservedKind};

use super::FRAME_SIZE;
use super::region::{PhysRange, RegionSet, RegionSetFull};

/// Most disjoint free ranges tracked at boot.
pub const MAX_FREE_RANGES: usize = 48;

/// Who holds a piece of RAM that is not free.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Holder<'a> {
    HypervisorImage,
    DeviceTree,
    Reserved(ReservedKind<'a>),
}

impl core::fmt::Display for Holder<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::HypervisorImage => write!(f, "cordon image"),
            Self::DeviceTree => write!(f, "device tree"),
            Self::Reserved(ReservedKind::MemReserve) => write!(f, "memreserve"),
            Self::Reserved(ReservedKind::ReservedMemory(name)) => {
                write!(f, "reserved-memory/{name}")
            }
            Self::Reserved(ReservedKind::Initrd) => write!(f, "initrd"),
            Self::Reserved(ReservedKind::Module) => write!(f, "boot module"),
        }
    }
}

/// Every region that is not free, with its holder.
pub fn held_regions<'a, 'b>(
    info: &'b BootInfo<'a>,
    image: PhysRange,
    dtb: PhysRange,
) -> impl Iterator<Item = (PhysRange, Holder<'a>)> + 'b {
    [(image, Holder::HypervisorImage), (dtb, Holder::DeviceTree)]
        .into_iter()
        .chain(
            info.reserved
                .iter()
                .map(|r| (r.range, Holder::Reserved(r.kind))),
        )
}

/// RAM that nobody holds, in whole frames.
pub fn free_memory(
    info: &BootInfo,
    image: PhysRange,
    dtb: PhysRange,
) -> Result<RegionSet<MAX_FREE_RANGES>, RegionSetFull> {
    free_ranges(
        info.memory.iter().copied(),
        held_regions(info, image, dtb).map(|(range, _)| range),
    )
}

/// RAM in `banks` that none of `held` covers, in whole frames.
pub fn free_ranges(
    banks: impl IntoIterator<Item = PhysRange>,
    held: impl IntoIterator<Item = PhysRange>,
) -> Result<RegionSet<MAX_FREE_RANGES>, RegionSetFull> {
    let mut free = RegionSet::new();
    for bank in banks {
        free.insert(bank.align_inward(FRAME_SIZE))?;
    }
    for range in held {
        // A partly held frame is held.
        free.remove(range.align_outward(FRAME_SIZE))?;
    }
    Ok(free)
}

#[cfg(test)]
mod tests {
    use fdt::Fdt;

    use super::*;
    use crate::dt::tests::{rpi4_like_dtb, virt_like_dtb};

    #[test]
    fn virt_free_memory_excludes_image_dtb_and_initrd() {
        let blob = virt_like_dtb();
        let info = BootInfo::parse(&Fdt::new(&blob).unwrap()).unwrap();
        let image = PhysRange::from_base_size(0x4020_0000, 0x9_1234).unwrap();
        let dtb = PhysRange::from_base_size(0x4400_0100, 0x2000).unwrap();
        let free = free_memory(&info, image, dtb).unwrap();

        let held: Vec<_> = held_regions(&info, image, dtb).collect();
        assert_eq!(held.len(), 5);
        for (range, holder) in &held {
            for r in free.iter() {
                assert!(!r.overlaps(range), "{holder} {range} is in free {r}");
            }
        }
        for r in free.iter() {
            assert!(r.start.is_multiple_of(FRAME_SIZE) && r.end.is_multiple_of(FRAME_SIZE));
        }
        // The DTB's partial frames are held whole.
        assert!(!free.contains(0x4400_0000));
        assert!(free.contains(0x4400_3000));
        assert!(free.contains(0x4000_0000));
        let held_bytes = 0x9_2000 + 0x3000 + 0x10_0000 + 0x1a0_0000 + 0x40_0000;
        assert_eq!(free.total_size(), 0x4000_0000 - held_bytes);
    }

    #[test]
    fn rpi4_free_memory_keeps_firmware_regions() {
        let blob = rpi4_like_dtb();
        let info = BootInfo::parse(&Fdt::new(&blob).unwrap()).unwrap();
        let image = PhysRange::from_base_size(0x20_0000, 0x10_0000).unwrap();
        let dtb = PhysRange::from_base_size(0x2eff_2000, 0xd000).unwrap();
        let free = free_memory(&info, image, dtb).unwrap();
        assert!(
            !free.contains(0xd8),
            "spin-table release addresses are held"
        );
        assert!(!free.contains(0x3b00_0000));
        assert!(free.contains(0x3b10_0000));
        assert!(free.contains(0x4000_0000));
        assert!(
            !free.contains(0x3c00_0000),
            "the gap between banks is not RAM"
        );
    }
}
