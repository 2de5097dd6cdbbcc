//! Putting a VM's images into its RAM, afresh at every start, and the
//! registers it starts with: Linux by its 64-bit boot protocol (kernel,
//! initrd, command line, zero page with the e820 map, boot GDT and page
//! tables), or a bare-metal flat image entered in real mode.

use core::fmt;

use cordon_config::ImageKind;
use cordon_guest_loader::bzimage::{BzImage, BzImageError};
use cordon_guest_loader::x86_bare_metal::{self, BareMetalError};
use cordon_guest_loader::x86_boot::{self, BootParamsError, Placement};
use cordon_guest_loader::x86_linux::{self, BOOT_CS, BOOT_DS, Layout, LayoutError};
use log::info;

use crate::arch::x86_64::vmx::entry_state::EntryState;

/// Bytes in a page-table entry and a GDT descriptor.
const ENTRY_SIZE: usize = 8;

/// What a VM boots.
pub struct Images {
    pub kind: ImageKind,
    pub kernel: &'static [u8],
    pub initrd: Option<&'static [u8]>,
    pub bootargs: &'static str,
}

/// Why a VM's images cannot be loaded.
#[derive(Debug)]
pub enum LoadError {
    BzImage(BzImageError),
    Layout(LayoutError),
    BootParams(BootParamsError),
    BareMetal(BareMetalError),
    /// A bare-metal VM with an initrd: nothing would read it.
    BareMetalInitrd,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BzImage(error) => write!(f, "kernel: {error}"),
            Self::Layout(error) => error.fmt(f),
            Self::BootParams(error) => write!(f, "zero page: {error}"),
            Self::BareMetal(error) => error.fmt(f),
            Self::BareMetalInitrd => {
                f.write_str("a bare-metal guest gets no initrd on x86-pc: nothing would find it")
            }
        }
    }
}

/// Checks that `images` can be loaded into `ram_size` bytes, before any
/// VM starts.
pub fn check(images: &Images, ram_size: u64) -> Result<(), LoadError> {
    match images.kind {
        ImageKind::Linux => linux_layout(images, ram_size).map(drop),
        ImageKind::BareMetal => bare_metal_check(images, ram_size),
    }
}

/// Loads `images` into `ram` (the VM's RAM from guest-physical 0, zeroed
/// first); the registers the VM starts with.
pub fn load(vm: &str, images: &Images, ram: &mut [u8]) -> Result<EntryState, LoadError> {
    ram.fill(0);
    match images.kind {
        ImageKind::Linux => load_linux(vm, images, ram),
        ImageKind::BareMetal => {
            bare_metal_check(images, ram.len() as u64)?;
            place(ram, x86_bare_metal::ENTRY, images.kernel);
            place(
                ram,
                x86_bare_metal::COMMAND_LINE,
                images.bootargs.as_bytes(),
            );
            Ok(EntryState::real_mode(
                x86_bare_metal::ENTRY,
                x86_bare_metal::STACK_TOP,
            ))
        }
    }
}

fn bare_metal_check(images: &Images, ram_size: u64) -> Result<(), LoadError> {
    if images.initrd.is_some() {
        return Err(LoadError::BareMetalInitrd);
    }
    x86_bare_metal::check(images.kernel.len(), images.bootargs.len(), ram_size)
        .map_err(LoadError::BareMetal)
}

fn linux_layout(images: &Images, ram_size: u64) -> Result<(BzImage<'static>, Layout), LoadError> {
    let image = BzImage::parse(images.kernel).map_err(LoadError::BzImage)?;
    let initrd_size = images.initrd.map(|initrd| initrd.len() as u64);
    let layout = Layout::new(&image, ram_size, images.bootargs.len(), initrd_size)
        .map_err(LoadError::Layout)?;
    Ok((image, layout))
}

fn load_linux(vm: &str, images: &Images, ram: &mut [u8]) -> Result<EntryState, LoadError> {
    let ram_size = ram.len() as u64;
    let (image, layout) = linux_layout(images, ram_size)?;
    let command_line = images.bootargs.as_bytes();
    let e820 = x86_linux::e820(ram_size).map_err(LoadError::BootParams)?;
    let placement = Placement {
        command_line: (layout.command_line, command_line.len()),
        initrd: layout.initrd,
    };
    let zero_page =
        x86_boot::boot_params(&image, &e820, placement).map_err(LoadError::BootParams)?;
    place(ram, layout.kernel, image.kernel);
    if let (Some((address, _)), Some(initrd)) = (layout.initrd, images.initrd) {
        place(ram, address, initrd);
    }
    // RAM is zeroed, so the command line's NUL is there already.
    place(ram, layout.command_line, command_line);
    place(ram, layout.zero_page, &zero_page);
    let entries = x86_linux::page_table_entries(layout.page_tables);
    for (index, entry) in entries.enumerate() {
        let address = layout.page_tables + (index * ENTRY_SIZE) as u64;
        place(ram, address, &entry.to_le_bytes());
    }
    for (index, descriptor) in x86_linux::GDT.iter().enumerate() {
        let address = layout.gdt + (index * ENTRY_SIZE) as u64;
        place(ram, address, &descriptor.to_le_bytes());
    }
    info!(
        "VM {vm}: Linux (boot protocol {}.{:02}) at {:#x}, command line {:?}{}",
        image.version >> 8,
        image.version & 0xff,
        layout.kernel,
        images.bootargs,
        match layout.initrd {
            Some((address, size)) => alloc::format!(", initrd of {size} bytes at {address:#x}"),
            None => alloc::string::String::new(),
        }
    );
    Ok(EntryState::long_mode(
        layout.entry,
        layout.page_tables,
        (layout.gdt, layout.gdt_limit),
        (BOOT_CS, BOOT_DS),
        layout.zero_page,
    ))
}

/// Copies `bytes` to guest-physical `address` (checked to fit before).
fn place(ram: &mut [u8], address: u64, bytes: &[u8]) {
    let at = address as usize;
    ram[at..at + bytes.len()].copy_from_slice(bytes);
}
