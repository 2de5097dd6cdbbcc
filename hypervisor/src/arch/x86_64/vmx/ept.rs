//! Extended page tables: a VM's guest-physical addresses to host-physical
//! ones, 4 levels, with the largest pages alignment and the CPU allow
//! (1 GiB, 2 MiB, else 4 KiB). Tables come from a [`Frames`] source, so the
//! construction runs on the host in tests.

use core::fmt;

/// Entries in a table.
pub const ENTRIES: usize = 512;
/// A 4 KiB page, and the sizes of large pages at the two levels above.
pub const PAGE_SIZE: u64 = 1 << 12;
pub const LARGE_PAGE_SIZE: u64 = 1 << 21;
pub const HUGE_PAGE_SIZE: u64 = 1 << 30;
/// Highest guest-physical address bit a 4-level walk translates.
const GUEST_ADDRESS_BITS: u32 = 48;
/// Entry bits: the access rights.
const READ: u64 = 1 << 0;
const WRITE: u64 = 1 << 1;
const EXECUTE: u64 = 1 << 2;
/// Leaf entry bits: memory type write-back, and "this is a page" (in a
/// directory or directory-pointer table).
const MEMORY_TYPE_WRITE_BACK: u64 = 6 << 3;
const PAGE: u64 = 1 << 7;
/// The address bits of an entry.
const ADDRESS_MASK: u64 = 0x000f_ffff_ffff_f000;
/// EPT pointer: write-back paging-structure memory, walk length 4 (minus 1).
const EPTP_WRITE_BACK: u64 = 6;
const EPTP_WALK_LENGTH_4: u64 = 3 << 3;
/// IA32_VMX_EPT_VPID_CAP bits cordon reads.
const CAP_WALK_LENGTH_4: u64 = 1 << 6;
const CAP_WRITE_BACK: u64 = 1 << 14;
const CAP_LARGE_PAGES: u64 = 1 << 16;
const CAP_HUGE_PAGES: u64 = 1 << 17;

/// What a guest may do with a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub read: bool,
    pub write: bool,
    pub execute: bool,
}

impl Access {
    /// Read, write and execute: a VM's RAM.
    pub const ALL: Self = Self {
        read: true,
        write: true,
        execute: true,
    };

    fn bits(self) -> u64 {
        (if self.read { READ } else { 0 })
            | (if self.write { WRITE } else { 0 })
            | (if self.execute { EXECUTE } else { 0 })
    }

    fn from_bits(bits: u64) -> Self {
        Self {
            read: bits & READ != 0,
            write: bits & WRITE != 0,
            execute: bits & EXECUTE != 0,
        }
    }
}

/// The EPT features of the CPU (IA32_VMX_EPT_VPID_CAP) that cordon uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EptSupport {
    pub large_pages: bool,
    pub huge_pages: bool,
}

impl EptSupport {
    /// Reads the capability MSR; `None` if the CPU lacks the 4-level,
    /// write-back EPT cordon needs.
    pub fn from_capability(capability: u64) -> Option<Self> {
        let needed = CAP_WALK_LENGTH_4 | CAP_WRITE_BACK;
        (capability & needed == needed).then_some(Self {
            large_pages: capability & CAP_LARGE_PAGES != 0,
            huge_pages: capability & CAP_HUGE_PAGES != 0,
        })
    }
}

/// Where tables come from: zeroed, 4 KiB-aligned frames, addressed by their
/// host-physical address.
pub trait Frames {
    /// A new zeroed table; its host-physical address.
    fn allocate(&mut self) -> Option<u64>;
    /// The table at `address`, as [`Frames::allocate`] returned it.
    fn table(&mut self, address: u64) -> &mut [u64; ENTRIES];
}

/// Why a mapping was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EptError {
    /// Addresses and size must be multiples of 4 KiB.
    Misaligned { guest: u64, host: u64, size: u64 },
    /// The guest range goes beyond what 4 levels translate.
    OutOfRange { guest: u64, size: u64 },
    /// Part of the guest range is mapped already.
    Overlap { guest: u64 },
    /// No memory for another table.
    NoMemory,
}

impl fmt::Display for EptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Misaligned { guest, host, size } => write!(
                f,
                "EPT mapping guest {guest:#x} to host {host:#x} ({size:#x} bytes) is not 4 KiB aligned"
            ),
            Self::OutOfRange { guest, size } => write!(
                f,
                "EPT mapping of guest {guest:#x} ({size:#x} bytes) is beyond 2^{GUEST_ADDRESS_BITS}"
            ),
            Self::Overlap { guest } => {
                write!(f, "guest-physical {guest:#x} is mapped already")
            }
            Self::NoMemory => f.write_str("no memory left for an EPT table"),
        }
    }
}

/// A translation: the host-physical address, the rights, the page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Translation {
    pub host: u64,
    pub access: Access,
    pub page_size: u64,
}

/// One VM's extended page tables.
pub struct Ept<F: Frames> {
    root: u64,
    frames: F,
    support: EptSupport,
}

/// Page sizes by level, root first; level 0 is the PML4.
const LEVEL_SIZES: [u64; 4] = [1 << 39, HUGE_PAGE_SIZE, LARGE_PAGE_SIZE, PAGE_SIZE];

fn index(guest: u64, level: usize) -> usize {
    ((guest / LEVEL_SIZES[level]) % ENTRIES as u64) as usize
}

impl<F: Frames> Ept<F> {
    /// Empty tables: nothing is mapped.
    pub fn new(mut frames: F, support: EptSupport) -> Result<Self, EptError> {
        let root = frames.allocate().ok_or(EptError::NoMemory)?;
        Ok(Self {
            root,
            frames,
            support,
        })
    }

    /// The EPT pointer for the VMCS.
    pub fn pointer(&self) -> u64 {
        self.root | EPTP_WALK_LENGTH_4 | EPTP_WRITE_BACK
    }

    /// Maps `size` bytes of guest-physical memory at `guest` to `host` with
    /// `access`, in the largest pages that fit.
    pub fn map(
        &mut self,
        guest: u64,
        host: u64,
        size: u64,
        access: Access,
    ) -> Result<(), EptError> {
        if !(guest | host | size).is_multiple_of(PAGE_SIZE) {
            return Err(EptError::Misaligned { guest, host, size });
        }
        if guest
            .checked_add(size)
            .is_none_or(|end| end > 1 << GUEST_ADDRESS_BITS)
        {
            return Err(EptError::OutOfRange { guest, size });
        }
        let mut offset = 0;
        while offset < size {
            let (guest, host, left) = (guest + offset, host + offset, size - offset);
            let level = self.leaf_level(guest, host, left);
            let table = self.table_for(guest, level)?;
            let entry = &mut self.frames.table(table)[index(guest, level)];
            if *entry != 0 {
                return Err(EptError::Overlap { guest });
            }
            let page = if level < 3 { PAGE } else { 0 };
            *entry = host | access.bits() | MEMORY_TYPE_WRITE_BACK | page;
            offset += LEVEL_SIZES[level];
        }
        Ok(())
    }

    /// Where `guest` leads, if it is mapped.
    pub fn translate(&mut self, guest: u64) -> Option<Translation> {
        let mut table = self.root;
        for (level, size) in LEVEL_SIZES.iter().enumerate() {
            let entry = self.frames.table(table)[index(guest, level)];
            if entry & (READ | WRITE | EXECUTE) == 0 {
                return None;
            }
            if level == 3 || entry & PAGE != 0 {
                return Some(Translation {
                    host: (entry & ADDRESS_MASK & !(size - 1)) + guest % size,
                    access: Access::from_bits(entry),
                    page_size: *size,
                });
            }
            table = entry & ADDRESS_MASK;
        }
        None
    }

    /// The level of the largest page that maps `guest` to `host` within
    /// `left` bytes.
    fn leaf_level(&self, guest: u64, host: u64, left: u64) -> usize {
        let fits = |size: u64| (guest | host).is_multiple_of(size) && left >= size;
        if self.support.huge_pages && fits(HUGE_PAGE_SIZE) {
            1
        } else if self.support.large_pages && fits(LARGE_PAGE_SIZE) {
            2
        } else {
            3
        }
    }

    /// The table at `level` that holds `guest`'s entry, made as needed.
    fn table_for(&mut self, guest: u64, level: usize) -> Result<u64, EptError> {
        let mut table = self.root;
        for parent in 0..level {
            let slot = index(guest, parent);
            let entry = self.frames.table(table)[slot];
            table = if entry == 0 {
                let new = self.frames.allocate().ok_or(EptError::NoMemory)?;
                self.frames.table(table)[slot] = new | READ | WRITE | EXECUTE;
                new
            } else if entry & PAGE != 0 {
                return Err(EptError::Overlap { guest });
            } else {
                entry & ADDRESS_MASK
            };
        }
        Ok(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tables on the host heap, at made-up physical addresses.
    #[derive(Default)]
    struct HostFrames {
        tables: Vec<Box<[u64; ENTRIES]>>,
        limit: Option<usize>,
    }

    const FAKE_BASE: u64 = 0x1000_0000;

    impl Frames for HostFrames {
        fn allocate(&mut self) -> Option<u64> {
            if self.limit.is_some_and(|limit| self.tables.len() >= limit) {
                return None;
            }
            self.tables.push(Box::new([0; ENTRIES]));
            Some(FAKE_BASE + (self.tables.len() as u64 - 1) * PAGE_SIZE)
        }

        fn table(&mut self, address: u64) -> &mut [u64; ENTRIES] {
            &mut self.tables[((address - FAKE_BASE) / PAGE_SIZE) as usize]
        }
    }

    const ALL_PAGES: EptSupport = EptSupport {
        large_pages: true,
        huge_pages: true,
    };

    fn ept(support: EptSupport) -> Ept<HostFrames> {
        Ept::new(HostFrames::default(), support).unwrap()
    }

    #[test]
    fn aligned_ranges_get_the_largest_pages() {
        let mut ept = ept(ALL_PAGES);
        // 1 GiB + 2 MiB + 4 KiB, all aligned: one of each page size.
        let size = HUGE_PAGE_SIZE + LARGE_PAGE_SIZE + PAGE_SIZE;
        ept.map(0, 0x8000_0000, size, Access::ALL).unwrap();
        let page_at = |ept: &mut Ept<HostFrames>, guest| ept.translate(guest).unwrap().page_size;
        assert_eq!(page_at(&mut ept, 0), HUGE_PAGE_SIZE);
        assert_eq!(page_at(&mut ept, HUGE_PAGE_SIZE), LARGE_PAGE_SIZE);
        assert_eq!(
            page_at(&mut ept, HUGE_PAGE_SIZE + LARGE_PAGE_SIZE),
            PAGE_SIZE
        );
        assert_eq!(
            ept.translate(0x1234_5678).unwrap().host,
            0x8000_0000 + 0x1234_5678
        );
        assert_eq!(ept.translate(size), None);
        // PML4, PDPT, one directory, one page table.
        assert_eq!(ept.frames.tables.len(), 4);
    }

    #[test]
    fn page_sizes_follow_the_cpu_and_the_alignment() {
        let mut small = ept(EptSupport {
            large_pages: false,
            huge_pages: false,
        });
        small
            .map(0, 0x20_0000, LARGE_PAGE_SIZE, Access::ALL)
            .unwrap();
        assert_eq!(small.translate(0x1000).unwrap().page_size, PAGE_SIZE);

        let mut misaligned_host = ept(ALL_PAGES);
        misaligned_host
            .map(0, 0x20_1000, LARGE_PAGE_SIZE, Access::ALL)
            .unwrap();
        assert_eq!(misaligned_host.translate(0).unwrap().page_size, PAGE_SIZE);
        assert_eq!(misaligned_host.translate(0x1_f000).unwrap().host, 0x22_0000);
    }

    #[test]
    fn rights_and_pointer_are_encoded() {
        let mut ept = ept(ALL_PAGES);
        let read_only = Access {
            read: true,
            write: false,
            execute: false,
        };
        ept.map(0x10_0000, 0x30_0000, PAGE_SIZE, read_only).unwrap();
        assert_eq!(ept.translate(0x10_0000).unwrap().access, read_only);
        assert_eq!(ept.pointer(), FAKE_BASE | 0x1e);
    }

    #[test]
    fn bad_mappings_are_refused() {
        let mut ept = ept(ALL_PAGES);
        assert!(matches!(
            ept.map(0x800, 0, PAGE_SIZE, Access::ALL),
            Err(EptError::Misaligned { .. })
        ));
        assert!(matches!(
            ept.map(1 << 48, 0, PAGE_SIZE, Access::ALL),
            Err(EptError::OutOfRange { .. })
        ));
        ept.map(0, 0, LARGE_PAGE_SIZE, Access::ALL).unwrap();
        assert_eq!(
            ept.map(0x1000, 0x1000, PAGE_SIZE, Access::ALL),
            Err(EptError::Overlap { guest: 0x1000 })
        );
        let mut starved = Ept::new(
            HostFrames {
                limit: Some(2),
                ..HostFrames::default()
            },
            ALL_PAGES,
        )
        .unwrap();
        assert_eq!(
            starved.map(0, 0, PAGE_SIZE, Access::ALL),
            Err(EptError::NoMemory)
        );
    }

    #[test]
    fn capabilities_without_write_back_or_4_levels_are_refused() {
        assert_eq!(EptSupport::from_capability(CAP_WALK_LENGTH_4), None);
        assert_eq!(
            EptSupport::from_capability(CAP_WALK_LENGTH_4 | CAP_WRITE_BACK | CAP_LARGE_PAGES),
            Some(EptSupport {
                large_pages: true,
                huge_pages: false
            })
        );
    }
}
