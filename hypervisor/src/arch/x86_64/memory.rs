//! RAM on a PC: what the multiboot2 memory map calls available, minus what
//! must survive (cordon's image, the loader's boot information and modules,
//! the legacy first MiB with the AP trampoline), within the boot page
//! tables' identity map; cordon's heap comes from it.

use log::{info, warn};
use multiboot2::{BootInformation, MemoryAreaType};

use super::entry::IDENTITY_MAP_END;
use crate::mm::FRAME_SIZE;
use crate::mm::boot_map::{MAX_FREE_RANGES, free_ranges};
use crate::mm::heap::{self, HEAP_SIZE};
use crate::mm::region::{PhysRange, RegionSet, RegionSetFull};

/// Real-mode memory, BIOS data and the AP trampoline: left alone.
const LEGACY_END: u64 = 1 << 20;
const MIB: u64 = 1 << 20;

unsafe extern "C" {
    static __image_start: u8;
    static __image_end: u8;
}

/// Why cordon has no heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryError {
    /// The loader passed no memory map.
    NoMemoryMap,
    /// The free ranges are too fragmented to track.
    TooFragmented(RegionSetFull),
    /// No free range is large enough for the heap.
    NoRoomForHeap { largest: u64 },
}

impl core::fmt::Display for MemoryError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoMemoryMap => f.write_str("the loader passed no memory map (multiboot2 tag 6)"),
            Self::TooFragmented(_) => write!(
                f,
                "free RAM is split into more than {MAX_FREE_RANGES} ranges"
            ),
            Self::NoRoomForHeap { largest } => write!(
                f,
                "no free RAM below {IDENTITY_MAP_END:#x} for the {} MiB heap (largest free \
                 range: {} KiB)",
                HEAP_SIZE / MIB,
                largest / 1024
            ),
        }
    }
}

/// Logs the available RAM, gives the heap its share, and returns what is
/// left free.
pub fn init(info: &BootInformation) -> Result<RegionSet<MAX_FREE_RANGES>, MemoryError> {
    let map = info.memory_map_tag().ok_or(MemoryError::NoMemoryMap)?;
    let available = map
        .memory_areas()
        .iter()
        .filter(|area| area.typ() == MemoryAreaType::Available)
        .filter_map(|area| PhysRange::from_base_size(area.start_address(), area.size()));
    let mut total = 0;
    for range in available.clone() {
        info!("memory: {range} ({} KiB)", range.size() / 1024);
        total += range.size();
    }
    info!("memory: {} MiB available", total / MIB);

    let image = PhysRange {
        start: &raw const __image_start as u64,
        end: &raw const __image_end as u64,
    };
    let boot_information = PhysRange {
        start: info.start_address() as u64,
        end: info.end_address() as u64,
    };
    let modules = info.module_tags().map(|module| PhysRange {
        start: u64::from(module.start_address()),
        end: u64::from(module.end_address()),
    });
    let held = [
        PhysRange {
            start: 0,
            end: LEGACY_END,
        },
        image,
        boot_information,
        PhysRange {
            start: IDENTITY_MAP_END,
            end: u64::MAX,
        },
    ]
    .into_iter()
    .chain(modules);
    let mut free = free_ranges(available, held).map_err(MemoryError::TooFragmented)?;
    let largest = free.iter().map(PhysRange::size).max().unwrap_or(0);
    let heap_range = free
        .take_below(HEAP_SIZE, FRAME_SIZE, IDENTITY_MAP_END)
        .ok_or(MemoryError::NoRoomForHeap { largest })?;
    // SAFETY: the range is free RAM, identity-mapped read-write by the boot
    // page tables, and now out of the free set for good.
    unsafe { heap::init(heap_range) };
    info!("heap: {heap_range}");
    if free.is_empty() {
        warn!("memory: nothing left for VMs");
    }
    Ok(free)
}
