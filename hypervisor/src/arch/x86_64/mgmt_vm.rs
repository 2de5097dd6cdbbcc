//! The Linux management VM on a PC: a bzImage (and an initramfs) the
//! loader passed as multiboot2 modules, loaded into RAM of its own and
//! entered by Linux's 64-bit boot protocol on this CPU, which it then owns.
//!
//! What it is given, and nothing else: [`RAM`] bytes at guest-physical 0
//! (its EPT maps nothing more); COM1, the legacy PICs, the PIT (with port
//! 0x61, the PIT's gate) and the CMOS real-time clock through its I/O
//! bitmap; this CPU's interrupts,
//! which reach it without VM exits (the PIC interrupts this CPU through
//! LINT0, and its HLT with interrupts enabled waits for them on the CPU; a
//! HLT with interrupts disabled stops it); the MSRs only this CPU's SYSCALL,
//! SWAPGS and RDTSCP use. No local APIC (CPUID hides it: Linux runs its
//! timer on the PIT through the PIC), no I/O APIC, no ACPI tables: Linux
//! sees one CPU. Every other port reads as absent; every other MSR is #GP.

use core::fmt;

use log::{info, warn};
use multiboot2::BootInformation;

use super::entry::IDENTITY_MAP_END;
use super::gdt::CpuTables;
use super::lapic::Lapic;
use super::vmx::entry_state::EntryState;
use super::vmx::ept::{Access, Ept, LARGE_PAGE_SIZE};
use super::vmx::exits::{self, Next, Stopped};
use super::vmx::frames::HeapFrames;
use super::vmx::io::IoBitmaps;
use super::vmx::msr::MsrBitmap;
use super::vmx::operation::{VmxCpu, VmxError};
use super::vmx::vcpu::{GuestStart, Vcpu};
use crate::mm::boot_map::MAX_FREE_RANGES;
use crate::mm::region::RegionSet;
use alloc::boxed::Box;
use cordon_guest_loader::bzimage::{BzImage, BzImageError};
use cordon_guest_loader::x86_boot::{self, BootParamsError, Placement};
use cordon_guest_loader::x86_linux::{self, BOOT_CS, BOOT_DS, Layout, LayoutError};

/// The VM's name in cordon's log.
const NAME: &str = "mgmt";
/// The management VM's RAM.
pub const RAM: u64 = 128 << 20;
/// The first words of the multiboot2 module strings that name the kernel
/// (the rest of its string is Linux's command line) and the initramfs.
const KERNEL_MODULE: &str = "linux";
const INITRD_MODULE: &str = "initrd";
/// Bytes in a page-table entry and a GDT descriptor.
const ENTRY_SIZE: usize = 8;
/// Its VPID: the only VM on its CPU.
const VPID: u16 = 1;
/// The ports it owns: COM1, both PICs' command and data ports, the PIT,
/// port 0x61 (the PIT channel 2 gate, which Linux calibrates with), and the
/// CMOS real-time clock's index and data ports (the platform's wall clock,
/// which Linux waits on at boot).
const OWNED_PORTS: [core::ops::RangeInclusive<u16>; 6] = [
    0x3f8..=0x3ff,
    0x20..=0x21,
    0xa0..=0xa1,
    0x40..=0x43,
    0x61..=0x61,
    0x70..=0x71,
];

/// The management VM's kernel, its command line, and its initramfs.
pub struct LinuxModules<'a> {
    kernel: &'static [u8],
    command_line: &'a str,
    initrd: Option<&'static [u8]>,
}

/// Why the management VM could not be started.
#[derive(Debug)]
pub enum MgmtVmError {
    BzImage(BzImageError),
    Layout(LayoutError),
    BootParams(BootParamsError),
    /// No free RAM for it.
    NoRam {
        size: u64,
    },
    Vmx(VmxError),
}

impl fmt::Display for MgmtVmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BzImage(error) => write!(f, "management VM kernel: {error}"),
            Self::Layout(error) => write!(f, "management VM: {error}"),
            Self::BootParams(error) => write!(f, "management VM zero page: {error}"),
            Self::NoRam { size } => write!(
                f,
                "no {} MiB of free RAM below {IDENTITY_MAP_END:#x} for the management VM",
                size >> 20
            ),
            Self::Vmx(error) => write!(f, "management VM: {error}"),
        }
    }
}

/// The management VM's modules, if the loader passed a kernel.
pub fn find_modules<'a>(info: &'a BootInformation<'a>) -> Option<LinuxModules<'a>> {
    let mut kernel = None;
    let mut initrd = None;
    for module in info.module_tags() {
        let string = module.cmdline().unwrap_or_default();
        let (role, rest) = string.split_once(' ').unwrap_or((string, ""));
        let (start, end) = (module.start_address(), module.end_address());
        // SAFETY: the loader placed the module there, below 4 GiB and so
        // identity-mapped; `memory::init` keeps it out of the heap and of
        // the free RAM, and nothing writes it.
        let bytes = unsafe {
            core::slice::from_raw_parts(start as usize as *const u8, (end - start) as usize)
        };
        match role {
            KERNEL_MODULE => kernel = Some((bytes, rest.trim())),
            INITRD_MODULE => initrd = Some(bytes),
            _ => warn!("multiboot2 module {string:?} ignored"),
        }
    }
    let (kernel, command_line) = kernel?;
    Some(LinuxModules {
        kernel,
        command_line,
        initrd,
    })
}

/// Loads the management VM from `modules` into RAM taken from `free`, and
/// runs it on this CPU until cordon stops it.
pub fn run(
    cpu: &VmxCpu,
    tables: &CpuTables,
    lapic: &Lapic,
    free: &mut RegionSet<MAX_FREE_RANGES>,
    modules: &LinuxModules<'_>,
) -> Result<Stopped, MgmtVmError> {
    let image = BzImage::parse(modules.kernel).map_err(MgmtVmError::BzImage)?;
    let command_line = modules.command_line.as_bytes();
    let initrd_size = modules.initrd.map(|initrd| initrd.len() as u64);
    let layout =
        Layout::new(&image, RAM, command_line.len(), initrd_size).map_err(MgmtVmError::Layout)?;
    let e820 = x86_linux::e820(RAM).map_err(MgmtVmError::BootParams)?;
    let placement = Placement {
        command_line: (layout.command_line, command_line.len()),
        initrd: layout.initrd,
    };
    let zero_page =
        x86_boot::boot_params(&image, &e820, placement).map_err(MgmtVmError::BootParams)?;

    let host = free
        .take_below(RAM, LARGE_PAGE_SIZE, IDENTITY_MAP_END)
        .ok_or(MgmtVmError::NoRam { size: RAM })?;
    let ram = guest_ram(host.start);
    ram.fill(0);
    let mut place = |address: u64, bytes: &[u8]| {
        let at = address as usize;
        ram[at..at + bytes.len()].copy_from_slice(bytes);
    };
    place(layout.kernel, image.kernel);
    if let (Some((address, _)), Some(initrd)) = (layout.initrd, modules.initrd) {
        place(address, initrd);
    }
    // The command line; RAM is zeroed, so its NUL is there already.
    place(layout.command_line, command_line);
    place(layout.zero_page, &zero_page);
    let entries = x86_linux::page_table_entries(layout.page_tables);
    for (index, entry) in entries.enumerate() {
        let address = layout.page_tables + (index * ENTRY_SIZE) as u64;
        place(address, &entry.to_le_bytes());
    }
    for (index, descriptor) in x86_linux::GDT.iter().enumerate() {
        place(
            layout.gdt + (index * ENTRY_SIZE) as u64,
            &descriptor.to_le_bytes(),
        );
    }
    info!(
        "{NAME}: Linux (boot protocol {}.{:02}) at {:#x}, {} MiB of RAM at host {:#x}, \
         command line {:?}{}",
        image.version >> 8,
        image.version & 0xff,
        layout.kernel,
        RAM >> 20,
        host.start,
        modules.command_line,
        match layout.initrd {
            Some((address, size)) => alloc::format!(", initrd of {size} bytes at {address:#x}"),
            None => alloc::string::String::new(),
        }
    );

    let vmx = |error| MgmtVmError::Vmx(error);
    let mut ept = Ept::new(HeapFrames, cpu.ept).map_err(|error| vmx(VmxError::Ept(error)))?;
    ept.map(0, host.start, RAM, Access::ALL)
        .map_err(|error| vmx(VmxError::Ept(error)))?;
    let io_bitmaps: &'static mut IoBitmaps = Box::leak(Box::new(IoBitmaps::deny_all()));
    for ports in OWNED_PORTS {
        io_bitmaps.allow(ports);
    }
    let msr_bitmap: &'static MsrBitmap = Box::leak(Box::new(MsrBitmap::for_cpu_owner()));
    let start = GuestStart {
        ept_pointer: ept.pointer(),
        vpid: VPID,
        entry: EntryState::long_mode(
            layout.entry,
            layout.page_tables,
            (layout.gdt, layout.gdt_limit),
            (BOOT_CS, BOOT_DS),
            layout.zero_page,
        ),
        owns_interrupts: true,
        io_bitmaps,
        msr_bitmap,
    };
    let mut vcpu = Vcpu::new(cpu, tables, start).map_err(vmx)?;
    lapic.accept_pic_interrupts();
    info!("{NAME}: entering Linux at {:#x}", layout.entry);
    loop {
        let reason = vcpu.run().map_err(vmx)?;
        if let Next::Stop(stopped) = exits::handle(NAME, &mut vcpu, reason) {
            return Ok(stopped);
        }
    }
}

/// The VM's RAM, at host-physical `start`, as bytes cordon fills.
fn guest_ram(start: u64) -> &'static mut [u8] {
    // SAFETY: `start` begins RAM bytes just taken out of the free RAM, for
    // good: identity-mapped (below IDENTITY_MAP_END) and nobody else's.
    unsafe { core::slice::from_raw_parts_mut(start as *mut u8, RAM as usize) }
}
