//! Why a VM's device tree could not be built.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::MAX_VCPUS;

/// What is wrong with the VM description or the boot device tree. Node
/// paths are those of the boot device tree.
#[derive(Debug, PartialEq, Eq)]
pub enum GuestDtError {
    /// The boot device tree has no root node.
    NoRootNode,
    /// Zero vCPUs, or more than a GICv2 can address.
    VcpuCount { vcpus: usize },
    /// The VM has no RAM.
    NoMemory,
    /// A RAM range is empty or runs past the end of the address space.
    BadMemory { ipa: u64, size: u64 },
    /// Two RAM ranges overlap.
    OverlappingMemory { first: u64, second: u64 },
    /// The initrd ends before it starts, or is not empty and lies outside
    /// the VM's RAM.
    BadInitrd { start: u64, end: u64 },
    /// No GICv2 (`arm,gic-400`, `arm,cortex-a15-gic`, ...) in the boot tree.
    NoGic,
    /// The GIC has no phandle, so the guest's interrupts can't name it.
    GicWithoutPhandle { path: String },
    /// No `arm,armv8-timer` node in the boot tree.
    NoTimer,
    /// The boot tree's `/cpus` has no cpu node with a `compatible`.
    NoCpuCompatible,
    /// A property has a length or value that can't be used.
    MalformedProperty { node: String, property: String },
    /// An address or size of a top-level node does not fit the guest root's
    /// 2 address and 2 size cells.
    UnsupportedCells { node: String, property: String },
    /// No node at this path in the boot tree (paths must be full, with unit
    /// addresses).
    UnknownDevice { path: String },
    /// The device is, or contains, something cordon gives the VM itself.
    ProvidedByCordon { device: String, provided: String },
    /// A clock the device needs comes from a node with registers that was
    /// not passed through.
    ClockProviderNotAssigned { consumer: String, provider: String },
    /// The device keeps a clock whose rate the board's firmware did not
    /// report.
    KeptClockRateUnknown {
        consumer: String,
        clock: &'static str,
    },
    /// A copied node refers to a node that the VM does not get.
    DanglingPhandle {
        node: String,
        property: String,
        phandle: u32,
        target: String,
    },
    /// A copied node refers to a phandle that no boot node has.
    UnknownPhandle {
        node: String,
        property: String,
        phandle: u32,
    },
    /// The node a phandle refers to lacks the `#...-cells` that says how
    /// many arguments follow the phandle.
    MissingCells {
        node: String,
        property: String,
        provider: String,
        cells: &'static str,
    },
    /// A copied node has a property with phandles cordon can't follow yet
    /// (`interrupt-map`, `msi-map`, `iommu-map`).
    UnsupportedProperty { node: String, property: String },
    /// A passed-through node would land on a node cordon already made.
    NodeConflict { path: String },
    /// `stdout-path` names no node the VM gets.
    StdoutNotPassedThrough { path: String },
    /// Part of the RAM of a VM trusted with DMA is beyond the reach of a
    /// bus's DMA masters.
    RamOutOfDmaReach {
        bus: String,
        /// The first physical address out of reach.
        pa: u64,
        /// CPU-physical windows the masters reach: `(start, size)`.
        reach: Vec<(u64, u64)>,
    },
    /// A bus's `dma-ranges` has no window at all.
    NoDmaWindow { bus: String },
    /// A recomposed `dma-ranges` address or size does not fit the bus's cells.
    DmaWindowTooWide {
        bus: String,
        value: u64,
        cells: usize,
    },
    /// The device tree writer refused the tree.
    Write(vm_fdt::Error),
}

impl fmt::Display for GuestDtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoRootNode => write!(f, "the boot device tree has no root node"),
            Self::VcpuCount { vcpus } => {
                write!(f, "{vcpus} vCPUs: a VM has 1 to {MAX_VCPUS} vCPUs")
            }
            Self::NoMemory => write!(f, "the VM has no memory"),
            Self::BadMemory { ipa, size } => write!(
                f,
                "memory at {ipa:#x} of {size:#x} bytes is empty or wraps the address space"
            ),
            Self::OverlappingMemory { first, second } => {
                write!(f, "memory at {first:#x} overlaps memory at {second:#x}")
            }
            Self::BadInitrd { start, end } => write!(
                f,
                "initrd {start:#x}-{end:#x} is reversed or not inside the VM's memory"
            ),
            Self::NoGic => write!(f, "no GICv2 interrupt controller in the boot device tree"),
            Self::GicWithoutPhandle { path } => {
                write!(f, "interrupt controller {path} has no phandle")
            }
            Self::NoTimer => write!(
                f,
                "no architected timer (arm,armv8-timer) in the boot device tree"
            ),
            Self::NoCpuCompatible => {
                write!(
                    f,
                    "no cpu node with a compatible under /cpus of the boot device tree"
                )
            }
            Self::MalformedProperty { node, property } => {
                write!(f, "{node}: malformed property {property}")
            }
            Self::UnsupportedCells { node, property } => write!(
                f,
                "{node}: {property} does not fit the VM's 2 address and 2 size cells"
            ),
            Self::UnknownDevice { path } => write!(
                f,
                "no node {path} in the boot device tree (give full paths with unit addresses)"
            ),
            Self::ProvidedByCordon { device, provided } => write!(
                f,
                "{device} cannot be passed through: it is or contains {provided}, which cordon provides to the VM itself"
            ),
            Self::ClockProviderNotAssigned { consumer, provider } => write!(
                f,
                "{consumer} needs clocks from {provider}, which has registers and is not passed through to the VM"
            ),
            Self::KeptClockRateUnknown { consumer, clock } => write!(
                f,
                "{consumer} runs on the firmware's {clock} clock, whose rate the firmware did not report at boot"
            ),
            Self::DanglingPhandle {
                node,
                property,
                phandle,
                target,
            } => write!(
                f,
                "{node}: {property} refers to {target} (phandle {phandle:#x}), which is not passed through to the VM"
            ),
            Self::UnknownPhandle {
                node,
                property,
                phandle,
            } => write!(
                f,
                "{node}: {property} refers to phandle {phandle:#x}, which no node of the boot device tree has"
            ),
            Self::MissingCells {
                node,
                property,
                provider,
                cells,
            } => write!(
                f,
                "{node}: {property} refers to {provider}, which has no {cells}"
            ),
            Self::UnsupportedProperty { node, property } => write!(
                f,
                "{node}: {property} is not supported in passed-through nodes yet"
            ),
            Self::NodeConflict { path } => write!(
                f,
                "{path} would replace a node cordon makes for the VM itself"
            ),
            Self::StdoutNotPassedThrough { path } => write!(
                f,
                "stdout-path {path} is not a device passed through to the VM"
            ),
            Self::RamOutOfDmaReach { bus, pa, reach } => {
                write!(
                    f,
                    "{bus}: the VM's RAM at physical {pa:#x} is beyond the reach of the bus's DMA masters, which reach"
                )?;
                for (start, size) in reach {
                    write!(f, " {start:#x}-{:#x}", start.saturating_add(*size))?;
                }
                write!(f, " (place the VM's memory lower, e.g. memory.below)")
            }
            Self::NoDmaWindow { bus } => write!(f, "{bus}: dma-ranges has no window"),
            Self::DmaWindowTooWide { bus, value, cells } => write!(
                f,
                "{bus}: dma-ranges value {value:#x} does not fit {cells} cells"
            ),
            Self::Write(err) => write!(f, "writing the device tree: {err}"),
        }
    }
}
