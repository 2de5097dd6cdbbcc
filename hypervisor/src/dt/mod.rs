//! Reading the boot device tree: what machine cordon was started on.
//!
//! Everything here runs before the MMU and the heap exist, so results are
//! kept in fixed-capacity collections and borrow from the DTB itself.

mod address;
mod nop;

pub use address::{AddressError, resolve_path, translate_to_cpu};
pub use nop::{NopError, remove_nops, total_size};

use fdt::Fdt;
use heapless::Vec;

use crate::mm::region::{PhysRange, RegionSet};

/// Most RAM banks cordon takes from the device tree.
pub const MAX_MEMORY_BANKS: usize = 8;
/// Most reserved regions (memreserve entries, reserved-memory nodes, initrd).
pub const MAX_RESERVED: usize = 32;
/// Most CPUs cordon manages.
pub const MAX_CPUS: usize = 8;
/// Most boot modules (guest kernels and ramdisks) cordon takes.
pub const MAX_MODULES: usize = 8;

/// What a boot module holds, from its `multiboot,*` compatible.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ModuleKind {
    Kernel,
    Ramdisk,
    Other,
}

/// A file the loader put in RAM for cordon (the Multiboot for Arm binding:
/// `/chosen/module@...` with compatible "multiboot,module"), e.g. by QEMU's
/// `guest-loader` device or a U-Boot script.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct BootModule<'a> {
    pub range: PhysRange,
    pub kind: ModuleKind,
    /// Command line for a kernel module.
    pub bootargs: Option<&'a str>,
}

const MODULE_COMPATIBLE: &str = "multiboot,module";

/// Affinity fields of MPIDR_EL1 (Aff3 and Aff2..Aff0): what a cpu node's `reg` holds.
pub const MPIDR_AFFINITY_MASK: u64 = 0xff_00ff_ffff;

/// How a secondary CPU is started, from its node's `enable-method`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EnableMethod {
    Psci,
    SpinTable { release_addr: u64 },
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CpuNode {
    /// MPIDR affinity bits, from `reg`.
    pub mpidr: u64,
    pub enable_method: Option<EnableMethod>,
}

/// How PSCI calls reach firmware.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PsciConduit {
    Smc,
    Hvc,
}

/// Why a region of RAM is not free.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ReservedKind<'a> {
    /// An entry of the DTB's memory reservation block (`/memreserve/`).
    MemReserve,
    /// A child of `/reserved-memory`, by node name.
    ReservedMemory(&'a str),
    /// The initial ramdisk named in `/chosen`.
    Initrd,
    /// A boot module (`/chosen/module@...`): a guest kernel or ramdisk.
    Module,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Reserved<'a> {
    pub range: PhysRange,
    pub kind: ReservedKind<'a>,
}

/// What is wrong with the boot device tree.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum DtError<'a> {
    Invalid(fdt::FdtError),
    NoMemory,
    TooManyMemoryBanks,
    TooManyReserved,
    TooManyCpus,
    TooManyModules,
    NoCpusNode,
    /// A property has a length or value cordon can't use.
    BadProperty {
        node: &'a str,
        property: &'static str,
    },
    /// A `reg` uses more than two address or size cells.
    UnsupportedCells {
        node: &'a str,
    },
}

impl core::fmt::Display for DtError<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Invalid(err) => write!(f, "not a valid flattened device tree ({err:?})"),
            Self::NoMemory => write!(f, "no memory node with a non-empty reg"),
            Self::TooManyMemoryBanks => write!(f, "more than {MAX_MEMORY_BANKS} memory banks"),
            Self::TooManyReserved => write!(f, "more than {MAX_RESERVED} reserved regions"),
            Self::TooManyCpus => write!(f, "more than {MAX_CPUS} CPUs"),
            Self::TooManyModules => write!(f, "more than {MAX_MODULES} boot modules"),
            Self::NoCpusNode => write!(f, "no /cpus node"),
            Self::BadProperty { node, property } => {
                write!(f, "node {node}: malformed property {property}")
            }
            Self::UnsupportedCells { node } => {
                write!(f, "node {node}: more than 2 address or size cells")
            }
        }
    }
}

/// The machine as the boot device tree describes it.
#[derive(Debug)]
pub struct BootInfo<'a> {
    /// RAM banks.
    pub memory: RegionSet<MAX_MEMORY_BANKS>,
    /// RAM that firmware, the loader or the device tree keep for themselves.
    pub reserved: Vec<Reserved<'a>, MAX_RESERVED>,
    /// Guest kernels and ramdisks the loader placed in RAM.
    pub modules: Vec<BootModule<'a>, MAX_MODULES>,
    /// CPUs in device-tree order.
    pub cpus: Vec<CpuNode, MAX_CPUS>,
    /// Set when a `/psci` node (0.2 or later) is present.
    pub psci: Option<PsciConduit>,
    pub bootargs: &'a str,
    /// `stdout-path` without its `:options` suffix (a path or an alias).
    pub stdout_path: Option<&'a str>,
}

const PSCI_COMPATIBLE: &[&str] = &["arm,psci-1.0", "arm,psci-0.2"];

/// Reads a big-endian number of `cells` 32-bit cells (1 or 2).
pub(crate) fn read_cells(bytes: &[u8], cells: usize) -> Option<u64> {
    match cells {
        1 => Some(u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as u64),
        2 => Some(u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?)),
        _ => None,
    }
}

/// Iterates over `(address, size)` pairs of a `reg`-like property.
pub(crate) fn reg_pairs(
    value: &[u8],
    address_cells: usize,
    size_cells: usize,
) -> impl Iterator<Item = Option<(u64, u64)>> + '_ {
    let stride = (address_cells + size_cells) * 4;
    value.chunks(stride.max(4)).map(move |chunk| {
        if chunk.len() != stride {
            return None;
        }
        let address = read_cells(chunk, address_cells)?;
        let size = read_cells(&chunk[address_cells * 4..], size_cells)?;
        Some((address, size))
    })
}

impl<'a> BootInfo<'a> {
    pub fn parse(fdt: &Fdt<'a>) -> Result<Self, DtError<'a>> {
        let modules = Self::parse_modules(fdt)?;
        let mut reserved = Self::parse_reserved(fdt)?;
        for module in &modules {
            reserved
                .push(Reserved {
                    range: module.range,
                    kind: ReservedKind::Module,
                })
                .map_err(|_| DtError::TooManyReserved)?;
        }
        Ok(Self {
            memory: Self::parse_memory(fdt)?,
            reserved,
            modules,
            cpus: Self::parse_cpus(fdt)?,
            psci: Self::parse_psci(fdt)?,
            bootargs: fdt.chosen().bootargs().unwrap_or(""),
            stdout_path: fdt
                .find_node("/chosen")
                .and_then(|chosen| chosen.property("stdout-path"))
                .and_then(|p| p.as_str())
                .map(|path| path.split(':').next().unwrap_or(path)),
        })
    }

    fn parse_memory(fdt: &Fdt<'a>) -> Result<RegionSet<MAX_MEMORY_BANKS>, DtError<'a>> {
        let root = fdt.find_node("/").ok_or(DtError::NoMemory)?;
        let cells = root.cell_sizes();
        let mut memory = RegionSet::new();
        let is_memory = |node: &fdt::node::FdtNode| {
            node.property("device_type").and_then(|p| p.as_str()) == Some("memory")
        };
        for node in root.children().filter(is_memory) {
            let Some(reg) = node.property("reg") else {
                continue;
            };
            for pair in reg_pairs(reg.value, cells.address_cells, cells.size_cells) {
                let (base, size) = pair.ok_or(DtError::BadProperty {
                    node: node.name,
                    property: "reg",
                })?;
                let range = PhysRange::from_base_size(base, size).ok_or(DtError::BadProperty {
                    node: node.name,
                    property: "reg",
                })?;
                memory
                    .insert(range)
                    .map_err(|_| DtError::TooManyMemoryBanks)?;
            }
        }
        if memory.is_empty() {
            return Err(DtError::NoMemory);
        }
        Ok(memory)
    }

    fn parse_reserved(fdt: &Fdt<'a>) -> Result<Vec<Reserved<'a>, MAX_RESERVED>, DtError<'a>> {
        let mut reserved = Vec::new();
        let mut add = |range: Option<PhysRange>, kind, node| {
            let range = range.ok_or(DtError::BadProperty {
                node,
                property: "reg",
            })?;
            if range.is_empty() {
                return Ok(());
            }
            reserved
                .push(Reserved { range, kind })
                .map_err(|_| DtError::TooManyReserved)
        };

        for entry in fdt.memory_reservations() {
            let range = PhysRange::from_base_size(entry.address() as u64, entry.size() as u64);
            add(range, ReservedKind::MemReserve, "/memreserve/")?;
        }

        if let Some(parent) = fdt.find_node("/reserved-memory") {
            let cells = parent.cell_sizes();
            for node in parent.children() {
                // Nodes with only a `size` are allocated by the OS that reads
                // them; they don't pin any address.
                let Some(reg) = node.property("reg") else {
                    continue;
                };
                for pair in reg_pairs(reg.value, cells.address_cells, cells.size_cells) {
                    let range = pair.and_then(|(base, size)| PhysRange::from_base_size(base, size));
                    add(range, ReservedKind::ReservedMemory(node.name), node.name)?;
                }
            }
        }

        if let Some(chosen) = fdt.find_node("/chosen") {
            let start = chosen.property("linux,initrd-start");
            let end = chosen.property("linux,initrd-end");
            if let (Some(start), Some(end)) = (start, end) {
                let bad = DtError::BadProperty {
                    node: "/chosen",
                    property: "linux,initrd-start",
                };
                let start = start.as_usize().ok_or(bad)? as u64;
                let end = end.as_usize().ok_or(bad)? as u64;
                let range = (start <= end).then_some(PhysRange { start, end });
                add(range, ReservedKind::Initrd, "/chosen")?;
            }
        }
        Ok(reserved)
    }

    fn parse_modules(fdt: &Fdt<'a>) -> Result<Vec<BootModule<'a>, MAX_MODULES>, DtError<'a>> {
        let mut modules = Vec::new();
        let Some(chosen) = fdt.find_node("/chosen") else {
            return Ok(modules);
        };
        // Module `reg`s use /chosen's cells if it has them, else the root's.
        let cells = if chosen.property("#address-cells").is_some() {
            chosen.cell_sizes()
        } else {
            fdt.find_node("/")
                .map(|root| root.cell_sizes())
                .unwrap_or_default()
        };
        for node in chosen.children() {
            let Some(compatible) = node.compatible() else {
                continue;
            };
            if !compatible.all().any(|c| c == MODULE_COMPATIBLE) {
                continue;
            }
            let kind = if compatible.all().any(|c| c == "multiboot,kernel") {
                ModuleKind::Kernel
            } else if compatible.all().any(|c| c == "multiboot,ramdisk") {
                ModuleKind::Ramdisk
            } else {
                ModuleKind::Other
            };
            let bad = DtError::BadProperty {
                node: node.name,
                property: "reg",
            };
            let reg = node.property("reg").ok_or(bad)?;
            let (base, size) = reg_pairs(reg.value, cells.address_cells, cells.size_cells)
                .next()
                .flatten()
                .ok_or(bad)?;
            let range = PhysRange::from_base_size(base, size).ok_or(bad)?;
            let bootargs = node.property("bootargs").and_then(|p| p.as_str());
            modules
                .push(BootModule {
                    range,
                    kind,
                    bootargs,
                })
                .map_err(|_| DtError::TooManyModules)?;
        }
        Ok(modules)
    }

    /// The first boot module of `kind`.
    pub fn module(&self, kind: ModuleKind) -> Option<&BootModule<'a>> {
        self.modules.iter().find(|m| m.kind == kind)
    }

    fn parse_cpus(fdt: &Fdt<'a>) -> Result<Vec<CpuNode, MAX_CPUS>, DtError<'a>> {
        let parent = fdt.find_node("/cpus").ok_or(DtError::NoCpusNode)?;
        let address_cells = parent.cell_sizes().address_cells;
        let is_cpu = |node: &fdt::node::FdtNode| {
            node.property("device_type").and_then(|p| p.as_str()) == Some("cpu")
        };
        let mut cpus = Vec::new();
        for node in parent.children().filter(is_cpu) {
            let bad = |property| DtError::BadProperty {
                node: node.name,
                property,
            };
            let reg = node.property("reg").ok_or(bad("reg"))?;
            let mpidr = read_cells(reg.value, address_cells).ok_or(bad("reg"))?;
            let enable_method = match node.property("enable-method").and_then(|p| p.as_str()) {
                Some("psci") => Some(EnableMethod::Psci),
                Some("spin-table") => {
                    let addr = node
                        .property("cpu-release-addr")
                        .ok_or(bad("cpu-release-addr"))?;
                    let release_addr = addr.as_usize().ok_or(bad("cpu-release-addr"))? as u64;
                    Some(EnableMethod::SpinTable { release_addr })
                }
                Some(_) => return Err(bad("enable-method")),
                None => None,
            };
            cpus.push(CpuNode {
                mpidr: mpidr & MPIDR_AFFINITY_MASK,
                enable_method,
            })
            .map_err(|_| DtError::TooManyCpus)?;
        }
        Ok(cpus)
    }

    fn parse_psci(fdt: &Fdt<'a>) -> Result<Option<PsciConduit>, DtError<'a>> {
        let Some(node) = fdt.find_compatible(PSCI_COMPATIBLE) else {
            return Ok(None);
        };
        match node.property("method").and_then(|p| p.as_str()) {
            Some("smc") => Ok(Some(PsciConduit::Smc)),
            Some("hvc") => Ok(Some(PsciConduit::Hvc)),
            _ => Err(DtError::BadProperty {
                node: node.name,
                property: "method",
            }),
        }
    }

    /// Index in [`Self::cpus`] of the CPU with MPIDR affinity `mpidr`.
    pub fn cpu_index(&self, mpidr: u64) -> Option<usize> {
        let mpidr = mpidr & MPIDR_AFFINITY_MASK;
        self.cpus.iter().position(|cpu| cpu.mpidr == mpidr)
    }

    /// Value of a `cordon.<name>=<value>` option in the bootargs.
    pub fn option(&self, name: &str) -> Option<&'a str> {
        crate::cmdline::option(self.bootargs, name)
    }
}

#[cfg(test)]
pub(crate) mod tests;
