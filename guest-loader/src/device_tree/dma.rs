//! DMA as a VM's devices see it: every bus's `dma-ranges` recomposed with
//! the VM's stage-2 map.
//!
//! On the host, the outermost `dma-ranges` above a device says which bus
//! address reaches which CPU-physical address (RPi4 `/soc`: bus 0xc000_0000
//! is CPU 0, and only the first GiB is in reach). A guest reads the same
//! property to turn its guest-physical buffer addresses into bus addresses,
//! so for a VM whose guest-physical RAM is not at its physical address the
//! boot tree's value is wrong. cordon rewrites it: for each part of the
//! VM's RAM inside one of the bus's windows, one entry from the bus address
//! of that RAM to its guest-physical address. Nested `dma-ranges` (a PCIe
//! root complex under a bus) translate between bus spaces only and are
//! kept as they are.
//!
//! Without an IOMMU a master reaches all memory its windows cover, the VM's
//! or not; a VM trusted with DMA must have all of its RAM in reach, or its
//! tree is refused.

use alloc::string::String;
use alloc::vec::Vec;

use fdt::Fdt;

use super::GuestDtError;
use super::boot::{BootIndex, CELL_SIZE, parent_of, to_cells, u32_property};
use super::tree::Node;

/// The DMA-translation property of a bus.
const DMA_RANGES: &str = "dma-ranges";
/// Cell counts a node without `#address-cells`/`#size-cells` has.
const DEFAULT_ADDRESS_CELLS: usize = 2;
const DEFAULT_SIZE_CELLS: usize = 1;
/// The widest address or size value cordon computes with, in cells; wider
/// child addresses (PCI's three cells) keep their upper cells as they are.
const VALUE_CELLS: usize = 2;

/// One range of a VM's RAM: where the guest sees it and where it really is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RamMapping {
    pub ipa: u64,
    pub pa: u64,
    pub size: u64,
}

/// What the VM's buses say about DMA.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BusDma<'a> {
    /// `dma-ranges` recomposed with the VM's RAM, mapped as `ram` says.
    /// A VM that is `trusted` owns DMA masters: each bus's windows must
    /// cover all of its RAM.
    Composed {
        ram: &'a [RamMapping],
        trusted: bool,
    },
    /// The boot tree's `dma-ranges`, unchanged: right only for a VM mapped
    /// 1:1, kept so that tests can show the rewrite is what makes DMA work.
    AsOnHost,
}

/// One window of a `dma-ranges` property: `size` bytes from bus address
/// `bus` reach CPU (or parent-bus) address `cpu`.
#[derive(Clone, PartialEq, Eq, Debug)]
struct Window {
    /// Cells of the child address above the low [`VALUE_CELLS`] (PCI's
    /// space code), kept as they are.
    bus_high: Vec<u32>,
    bus: u64,
    cpu: u64,
    size: u64,
}

/// Cell counts of one `dma-ranges` entry.
#[derive(Clone, Copy)]
struct Shape {
    child: usize,
    parent: usize,
    size: usize,
}

/// Rewrites the outermost `dma-ranges` of every bus below `root` (the
/// guest tree, whose top-level nodes already use its root's cell sizes).
pub(super) fn rewrite(root: &mut Node, dma: BusDma) -> Result<(), GuestDtError> {
    let BusDma::Composed { ram, trusted } = dma else {
        return Ok(());
    };
    let root_cells = address_cells(root);
    for child in &mut root.children {
        rewrite_below(
            child,
            &alloc::format!("/{}", child.name),
            root_cells,
            ram,
            trusted,
        )?;
    }
    Ok(())
}

fn rewrite_below(
    node: &mut Node,
    path: &str,
    parent_cells: usize,
    ram: &[RamMapping],
    trusted: bool,
) -> Result<(), GuestDtError> {
    if let Some(value) = node.property(DMA_RANGES) {
        let shape = Shape {
            child: address_cells(node),
            parent: parent_cells,
            size: size_cells(node),
        };
        let windows = parse(path, value, shape)?;
        let composed = compose(path, &windows, ram, trusted)?;
        let property = node.properties.iter_mut().find(|p| p.name == DMA_RANGES);
        match (property, composed.is_empty()) {
            (Some(property), false) => property.value = encode(path, &composed, shape)?,
            // None of the VM's RAM is in reach, and the VM owns no master
            // that could use the bus: say nothing about DMA rather than
            // something false.
            _ => node.properties.retain(|p| p.name != DMA_RANGES),
        }
        // Below here, addresses are the bus's own: nested dma-ranges stay.
        return Ok(());
    }
    let own_cells = address_cells(node);
    for child in &mut node.children {
        let child_path = alloc::format!("{path}/{}", child.name);
        rewrite_below(child, &child_path, own_cells, ram, trusted)?;
    }
    Ok(())
}

/// Of the VM's `ram`, what each window reaches, as windows from bus to
/// guest-physical addresses. A `trusted` VM's RAM must all be in reach.
fn compose(
    bus: &str,
    windows: &[Window],
    ram: &[RamMapping],
    trusted: bool,
) -> Result<Vec<Window>, GuestDtError> {
    let mut composed = Vec::new();
    for range in ram {
        let mut reached: Vec<(u64, u64)> = Vec::new();
        for window in windows {
            let start = range.pa.max(window.cpu);
            let end = end_of(range.pa, range.size).min(end_of(window.cpu, window.size));
            if start >= end {
                continue;
            }
            reached.push((start, end));
            composed.push(Window {
                bus_high: window.bus_high.clone(),
                bus: window.bus + (start - window.cpu),
                cpu: range.ipa + (start - range.pa),
                size: end - start,
            });
        }
        if trusted && let Some(pa) = first_unreached(range, &mut reached) {
            return Err(GuestDtError::RamOutOfDmaReach {
                bus: bus.into(),
                pa,
                reach: windows.iter().map(|w| (w.cpu, w.size)).collect(),
            });
        }
    }
    Ok(composed)
}

/// The first physical address of `range` that no `(start, end)` of
/// `reached` covers.
fn first_unreached(range: &RamMapping, reached: &mut [(u64, u64)]) -> Option<u64> {
    reached.sort_unstable();
    let mut covered_to = range.pa;
    for &(start, end) in reached.iter() {
        if start > covered_to {
            break;
        }
        covered_to = covered_to.max(end);
    }
    (covered_to < end_of(range.pa, range.size)).then_some(covered_to)
}

/// `base + size`, saturating: a window reaching the end of the address
/// space ends there.
fn end_of(base: u64, size: u64) -> u64 {
    base.saturating_add(size)
}

/// The physical address below which every master of `devices` (full boot
/// paths) reaches all RAM: for each device, the outermost `dma-ranges`
/// above it (or its own), from its lowest window on while windows are
/// contiguous; the lowest such limit of all. `None` if no device has DMA
/// translation above it.
pub fn dma_limit(boot: &Fdt, devices: &[&str]) -> Result<Option<u64>, GuestDtError> {
    let index = BootIndex::new(boot)?;
    let mut limit: Option<u64> = None;
    for &device in devices {
        if index.find(device).is_none() {
            return Err(GuestDtError::UnknownDevice {
                path: device.into(),
            });
        }
        let Some((bus, windows)) = outermost_windows(&index, device)? else {
            continue;
        };
        let mut cpu: Vec<(u64, u64)> = windows
            .iter()
            .map(|w| (w.cpu, end_of(w.cpu, w.size)))
            .collect();
        cpu.sort_unstable();
        let Some(&(_, mut reach)) = cpu.first() else {
            return Err(GuestDtError::NoDmaWindow { bus });
        };
        for &(start, end) in &cpu[1..] {
            if start > reach {
                break;
            }
            reach = reach.max(end);
        }
        limit = Some(limit.map_or(reach, |limit| limit.min(reach)));
    }
    Ok(limit)
}

/// The bus address at which the masters of `device` (a full boot path)
/// reach CPU-physical address `cpu`, through the outermost `dma-ranges`
/// above it; `None` if no window reaches it. For a device without DMA
/// translation above it the two are the same.
pub fn bus_address(boot: &Fdt, device: &str, cpu: u64) -> Result<Option<u64>, GuestDtError> {
    let index = BootIndex::new(boot)?;
    if index.find(device).is_none() {
        return Err(GuestDtError::UnknownDevice {
            path: device.into(),
        });
    }
    let Some((_, windows)) = outermost_windows(&index, device)? else {
        return Ok(Some(cpu));
    };
    Ok(windows
        .iter()
        .find(|w| cpu >= w.cpu && cpu - w.cpu < w.size)
        .map(|w| w.bus + (cpu - w.cpu)))
}

/// The path and windows of the outermost `dma-ranges` on the way from the
/// root to `device` (the device included); an empty one (identity) is one
/// window over the whole address space.
fn outermost_windows(
    index: &BootIndex,
    device: &str,
) -> Result<Option<(String, Vec<Window>)>, GuestDtError> {
    let mut at = String::new();
    for name in device.split('/').filter(|name| !name.is_empty()) {
        at.push('/');
        at.push_str(name);
        let Some(node) = index.find(&at) else {
            return Err(GuestDtError::UnknownDevice { path: at });
        };
        let Some(property) = node.node.property(DMA_RANGES) else {
            continue;
        };
        let parent = index
            .find(parent_of(&at))
            .ok_or_else(|| GuestDtError::UnknownDevice {
                path: parent_of(&at).into(),
            })?;
        let shape = Shape {
            child: cells_or(node.node, "#address-cells", DEFAULT_ADDRESS_CELLS),
            parent: cells_or(parent.node, "#address-cells", DEFAULT_ADDRESS_CELLS),
            size: cells_or(node.node, "#size-cells", DEFAULT_SIZE_CELLS),
        };
        return Ok(Some((at.clone(), parse(&at, property.value, shape)?)));
    }
    Ok(None)
}

fn cells_or(node: fdt::node::FdtNode, name: &str, default: usize) -> usize {
    u32_property(node, name).map_or(default, |cells| cells as usize)
}

fn address_cells(node: &Node) -> usize {
    node_cells(node, "#address-cells", DEFAULT_ADDRESS_CELLS)
}

fn size_cells(node: &Node) -> usize {
    node_cells(node, "#size-cells", DEFAULT_SIZE_CELLS)
}

fn node_cells(node: &Node, name: &str, default: usize) -> usize {
    node.property(name)
        .and_then(|value| value.try_into().ok())
        .map_or(default, |cell: [u8; CELL_SIZE]| {
            u32::from_be_bytes(cell) as usize
        })
}

/// The windows of the `dma-ranges` value of `bus`; empty means identity,
/// one window over the whole address space.
fn parse(bus: &str, value: &[u8], shape: Shape) -> Result<Vec<Window>, GuestDtError> {
    let malformed = || GuestDtError::MalformedProperty {
        node: bus.into(),
        property: DMA_RANGES.into(),
    };
    if value.is_empty() {
        return Ok(alloc::vec![Window {
            bus_high: alloc::vec![0; shape.child.saturating_sub(VALUE_CELLS)],
            bus: 0,
            cpu: 0,
            size: u64::MAX,
        }]);
    }
    let cells = to_cells(value).ok_or_else(malformed)?;
    let stride = shape.child + shape.parent + shape.size;
    let too_wide = shape.parent > VALUE_CELLS || shape.size > VALUE_CELLS;
    if stride == 0 || too_wide || !cells.len().is_multiple_of(stride) {
        return Err(malformed());
    }
    Ok(cells
        .chunks_exact(stride)
        .map(|entry| {
            let (child, rest) = entry.split_at(shape.child);
            let (parent, size) = rest.split_at(shape.parent);
            let split = child.len().saturating_sub(VALUE_CELLS);
            Window {
                bus_high: child[..split].to_vec(),
                bus: number(&child[split..]),
                cpu: number(parent),
                size: number(size),
            }
        })
        .collect())
}

/// Big-endian cells (at most two) as one number.
fn number(cells: &[u32]) -> u64 {
    cells
        .iter()
        .fold(0, |value, &cell| (value << 32) | u64::from(cell))
}

fn encode(bus: &str, windows: &[Window], shape: Shape) -> Result<Vec<u8>, GuestDtError> {
    let mut out = Vec::new();
    for window in windows {
        let child_low = shape.child.min(VALUE_CELLS);
        out.extend(window.bus_high.iter().flat_map(|cell| cell.to_be_bytes()));
        for (value, cells) in [
            (window.bus, child_low),
            (window.cpu, shape.parent),
            (window.size, shape.size),
        ] {
            let bytes = to_width(value, cells).ok_or_else(|| GuestDtError::DmaWindowTooWide {
                bus: bus.into(),
                value,
                cells,
            })?;
            out.extend(bytes);
        }
    }
    Ok(out)
}

/// `value` as `cells` big-endian cells, if it fits.
fn to_width(value: u64, cells: usize) -> Option<Vec<u8>> {
    let bytes = value.to_be_bytes();
    let keep = cells * CELL_SIZE;
    let (high, low) = bytes.split_at(bytes.len().checked_sub(keep)?);
    high.iter().all(|&b| b == 0).then(|| low.to_vec())
}

#[cfg(test)]
mod tests;
