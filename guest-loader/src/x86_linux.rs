//! Where a Linux VM's pieces go in its guest-physical RAM for the 64-bit
//! boot protocol, and the boot-time structures the protocol wants besides
//! the zero page: page tables that identity-map the first 4 GiB and a GDT
//! with `__BOOT_CS` and `__BOOT_DS` (Documentation/arch/x86/boot.rst,
//! "64-bit Boot Protocol"). RAM starts at guest-physical 0.

use core::fmt;

use alloc::vec::Vec;

use crate::bzimage::BzImage;
use crate::x86_boot::{BootParamsError, E820Entry, e820_map};

/// A 4 KiB page, and the 2 MiB pages the boot page tables map with.
const PAGE_SIZE: u64 = 1 << 12;
const LARGE_PAGE_SIZE: u64 = 1 << 21;
/// Entries in a page table.
pub const TABLE_ENTRIES: usize = 512;
/// The boot page tables map this much, in 2 MiB pages: every address the
/// kernel, the zero page, the command line and the initrd can have.
const IDENTITY_MAPPED: u64 = 4 << 30;
/// Page directories for [`IDENTITY_MAPPED`] (one for each GiB).
const DIRECTORIES: usize = (IDENTITY_MAPPED >> 30) as usize;
/// PML4, PDPT, then the directories.
pub const PAGE_TABLES: usize = 2 + DIRECTORIES;
/// Page-table entry bits: present, writable, a large page (in a directory).
const PRESENT: u64 = 1 << 0;
const WRITABLE: u64 = 1 << 1;
const LARGE: u64 = 1 << 7;

/// Low-memory layout: the GDT, the zero page, the page tables, the command
/// line, each on its own pages below the legacy hole.
const GDT_ADDRESS: u64 = 0x6000;
const ZERO_PAGE_ADDRESS: u64 = 0x7000;
const PAGE_TABLES_ADDRESS: u64 = 0x9000;
const COMMAND_LINE_ADDRESS: u64 = 0x2_0000;
/// Conventional memory ends here; the legacy hole (VGA, option ROMs, BIOS)
/// up to 1 MiB is reserved in the e820 map.
const CONVENTIONAL_END: u64 = 0x9_f000;
const HIGH_MEMORY: u64 = 1 << 20;

/// The GDT's selectors the protocol names, and the GDT: null, null, a flat
/// 64-bit code segment (`__BOOT_CS` = 0x10), a flat data segment
/// (`__BOOT_DS` = 0x18).
pub const BOOT_CS: u16 = 0x10;
pub const BOOT_DS: u16 = 0x18;
const FLAT_CODE_64: u64 = 0x00af_9b00_0000_ffff;
const FLAT_DATA: u64 = 0x00cf_9300_0000_ffff;
pub const GDT: [u64; 4] = [0, 0, FLAT_CODE_64, FLAT_DATA];

/// Why a Linux VM cannot be laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutError {
    /// The kernel, while it decompresses, needs more RAM than the VM has.
    KernelDoesNotFit { end: u64, ram: u64 },
    /// The initrd does not fit between the kernel and the end of RAM.
    InitrdDoesNotFit { size: u64, room: u64 },
    /// The command line does not fit on its page(s) below the legacy hole.
    CommandLineTooLong { len: usize, max: u64 },
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KernelDoesNotFit { end, ram } => write!(
                f,
                "the kernel needs RAM up to {end:#x} while it decompresses; the VM has {ram:#x} bytes"
            ),
            Self::InitrdDoesNotFit { size, room } => write!(
                f,
                "the initrd ({size:#x} bytes) does not fit in the {room:#x} bytes between the \
                 kernel and the end of the VM's RAM"
            ),
            Self::CommandLineTooLong { len, max } => write!(
                f,
                "the command line ({len} bytes) is longer than the {max} bytes cordon places"
            ),
        }
    }
}

/// Where each piece goes, guest-physical.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The protected-mode kernel, and its 64-bit entry point.
    pub kernel: u64,
    pub entry: u64,
    pub zero_page: u64,
    pub command_line: u64,
    /// The initrd and its size, at the top of RAM.
    pub initrd: Option<(u64, u64)>,
    /// The PML4 (CR3), followed by the other [`PAGE_TABLES`].
    pub page_tables: u64,
    /// The GDT, and its limit.
    pub gdt: u64,
    pub gdt_limit: u16,
}

impl Layout {
    /// Lays out `image` with a command line of `command_line_len` bytes and
    /// an initrd of `initrd_size` bytes (if any) in `ram` bytes of RAM.
    pub fn new(
        image: &BzImage,
        ram: u64,
        command_line_len: usize,
        initrd_size: Option<u64>,
    ) -> Result<Self, LayoutError> {
        // The command line and its NUL, before the legacy hole.
        let command_line_room = CONVENTIONAL_END - COMMAND_LINE_ADDRESS;
        if command_line_len as u64 >= command_line_room {
            return Err(LayoutError::CommandLineTooLong {
                len: command_line_len,
                max: command_line_room - 1,
            });
        }
        let kernel = image.load_address();
        let kernel_end = kernel + u64::from(image.init_size).max(image.kernel.len() as u64);
        if kernel_end > ram {
            return Err(LayoutError::KernelDoesNotFit {
                end: kernel_end,
                ram,
            });
        }
        let initrd = match initrd_size {
            None => None,
            Some(size) => {
                let top = ram.min(u64::from(image.initrd_addr_max) + 1);
                let start = top.checked_sub(size).map(|start| start & !(PAGE_SIZE - 1));
                match start {
                    Some(start) if start >= kernel_end => Some((start, size)),
                    _ => {
                        return Err(LayoutError::InitrdDoesNotFit {
                            size,
                            room: top.saturating_sub(kernel_end),
                        });
                    }
                }
            }
        };
        Ok(Self {
            kernel,
            entry: image.entry_64(),
            zero_page: ZERO_PAGE_ADDRESS,
            command_line: COMMAND_LINE_ADDRESS,
            initrd,
            page_tables: PAGE_TABLES_ADDRESS,
            gdt: GDT_ADDRESS,
            gdt_limit: (core::mem::size_of_val(&GDT) - 1) as u16,
        })
    }
}

/// The e820 map of a VM with `ram` bytes at 0: conventional memory, the
/// legacy hole (VGA, option ROMs, BIOS) reserved, the rest RAM.
pub fn e820(ram: u64) -> Result<Vec<E820Entry>, BootParamsError> {
    e820_map(
        &[
            (0, CONVENTIONAL_END),
            (HIGH_MEMORY, ram.saturating_sub(HIGH_MEMORY)),
        ],
        &[(CONVENTIONAL_END, HIGH_MEMORY - CONVENTIONAL_END)],
    )
}

/// The boot page tables, to be placed at `base` one after the other (the
/// PML4 first), entry by entry: the first 4 GiB identity-mapped in 2 MiB
/// pages.
pub fn page_table_entries(base: u64) -> impl Iterator<Item = u64> {
    let table_address = move |index: usize| base + index as u64 * PAGE_SIZE;
    let pml4 = (0..TABLE_ENTRIES).map(move |slot| match slot {
        0 => table_address(1) | PRESENT | WRITABLE,
        _ => 0,
    });
    let pdpt = (0..TABLE_ENTRIES).map(move |slot| match slot {
        directory if directory < DIRECTORIES => table_address(2 + directory) | PRESENT | WRITABLE,
        _ => 0,
    });
    let directories = (0..DIRECTORIES * TABLE_ENTRIES)
        .map(|page| (page as u64 * LARGE_PAGE_SIZE) | PRESENT | WRITABLE | LARGE);
    pml4.chain(pdpt).chain(directories)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bzimage::tests::bzimage;
    use crate::x86_boot::{BOOT_PARAMS_SIZE, E820Kind};

    const MIB: u64 = 1 << 20;

    /// Walks `tables` (placed at `base`) as the CPU would for `address`.
    fn walk(entries: &[u64], base: u64, address: u64) -> Option<u64> {
        let entry = |table: u64, index: u64| {
            entries[((table - base) / PAGE_SIZE) as usize * TABLE_ENTRIES + index as usize]
        };
        let pml4e = entry(base, (address >> 39) & 0x1ff);
        if pml4e & PRESENT == 0 {
            return None;
        }
        let pdpte = entry(pml4e & !0xfff, (address >> 30) & 0x1ff);
        if pdpte & PRESENT == 0 {
            return None;
        }
        let pde = entry(pdpte & !0xfff, (address >> 21) & 0x1ff);
        (pde & PRESENT != 0 && pde & LARGE != 0)
            .then_some((pde & !(LARGE_PAGE_SIZE - 1)) | (address & (LARGE_PAGE_SIZE - 1)))
    }

    /// Whether an e820 map has the zero page, the page tables, the GDT and the
    /// command line in its RAM (a check of [`e820`] against the layout).
    fn low_pieces_in_ram(map: &[E820Entry]) -> bool {
        let pages_end = PAGE_TABLES_ADDRESS + PAGE_TABLES as u64 * PAGE_SIZE;
        let pieces = [
            (GDT_ADDRESS, GDT_ADDRESS + PAGE_SIZE),
            (
                ZERO_PAGE_ADDRESS,
                ZERO_PAGE_ADDRESS + BOOT_PARAMS_SIZE as u64,
            ),
            (PAGE_TABLES_ADDRESS, pages_end),
            (COMMAND_LINE_ADDRESS, CONVENTIONAL_END),
        ];
        pieces.iter().all(|&(start, end)| {
            map.iter().any(|entry| {
                entry.kind == E820Kind::Ram
                    && entry.address <= start
                    && end <= entry.address + entry.size
            })
        })
    }

    #[test]
    fn the_first_4_gib_are_identity_mapped() {
        let tables: Vec<u64> = page_table_entries(PAGE_TABLES_ADDRESS).collect();
        assert_eq!(tables.len(), PAGE_TABLES * TABLE_ENTRIES);
        for address in [0, 0x7123, 0x100_0000, 0x7fff_ffff, IDENTITY_MAPPED - 1] {
            assert_eq!(walk(&tables, PAGE_TABLES_ADDRESS, address), Some(address));
        }
        assert_eq!(walk(&tables, PAGE_TABLES_ADDRESS, IDENTITY_MAPPED), None);
    }

    #[test]
    fn the_kernel_goes_where_it_prefers_and_the_initrd_at_the_top() {
        let bytes = bzimage();
        let image = BzImage::parse(&bytes).unwrap();
        let layout = Layout::new(&image, 128 * MIB, 30, Some(0x1800)).unwrap();
        assert_eq!(layout.kernel, image.pref_address);
        assert_eq!(layout.entry, image.pref_address + 0x200);
        assert_eq!(layout.initrd, Some((128 * MIB - 0x2000, 0x1800)));
        assert_eq!(layout.gdt_limit, 31);
        let map = e820(128 * MIB).unwrap();
        assert_eq!(map.len(), 3);
        assert!(low_pieces_in_ram(&map));
        assert!(!low_pieces_in_ram(&map[1..]));
        assert_eq!(map[2].address + map[2].size, 128 * MIB);
    }

    #[test]
    fn what_does_not_fit_is_refused() {
        let bytes = bzimage();
        let image = BzImage::parse(&bytes).unwrap();
        let kernel_end = image.pref_address + u64::from(image.init_size);
        assert_eq!(
            Layout::new(&image, kernel_end - PAGE_SIZE, 0, None),
            Err(LayoutError::KernelDoesNotFit {
                end: kernel_end,
                ram: kernel_end - PAGE_SIZE
            })
        );
        assert_eq!(
            Layout::new(&image, kernel_end + MIB, 0, Some(2 * MIB)),
            Err(LayoutError::InitrdDoesNotFit {
                size: 2 * MIB,
                room: MIB
            })
        );
        assert!(matches!(
            Layout::new(&image, 128 * MIB, 0x8_0000, None),
            Err(LayoutError::CommandLineTooLong { .. })
        ));
    }

    #[test]
    fn the_gdt_has_the_boot_segments() {
        const LONG_MODE: u64 = 1 << 53;
        const PRESENT_SEGMENT: u64 = 1 << 47;
        let code = GDT[usize::from(BOOT_CS) / 8];
        let data = GDT[usize::from(BOOT_DS) / 8];
        assert_ne!(code & LONG_MODE, 0);
        assert_ne!(code & PRESENT_SEGMENT, 0);
        assert_eq!(data & LONG_MODE, 0);
        assert_ne!(data & PRESENT_SEGMENT, 0);
    }
}
