//! VMSAv8-64 translation tables with a 4 KiB granule: building and walking.
//!
//! The walker is independent of the translation regime: callers pass the
//! leaf attribute bits ([`El2Attrs`] for cordon's own EL2 tables; stage-2
//! attributes later). Table memory comes from a [`TableStore`], so the same
//! code builds real tables at boot and runs in host unit tests.

/// Bytes in a translation granule, a table and a page.
pub const PAGE_SIZE: u64 = 4096;
const ENTRIES_PER_TABLE: usize = 512;
const BITS_PER_LEVEL: u32 = 9;
const PAGE_SHIFT: u32 = 12;
/// The last level: entries map 4 KiB pages.
const LEAF_LEVEL: u8 = 3;
/// Level 0 entries can only point at tables with a 4 KiB granule.
const FIRST_BLOCK_LEVEL: u8 = 1;

/// Descriptor type bits [1:0].
const DESC_VALID: u64 = 1 << 0;
const DESC_TABLE_OR_PAGE: u64 = 1 << 1;
const DESC_TYPE_MASK: u64 = 0b11;
/// Output address bits [47:12] of a descriptor.
const DESC_ADDR_MASK: u64 = 0x0000_ffff_ffff_f000;

/// Bytes one entry maps at `level` (0-3).
pub const fn level_size(level: u8) -> u64 {
    1 << (PAGE_SHIFT + BITS_PER_LEVEL * (LEAF_LEVEL - level) as u32)
}

/// Where translation tables live and how to reach them.
pub trait TableStore {
    /// A zeroed 4 KiB table; its physical address, or `None` when out of memory.
    fn alloc_table(&mut self) -> Option<u64>;
    /// The table at physical address `pa` (one returned by `alloc_table`).
    fn table(&mut self, pa: u64) -> &mut [u64; ENTRIES_PER_TABLE];
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MapError {
    /// Address or size not a multiple of 4 KiB.
    Misaligned { va: u64, pa: u64, size: u64 },
    /// Part of the range is mapped already.
    AlreadyMapped { va: u64 },
    /// The address lies beyond what the tables translate.
    OutOfRange { va: u64 },
    /// The table store is exhausted.
    OutOfTables,
}

/// One translation table hierarchy.
pub struct PageTable {
    root: u64,
    start_level: u8,
    /// Bits of input address translated.
    va_bits: u32,
}

/// A leaf the walker found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Translation {
    pub pa: u64,
    /// Descriptor bits other than the address and type.
    pub attrs: u64,
    /// Level of the leaf: 1 = 1 GiB block, 2 = 2 MiB block, 3 = page.
    pub level: u8,
}

impl PageTable {
    /// Empty tables translating `va_bits` of input address (25..=48).
    pub fn new(store: &mut impl TableStore, va_bits: u32) -> Result<Self, MapError> {
        let root = store.alloc_table().ok_or(MapError::OutOfTables)?;
        // Each level resolves 9 bits above the 12-bit page offset.
        let levels = (va_bits - PAGE_SHIFT).div_ceil(BITS_PER_LEVEL);
        Ok(Self {
            root,
            start_level: (LEAF_LEVEL + 1) - levels as u8,
            va_bits,
        })
    }

    /// Physical address of the root table (for TTBR/VTTBR).
    pub fn root(&self) -> u64 {
        self.root
    }

    pub fn start_level(&self) -> u8 {
        self.start_level
    }

    fn index(va: u64, level: u8) -> usize {
        let shift = PAGE_SHIFT + BITS_PER_LEVEL * (LEAF_LEVEL - level) as u32;
        ((va >> shift) as usize) & (ENTRIES_PER_TABLE - 1)
    }

    /// Maps `[va, va + size)` to `[pa, pa + size)` with leaf attributes
    /// `attrs`, using the largest blocks the alignment allows.
    pub fn map(
        &mut self,
        store: &mut impl TableStore,
        va: u64,
        pa: u64,
        size: u64,
        attrs: u64,
    ) -> Result<(), MapError> {
        if !(va | pa | size).is_multiple_of(PAGE_SIZE) {
            return Err(MapError::Misaligned { va, pa, size });
        }
        let limit = 1u64 << self.va_bits;
        if va.checked_add(size).is_none_or(|end| end > limit) {
            return Err(MapError::OutOfRange { va });
        }
        let (mut va, mut pa, mut left) = (va, pa, size);
        while left > 0 {
            let level = (self.start_level.max(FIRST_BLOCK_LEVEL)..=LEAF_LEVEL)
                .find(|&level| {
                    let block = level_size(level);
                    (va | pa).is_multiple_of(block) && left >= block
                })
                .unwrap_or(LEAF_LEVEL);
            self.map_one(store, va, pa, level, attrs)?;
            let step = level_size(level);
            va += step;
            pa += step;
            left -= step;
        }
        Ok(())
    }

    fn map_one(
        &mut self,
        store: &mut impl TableStore,
        va: u64,
        pa: u64,
        level: u8,
        attrs: u64,
    ) -> Result<(), MapError> {
        let mut table = self.root;
        for walk_level in self.start_level..level {
            let slot = &mut store.table(table)[Self::index(va, walk_level)];
            let entry = *slot;
            table = if entry & DESC_VALID == 0 {
                let next = store.alloc_table().ok_or(MapError::OutOfTables)?;
                store.table(table)[Self::index(va, walk_level)] =
                    next | DESC_TABLE_OR_PAGE | DESC_VALID;
                next
            } else if entry & DESC_TYPE_MASK == DESC_TABLE_OR_PAGE | DESC_VALID {
                entry & DESC_ADDR_MASK
            } else {
                return Err(MapError::AlreadyMapped { va });
            };
        }
        let slot = &mut store.table(table)[Self::index(va, level)];
        if *slot & DESC_VALID != 0 {
            return Err(MapError::AlreadyMapped { va });
        }
        let kind = if level == LEAF_LEVEL {
            DESC_TABLE_OR_PAGE | DESC_VALID
        } else {
            DESC_VALID
        };
        *slot = (pa & DESC_ADDR_MASK) | attrs | kind;
        Ok(())
    }

    /// Walks the tables for `va`.
    pub fn translate(&self, store: &mut impl TableStore, va: u64) -> Option<Translation> {
        if va >> self.va_bits != 0 {
            return None;
        }
        let mut table = self.root;
        for level in self.start_level..=LEAF_LEVEL {
            let entry = store.table(table)[Self::index(va, level)];
            if entry & DESC_VALID == 0 {
                return None;
            }
            let is_table = entry & DESC_TYPE_MASK == DESC_TABLE_OR_PAGE | DESC_VALID;
            if is_table && level < LEAF_LEVEL {
                table = entry & DESC_ADDR_MASK;
                continue;
            }
            let offset = va & (level_size(level) - 1);
            return Some(Translation {
                pa: (entry & DESC_ADDR_MASK & !(level_size(level) - 1)) + offset,
                attrs: entry & !(DESC_ADDR_MASK | DESC_TYPE_MASK),
                level,
            });
        }
        None
    }
}

/// Leaf attributes of cordon's own EL2 stage-1 mappings.
pub struct El2Attrs;

impl El2Attrs {
    /// MAIR_EL2 slots: index 0 normal write-back cacheable, index 1 device.
    const ATTR_INDEX_NORMAL: u64 = 0;
    const ATTR_INDEX_DEVICE: u64 = 1;
    /// MAIR_EL2 value matching the indices above: 0xff = normal inner/outer
    /// write-back read/write-allocate, 0x00 = Device-nGnRnE.
    pub const MAIR: u64 = 0xff << (8 * Self::ATTR_INDEX_NORMAL);

    const ATTR_INDEX_SHIFT: u32 = 2;
    /// AP[2]: read-only.
    const READ_ONLY: u64 = 1 << 7;
    /// AP[1] is RES1 in a single-privilege regime such as EL2.
    const AP1_RES1: u64 = 1 << 6;
    const INNER_SHAREABLE: u64 = 0b11 << 8;
    const ACCESS_FLAG: u64 = 1 << 10;
    const EXECUTE_NEVER: u64 = 1 << 54;

    const fn normal() -> u64 {
        (Self::ATTR_INDEX_NORMAL << Self::ATTR_INDEX_SHIFT)
            | Self::AP1_RES1
            | Self::INNER_SHAREABLE
            | Self::ACCESS_FLAG
    }

    /// Executable, read-only: cordon's code.
    pub const CODE: u64 = Self::normal() | Self::READ_ONLY;
    /// Read-only data.
    pub const READ_ONLY_DATA: u64 = Self::normal() | Self::READ_ONLY | Self::EXECUTE_NEVER;
    /// Read-write data and RAM.
    pub const DATA: u64 = Self::normal() | Self::EXECUTE_NEVER;
    /// MMIO registers.
    pub const DEVICE: u64 = (Self::ATTR_INDEX_DEVICE << Self::ATTR_INDEX_SHIFT)
        | Self::AP1_RES1
        | Self::ACCESS_FLAG
        | Self::EXECUTE_NEVER;
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Tables in host memory, with made-up physical addresses.
    pub(crate) struct VecStore {
        tables: Vec<Box<[u64; ENTRIES_PER_TABLE]>>,
        limit: usize,
    }

    const FAKE_BASE: u64 = 0x8000_0000;

    impl VecStore {
        pub(crate) fn new(limit: usize) -> Self {
            Self {
                tables: Vec::new(),
                limit,
            }
        }
    }

    impl TableStore for VecStore {
        fn alloc_table(&mut self) -> Option<u64> {
            if self.tables.len() == self.limit {
                return None;
            }
            self.tables.push(Box::new([0; ENTRIES_PER_TABLE]));
            Some(FAKE_BASE + (self.tables.len() as u64 - 1) * PAGE_SIZE)
        }

        fn table(&mut self, pa: u64) -> &mut [u64; ENTRIES_PER_TABLE] {
            &mut self.tables[((pa - FAKE_BASE) / PAGE_SIZE) as usize]
        }
    }

    const GIB: u64 = 1 << 30;
    const MIB: u64 = 1 << 20;

    #[test]
    fn level_sizes() {
        assert_eq!(level_size(1), GIB);
        assert_eq!(level_size(2), 2 * MIB);
        assert_eq!(level_size(3), 4096);
    }

    #[test]
    fn start_level_follows_address_width() {
        let mut store = VecStore::new(8);
        assert_eq!(PageTable::new(&mut store, 48).unwrap().start_level(), 0);
        assert_eq!(PageTable::new(&mut store, 39).unwrap().start_level(), 1);
        assert_eq!(PageTable::new(&mut store, 40).unwrap().start_level(), 0);
    }

    #[test]
    fn uses_largest_blocks_the_alignment_allows() {
        let mut store = VecStore::new(16);
        let mut pt = PageTable::new(&mut store, 48).unwrap();
        // 4 KiB below a 2 MiB boundary, then 2 MiB blocks up to 1 GiB, then a
        // 1 GiB block, then a 2 MiB block.
        let start = GIB - 2 * MIB - 4096;
        let size = 4096 + 2 * MIB + GIB + 2 * MIB;
        pt.map(&mut store, start, start, size, El2Attrs::DATA)
            .unwrap();

        let leaf = |store: &mut VecStore, va| pt.translate(store, va).unwrap();
        assert_eq!(leaf(&mut store, start).level, 3);
        assert_eq!(leaf(&mut store, GIB - 2 * MIB).level, 2);
        assert_eq!(leaf(&mut store, GIB).level, 1);
        assert_eq!(leaf(&mut store, 2 * GIB).level, 2);
        assert_eq!(leaf(&mut store, 2 * GIB + 0x1234).pa, 2 * GIB + 0x1234);
        assert!(pt.translate(&mut store, start - 4096).is_none());
        assert!(pt.translate(&mut store, 2 * GIB + 2 * MIB).is_none());
        let attrs = leaf(&mut store, GIB + 5).attrs;
        assert_eq!(attrs, El2Attrs::DATA);
    }

    #[test]
    fn translates_to_a_different_output_address() {
        let mut store = VecStore::new(16);
        let mut pt = PageTable::new(&mut store, 40).unwrap();
        pt.map(
            &mut store,
            0x4000_0000,
            0x1_0020_0000,
            4 * MIB,
            El2Attrs::DEVICE,
        )
        .unwrap();
        let t = pt.translate(&mut store, 0x4030_0010).unwrap();
        assert_eq!(t.pa, 0x1_0050_0010);
        assert_eq!(t.level, 2);
        assert_eq!(t.attrs, El2Attrs::DEVICE);
    }

    #[test]
    fn refuses_overlaps_misalignment_and_exhaustion() {
        let mut store = VecStore::new(4);
        let mut pt = PageTable::new(&mut store, 48).unwrap();
        pt.map(&mut store, 0x20_0000, 0x20_0000, 2 * MIB, El2Attrs::DATA)
            .unwrap();
        assert_eq!(
            pt.map(&mut store, 0x20_1000, 0x20_1000, 4096, El2Attrs::DATA),
            Err(MapError::AlreadyMapped { va: 0x20_1000 })
        );
        assert!(matches!(
            pt.map(&mut store, 0x1001, 0x1000, 4096, El2Attrs::DATA),
            Err(MapError::Misaligned { .. })
        ));
        assert!(matches!(
            pt.map(&mut store, 1 << 48, 0, 4096, El2Attrs::DATA),
            Err(MapError::OutOfRange { .. })
        ));
        // A page far away needs three new tables; only one is left.
        assert_eq!(
            pt.map(&mut store, 1 << 40, 0, 4096, El2Attrs::DATA),
            Err(MapError::OutOfTables)
        );
    }

    #[test]
    fn el2_attributes() {
        assert_eq!(El2Attrs::CODE & El2Attrs::EXECUTE_NEVER, 0);
        assert_ne!(El2Attrs::DATA & El2Attrs::EXECUTE_NEVER, 0);
        assert_ne!(El2Attrs::READ_ONLY_DATA & El2Attrs::READ_ONLY, 0);
        assert_eq!(El2Attrs::DATA & El2Attrs::READ_ONLY, 0);
        assert_eq!((El2Attrs::DEVICE >> 2) & 0b111, 1);
        assert_eq!(El2Attrs::MAIR & 0xff, 0xff);
        assert_eq!((El2Attrs::MAIR >> 8) & 0xff, 0x00);
    }
}
