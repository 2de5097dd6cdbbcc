//! Each CPU's own GDT and task-state segment, which VMX needs: a VM exit
//! loads the host's TR, which must name a TSS. The code and data selectors
//! are those the boot GDT (`entry`) and the IDT use.

use alloc::boxed::Box;

use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;

use super::entry::{CODE64_SELECTOR, DATA_SELECTOR};

/// A CPU's descriptor tables, as VMX host state needs them.
pub struct CpuTables {
    gdt: GlobalDescriptorTable,
    tss: TaskStateSegment,
    pub code: SegmentSelector,
    pub data: SegmentSelector,
    pub task: SegmentSelector,
}

impl CpuTables {
    /// The GDT's address.
    pub fn gdt_base(&self) -> u64 {
        VirtAddr::from_ptr(&self.gdt).as_u64()
    }

    /// The TSS's address.
    pub fn tss_base(&self) -> u64 {
        VirtAddr::from_ptr(&self.tss).as_u64()
    }
}

/// Gives this CPU a GDT with a TSS of its own and loads them (once per
/// CPU: the tables live for good).
pub fn load() -> &'static CpuTables {
    let tables: &'static mut CpuTables = Box::leak(Box::new(CpuTables {
        gdt: GlobalDescriptorTable::new(),
        tss: TaskStateSegment::new(),
        code: SegmentSelector(0),
        data: SegmentSelector(0),
        task: SegmentSelector(0),
    }));
    tables.code = tables.gdt.append(Descriptor::kernel_code_segment());
    tables.data = tables.gdt.append(Descriptor::kernel_data_segment());
    debug_assert_eq!(tables.code.0, CODE64_SELECTOR);
    debug_assert_eq!(tables.data.0, DATA_SELECTOR);
    let tss: &'static TaskStateSegment = &tables.tss;
    // SAFETY: `tss` is never moved or freed (leaked above).
    tables.task = tables.gdt.append(Descriptor::tss_segment(tss));
    let tables: &'static CpuTables = tables;
    tables.gdt.load();
    // SAFETY: the selectors name the flat 64-bit code and data segments
    // of the GDT just loaded, the same as before; the TSS descriptor is
    // valid and not busy (each CPU has its own).
    unsafe {
        CS::set_reg(tables.code);
        SS::set_reg(tables.data);
        DS::set_reg(tables.data);
        ES::set_reg(tables.data);
        load_tss(tables.task);
    }
    tables
}
