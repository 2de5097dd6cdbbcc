//! The x86 Linux zero page (`struct boot_params`) for the 64-bit boot
//! protocol: the kernel's setup header, an e820 memory map made from the
//! VM's memory, the command line and the initrd (Documentation/arch/x86/
//! boot.rst and zero-page.rst).

use alloc::vec::Vec;
use core::fmt;

use crate::bzimage::{BzImage, SETUP_HEADER_OFFSET};

/// The zero page is one 4 KiB page.
pub const BOOT_PARAMS_SIZE: usize = 4096;
/// Most e820 entries the zero page holds.
pub const E820_MAX_ENTRIES: usize = 128;
/// Zero-page fields, by offset.
const EXT_RAMDISK_IMAGE: usize = 0x0c0;
const EXT_RAMDISK_SIZE: usize = 0x0c4;
const EXT_CMD_LINE_PTR: usize = 0x0c8;
const E820_ENTRIES: usize = 0x1e8;
const TYPE_OF_LOADER: usize = 0x210;
const RAMDISK_IMAGE: usize = 0x218;
const RAMDISK_SIZE: usize = 0x21c;
const CMD_LINE_PTR: usize = 0x228;
const E820_TABLE: usize = 0x2d0;
const E820_ENTRY_SIZE: usize = 20;
/// `type_of_loader`: a loader without an assigned ID.
const LOADER_UNDEFINED: u8 = 0xff;

/// What an e820 range is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum E820Kind {
    Ram = 1,
    Reserved = 2,
}

/// One e820 entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct E820Entry {
    pub address: u64,
    pub size: u64,
    pub kind: E820Kind,
}

impl E820Entry {
    fn end(&self) -> u64 {
        self.address + self.size
    }
}

/// Why a zero page could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootParamsError {
    /// More ranges than the zero page holds.
    TooManyRanges { count: usize },
    /// A reserved range overlaps RAM.
    Overlap { address: u64 },
    /// A range wraps around the address space, or is empty.
    BadRange { address: u64, size: u64 },
    /// The command line is longer than the kernel accepts.
    CommandLineTooLong { len: usize, max: u32 },
    /// The initrd ends above what the kernel can reach.
    InitrdTooHigh { end: u64, max: u32 },
}

impl fmt::Display for BootParamsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooManyRanges { count } => write!(
                f,
                "{count} memory ranges do not fit the zero page's {E820_MAX_ENTRIES} e820 entries"
            ),
            Self::Overlap { address } => {
                write!(f, "a reserved range overlaps RAM at {address:#x}")
            }
            Self::BadRange { address, size } => {
                write!(
                    f,
                    "memory range at {address:#x} of {size:#x} bytes is empty or wraps"
                )
            }
            Self::CommandLineTooLong { len, max } => write!(
                f,
                "the command line ({len} bytes) is longer than the kernel's limit ({max} bytes)"
            ),
            Self::InitrdTooHigh { end, max } => write!(
                f,
                "the initrd ends at {end:#x}, above the kernel's initrd_addr_max {max:#x}"
            ),
        }
    }
}

/// The e820 map of a VM with RAM at `ram` and reserved ranges `reserved`
/// (each `(address, size)`): sorted, touching RAM ranges merged.
pub fn e820_map(
    ram: &[(u64, u64)],
    reserved: &[(u64, u64)],
) -> Result<Vec<E820Entry>, BootParamsError> {
    let mut entries = Vec::new();
    for (&(address, size), kind) in ram
        .iter()
        .map(|range| (range, E820Kind::Ram))
        .chain(reserved.iter().map(|range| (range, E820Kind::Reserved)))
    {
        if size == 0 || address.checked_add(size).is_none() {
            return Err(BootParamsError::BadRange { address, size });
        }
        entries.push(E820Entry {
            address,
            size,
            kind,
        });
    }
    entries.sort_by_key(|entry| entry.address);
    let mut merged: Vec<E820Entry> = Vec::with_capacity(entries.len());
    for entry in entries {
        match merged.last_mut() {
            Some(last)
                if entry.address < last.end()
                    && (last.kind != entry.kind || last.kind == E820Kind::Reserved) =>
            {
                return Err(BootParamsError::Overlap {
                    address: entry.address,
                });
            }
            Some(last) if last.kind == entry.kind && entry.address <= last.end() => {
                last.size = last.size.max(entry.end() - last.address);
            }
            _ => merged.push(entry),
        }
    }
    if merged.len() > E820_MAX_ENTRIES {
        return Err(BootParamsError::TooManyRanges {
            count: merged.len(),
        });
    }
    Ok(merged)
}

/// Where the loader put the command line and the initrd in the VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Guest-physical address and length (without the NUL) of the command line.
    pub command_line: (u64, usize),
    /// Guest-physical address and size of the initrd, if any.
    pub initrd: Option<(u64, u64)>,
}

/// The zero page for `image`, booted with the memory map `e820` and what
/// `placement` says.
pub fn boot_params(
    image: &BzImage,
    e820: &[E820Entry],
    placement: Placement,
) -> Result<[u8; BOOT_PARAMS_SIZE], BootParamsError> {
    if e820.len() > E820_MAX_ENTRIES {
        return Err(BootParamsError::TooManyRanges { count: e820.len() });
    }
    let (command_line, command_line_len) = placement.command_line;
    if command_line_len > image.cmdline_size as usize {
        return Err(BootParamsError::CommandLineTooLong {
            len: command_line_len,
            max: image.cmdline_size,
        });
    }
    let mut page = [0u8; BOOT_PARAMS_SIZE];
    page[SETUP_HEADER_OFFSET..SETUP_HEADER_OFFSET + image.setup_header.len()]
        .copy_from_slice(image.setup_header);
    page[TYPE_OF_LOADER] = LOADER_UNDEFINED;
    split_address(&mut page, CMD_LINE_PTR, EXT_CMD_LINE_PTR, command_line);
    if let Some((address, size)) = placement.initrd {
        let end = address + size;
        if end - 1 > u64::from(image.initrd_addr_max) {
            return Err(BootParamsError::InitrdTooHigh {
                end,
                max: image.initrd_addr_max,
            });
        }
        split_address(&mut page, RAMDISK_IMAGE, EXT_RAMDISK_IMAGE, address);
        split_address(&mut page, RAMDISK_SIZE, EXT_RAMDISK_SIZE, size);
    }
    page[E820_ENTRIES] = e820.len() as u8;
    for (slot, entry) in page[E820_TABLE..]
        .chunks_exact_mut(E820_ENTRY_SIZE)
        .zip(e820)
    {
        slot[0..8].copy_from_slice(&entry.address.to_le_bytes());
        slot[8..16].copy_from_slice(&entry.size.to_le_bytes());
        slot[16..20].copy_from_slice(&(entry.kind as u32).to_le_bytes());
    }
    Ok(page)
}

/// Writes a 64-bit value as the zero page keeps it: the low half at `low`,
/// the high half at `high`.
fn split_address(page: &mut [u8], low: usize, high: usize, value: u64) {
    page[low..low + 4].copy_from_slice(&(value as u32).to_le_bytes());
    page[high..high + 4].copy_from_slice(&((value >> 32) as u32).to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bzimage::tests::bzimage;

    const MIB: u64 = 1 << 20;

    #[test]
    fn ram_is_sorted_and_merged_reserved_kept_apart() {
        let map = e820_map(
            &[(16 * MIB, 16 * MIB), (0, 640 * 1024), (MIB, 15 * MIB)],
            &[(0xf_0000, 0x1_0000)],
        )
        .unwrap();
        assert_eq!(
            map,
            [
                E820Entry {
                    address: 0,
                    size: 640 * 1024,
                    kind: E820Kind::Ram
                },
                E820Entry {
                    address: 0xf_0000,
                    size: 0x1_0000,
                    kind: E820Kind::Reserved
                },
                E820Entry {
                    address: MIB,
                    size: 31 * MIB,
                    kind: E820Kind::Ram
                },
            ]
        );
    }

    #[test]
    fn bad_maps_are_refused() {
        assert_eq!(
            e820_map(&[(0, 2 * MIB)], &[(MIB, 4096)]),
            Err(BootParamsError::Overlap { address: MIB })
        );
        assert_eq!(
            e820_map(&[(u64::MAX - 10, 4096)], &[]),
            Err(BootParamsError::BadRange {
                address: u64::MAX - 10,
                size: 4096
            })
        );
        assert!(matches!(
            e820_map(&[(0, 0)], &[]),
            Err(BootParamsError::BadRange { .. })
        ));
        let scattered: Vec<(u64, u64)> = (0..129).map(|i| (i * 2 * MIB, MIB)).collect();
        assert_eq!(
            e820_map(&scattered, &[]),
            Err(BootParamsError::TooManyRanges { count: 129 })
        );
    }

    fn u32_at(page: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(page[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn the_zero_page_carries_header_map_command_line_and_initrd() {
        let bytes = bzimage();
        let image = BzImage::parse(&bytes).unwrap();
        let e820 = e820_map(&[(0, 640 * 1024), (MIB, 255 * MIB)], &[]).unwrap();
        let page = boot_params(
            &image,
            &e820,
            Placement {
                command_line: (0x2_0000, 40),
                initrd: Some((0x1_2000_0000, 0x40_0000)),
            },
        );
        // The initrd is above initrd_addr_max (2 GiB - 1).
        assert_eq!(
            page.unwrap_err(),
            BootParamsError::InitrdTooHigh {
                end: 0x1_2040_0000,
                max: 0x7fff_ffff
            }
        );
        let page = boot_params(
            &image,
            &e820,
            Placement {
                command_line: (0x2_0000, 40),
                initrd: Some((0x700_0000, 0x40_0000)),
            },
        )
        .unwrap();
        // The kernel's header, but for the fields the loader fills in
        // (type_of_loader to cmd_line_ptr).
        let header_end = SETUP_HEADER_OFFSET + image.setup_header.len();
        let kept = |range: core::ops::Range<usize>| {
            let in_header = range.start - SETUP_HEADER_OFFSET..range.end - SETUP_HEADER_OFFSET;
            assert_eq!(&page[range], &image.setup_header[in_header]);
        };
        kept(SETUP_HEADER_OFFSET..TYPE_OF_LOADER);
        kept(CMD_LINE_PTR + 4..header_end);
        assert_eq!(page[TYPE_OF_LOADER], LOADER_UNDEFINED);
        assert_eq!(u32_at(&page, CMD_LINE_PTR), 0x2_0000);
        assert_eq!(u32_at(&page, EXT_CMD_LINE_PTR), 0);
        assert_eq!(u32_at(&page, RAMDISK_IMAGE), 0x700_0000);
        assert_eq!(u32_at(&page, RAMDISK_SIZE), 0x40_0000);
        assert_eq!(page[E820_ENTRIES], 2);
        let second = E820_TABLE + E820_ENTRY_SIZE;
        assert_eq!(u32_at(&page, second), MIB as u32);
        assert_eq!(u32_at(&page, second + 8), (255 * MIB) as u32);
        assert_eq!(u32_at(&page, second + 16), E820Kind::Ram as u32);
    }

    #[test]
    fn a_command_line_longer_than_the_kernel_takes_is_refused() {
        let bytes = bzimage();
        let image = BzImage::parse(&bytes).unwrap();
        let result = boot_params(
            &image,
            &[],
            Placement {
                command_line: (0x2_0000, 4096),
                initrd: None,
            },
        );
        assert_eq!(
            result.unwrap_err(),
            BootParamsError::CommandLineTooLong {
                len: 4096,
                max: 2047
            }
        );
    }
}
