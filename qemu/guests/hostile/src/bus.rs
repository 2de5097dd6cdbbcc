//! Addresses on the buses of the guest's device tree: a device's `reg` is a
//! bus address that its bus's `ranges` turn into a guest-physical one, and
//! the bus's `dma-ranges` say which bus address its DMA masters use for a
//! guest-physical one.

use fdt::Fdt;
use fdt::node::FdtNode;

use crate::span::Span;

/// Most windows of a `ranges` or `dma-ranges` the guest reads.
pub const MAX_WINDOWS: usize = 4;
const CELL_BYTES: usize = 4;
/// Cells of an address or size wider than this are not read.
const MAX_VALUE_CELLS: usize = 2;
/// `#address-cells`/`#size-cells` when a node has none.
const DEFAULT_ADDRESS_CELLS: usize = 2;
const DEFAULT_SIZE_CELLS: usize = 1;

/// `size` bytes at bus address `bus` are guest-physical `cpu` onwards.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Window {
    pub bus: u64,
    pub cpu: u64,
    pub size: u64,
}

/// The windows of a `ranges` or `dma-ranges`; an empty property is one
/// window over everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct Windows {
    windows: [Window; MAX_WINDOWS],
    len: usize,
}

impl Windows {
    fn identity() -> Self {
        let mut windows = Self::default();
        windows.windows[0] = Window {
            bus: 0,
            cpu: 0,
            size: u64::MAX,
        };
        windows.len = 1;
        windows
    }

    pub fn iter(&self) -> impl Iterator<Item = &Window> {
        self.windows[..self.len].iter()
    }

    /// The guest-physical address of bus address `bus`.
    pub fn cpu_address_of(&self, bus: u64) -> Option<u64> {
        self.iter()
            .find(|w| bus.wrapping_sub(w.bus) < w.size)
            .map(|w| w.cpu + (bus - w.bus))
    }

    /// The bus address of the guest-physical span `span`, if one window
    /// holds all of it.
    pub fn bus_address_of(&self, span: Span) -> Option<u64> {
        self.iter()
            .find(|w| span.start >= w.cpu && span.end - w.cpu <= w.size)
            .map(|w| w.bus + (span.start - w.cpu))
    }
}

/// A node with its bus (`None` for a node at the root).
pub struct OnBus<'b, 'a> {
    pub node: FdtNode<'b, 'a>,
    pub bus: Option<FdtNode<'b, 'a>>,
}

/// The first node at the root or one level below compatible with any of
/// `compatibles` (the guest's tree has devices at those depths only).
pub fn find_compatible<'b, 'a>(fdt: &'b Fdt<'a>, compatibles: &[&str]) -> Option<OnBus<'b, 'a>> {
    let is = |node: &FdtNode| {
        node.compatible()
            .is_some_and(|c| c.all().any(|c| compatibles.contains(&c)))
    };
    let root = fdt.find_node("/")?;
    root.children().find_map(|child| {
        if is(&child) {
            return Some(OnBus {
                node: child,
                bus: None,
            });
        }
        child.children().find(is).map(|node| OnBus {
            node,
            bus: Some(child),
        })
    })
}

/// The node at `path` with its bus.
pub fn find_path<'b, 'a>(fdt: &'b Fdt<'a>, path: &str) -> Option<OnBus<'b, 'a>> {
    let node = fdt.find_node(path)?;
    let parent = match path.rfind('/') {
        Some(0) | None => None,
        Some(at) => Some(fdt.find_node(&path[..at])?),
    };
    Some(OnBus { node, bus: parent })
}

impl OnBus<'_, '_> {
    /// The node's first register range, guest-physical.
    pub fn first_reg(&self) -> Option<Span> {
        let reg = self.node.reg()?.next()?;
        let size = reg.size.unwrap_or(0) as u64;
        let bus = reg.starting_address as u64;
        let cpu = match self.bus {
            Some(bus_node) => windows(bus_node, "ranges")?.cpu_address_of(bus)?,
            None => bus,
        };
        Span::from_base_size(cpu, size)
    }

    /// The bus's `dma-ranges`; `None` if it has none.
    pub fn dma_windows(&self) -> Option<Windows> {
        windows(self.bus?, "dma-ranges")
    }
}

/// The windows of `bus`'s `property` (`ranges` or `dma-ranges`), whose
/// parent is the root (two address cells).
fn windows(bus: FdtNode, property: &str) -> Option<Windows> {
    let value = bus.property(property)?.value;
    if value.is_empty() {
        return Some(Windows::identity());
    }
    let child = cells(bus, "#address-cells", DEFAULT_ADDRESS_CELLS);
    let size = cells(bus, "#size-cells", DEFAULT_SIZE_CELLS);
    let parent = DEFAULT_ADDRESS_CELLS;
    let stride = (child + parent + size) * CELL_BYTES;
    if stride == 0 || !value.len().is_multiple_of(stride) {
        return None;
    }
    let mut windows = Windows::default();
    for entry in value.chunks_exact(stride) {
        let (child_bytes, rest) = entry.split_at(child * CELL_BYTES);
        let (parent_bytes, size_bytes) = rest.split_at(parent * CELL_BYTES);
        let slot = windows.windows.get_mut(windows.len)?;
        *slot = Window {
            bus: number(child_bytes)?,
            cpu: number(parent_bytes)?,
            size: number(size_bytes)?,
        };
        windows.len += 1;
    }
    Some(windows)
}

fn cells(node: FdtNode, name: &str, default: usize) -> usize {
    node.property(name)
        .and_then(|p| p.as_usize())
        .unwrap_or(default)
}

/// Big-endian cells as one number; the low [`MAX_VALUE_CELLS`] only (a
/// PCI address's space code above them is ignored).
fn number(bytes: &[u8]) -> Option<u64> {
    let low = bytes.len().saturating_sub(MAX_VALUE_CELLS * CELL_BYTES);
    bytes[low..]
        .chunks_exact(CELL_BYTES)
        .try_fold(0u64, |value, cell| {
            Some((value << 32) | u64::from(u32::from_be_bytes(cell.try_into().ok()?)))
        })
}
