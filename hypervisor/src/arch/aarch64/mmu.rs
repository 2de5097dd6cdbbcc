//! cordon's own EL2 address space: identity-mapped, RAM as normal memory,
//! the image with per-section permissions (stack guard pages left out) and
//! the console UART, the GIC and the firmware's mailbox (if any) as device
//! memory. Nothing else is mapped.

use crate::board::{Board, Uart};
use crate::dt::BootInfo;
use crate::mm::region::{PhysRange, RegionSet};

use super::cpu;
use super::pagetable::{El2Attrs, MapError, PAGE_SIZE, PageTable, TableStore};
use super::start::{ImageLayout, stack_guards};

/// Tables available to map cordon's address space at boot.
const BOOT_TABLES: usize = 32;
const ENTRIES: usize = 512;

#[repr(C, align(4096))]
struct Table([u64; ENTRIES]);

/// Boot-time table memory, in the image's zeroed data.
static mut TABLE_POOL: [Table; BOOT_TABLES] = [const { Table([0; ENTRIES]) }; BOOT_TABLES];

/// Hands out [`TABLE_POOL`] one table at a time; identity-mapped, so a
/// table's physical address is its address.
struct BootTables {
    used: usize,
}

impl TableStore for BootTables {
    fn alloc_table(&mut self) -> Option<u64> {
        if self.used == BOOT_TABLES {
            return None;
        }
        // SAFETY: only the primary CPU builds the tables, once, before any
        // other CPU runs; tables are handed out once each.
        let table = unsafe { &raw mut TABLE_POOL[self.used] };
        self.used += 1;
        Some(table as u64)
    }

    fn table(&mut self, pa: u64) -> &mut [u64; ENTRIES] {
        // SAFETY: `pa` came from `alloc_table`: a table in TABLE_POOL,
        // reachable at its physical address (MMU off or identity-mapped).
        unsafe { &mut *(pa as *mut [u64; ENTRIES]) }
    }
}

/// System register values that turn the MMU on; read by `enable_mmu_el2`
/// in entry.S on every CPU.
#[repr(C)]
pub struct MmuConfig {
    pub mair: u64,
    pub tcr: u64,
    pub ttbr0: u64,
    pub sctlr: u64,
}

/// TCR_EL2 fields (non-VHE EL2 regime).
mod tcr {
    pub const IRGN0_WBWA: u64 = 0b01 << 8;
    pub const ORGN0_WBWA: u64 = 0b01 << 10;
    pub const SH0_INNER: u64 = 0b11 << 12;
    pub const TG0_4K: u64 = 0b00 << 14;
    pub const PS_SHIFT: u32 = 16;
    pub const RES1: u64 = (1 << 31) | (1 << 23);
}

/// SCTLR_EL2 fields (non-VHE).
pub mod sctlr {
    /// Bits that read as one; also the value after leaving EL3.
    pub const RES1: u64 = 0x30c5_0830;
    pub const M_MMU: u64 = 1 << 0;
    pub const C_DCACHE: u64 = 1 << 2;
    pub const SA_STACK_ALIGN: u64 = 1 << 3;
    pub const I_ICACHE: u64 = 1 << 12;
    /// Writable memory is never executable.
    pub const WXN: u64 = 1 << 19;
}

/// Where the page tables for EL2 live and how to switch them on.
pub fn build(
    info: &BootInfo,
    image: &ImageLayout,
    console: Uart,
    board: &Board,
    firmware_mailbox: Option<u64>,
) -> Result<MmuConfig, MapError> {
    let (pa_bits, pa_range) = cpu::physical_address_bits();
    let va_bits = pa_bits.min(48);
    let mut store = BootTables { used: 0 };
    let mut tables = PageTable::new(&mut store, va_bits)?;

    // RAM around the image.
    let mut ram = RegionSet::<{ crate::dt::MAX_MEMORY_BANKS + 2 }>::new();
    for bank in info.memory.iter() {
        ram.insert(bank.align_inward(PAGE_SIZE))
            .map_err(|_| MapError::OutOfTables)?;
    }
    ram.remove(image.whole())
        .map_err(|_| MapError::OutOfTables)?;
    for range in ram.iter() {
        tables.map(
            &mut store,
            range.start,
            range.start,
            range.size(),
            El2Attrs::DATA,
        )?;
    }

    // The image, section by section; stack guard pages stay unmapped.
    let mut map = |range: PhysRange, attrs| {
        tables.map(&mut store, range.start, range.start, range.size(), attrs)
    };
    map(image.text, El2Attrs::CODE)?;
    map(image.read_only, El2Attrs::READ_ONLY_DATA)?;
    let mut data = RegionSet::<{ crate::dt::MAX_CPUS + 2 }>::new();
    data.insert(image.data).map_err(|_| MapError::OutOfTables)?;
    for guard in stack_guards() {
        data.remove(guard).map_err(|_| MapError::OutOfTables)?;
    }
    for range in data.iter() {
        map(*range, El2Attrs::DATA)?;
    }

    // The console UART, and the firmware's mailbox if the board has one.
    for device in core::iter::once(console.base).chain(firmware_mailbox) {
        let page = device & !(PAGE_SIZE - 1);
        map(
            PhysRange::from_base_size(page, PAGE_SIZE).unwrap(),
            El2Attrs::DEVICE,
        )?;
    }
    // The GIC frames cordon drives (the CPU interface spans two pages: DIR
    // is at 0x1000).
    let gic = &board.gic;
    for (base, size) in [
        (gic.gicd, PAGE_SIZE),
        (gic.gicc, 2 * PAGE_SIZE),
        (gic.gich, PAGE_SIZE),
    ] {
        map(
            PhysRange::from_base_size(base, size).unwrap(),
            El2Attrs::DEVICE,
        )?;
    }

    Ok(MmuConfig {
        mair: El2Attrs::MAIR,
        tcr: (64 - va_bits as u64)
            | tcr::IRGN0_WBWA
            | tcr::ORGN0_WBWA
            | tcr::SH0_INNER
            | tcr::TG0_4K
            | (pa_range.min(5) << tcr::PS_SHIFT)
            | tcr::RES1,
        ttbr0: tables.root(),
        sctlr: sctlr::RES1
            | sctlr::M_MMU
            | sctlr::C_DCACHE
            | sctlr::SA_STACK_ALIGN
            | sctlr::I_ICACHE
            | sctlr::WXN,
    })
}
