//! Turning a node's `reg` into a CPU physical address.
//!
//! A `reg` is in the address space of the node's parent bus. Each bus up to
//! the root maps its children's addresses to its own with `ranges` (RPi4's
//! `/soc` maps bus address 0x7e000000 to CPU address 0xfe000000).

use fdt::Fdt;

use super::{read_cells, reg_pairs};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AddressError<'a> {
    /// No node at that path or alias.
    NoSuchNode(&'a str),
    /// The node has no usable `reg`.
    NoReg(&'a str),
    /// A bus on the way to the root has no `ranges`: its children are not
    /// reachable from the CPU.
    NotMapped { bus: &'a str },
    /// The address lies outside every window of a bus's `ranges`.
    OutsideRanges { bus: &'a str, address: u64 },
    /// A `ranges` or `reg` the parser can't use (e.g. 3-cell PCI addresses).
    Malformed { node: &'a str },
}

impl core::fmt::Display for AddressError<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoSuchNode(path) => write!(f, "no device-tree node {path}"),
            Self::NoReg(path) => write!(f, "{path} has no usable reg"),
            Self::NotMapped { bus } => write!(f, "bus {bus} has no ranges"),
            Self::OutsideRanges { bus, address } => {
                write!(f, "address {address:#x} is outside the ranges of {bus}")
            }
            Self::Malformed { node } => write!(f, "{node}: malformed ranges or reg"),
        }
    }
}

/// Maps `address` from a bus's child address space through its `ranges`.
fn through_ranges<'p>(
    ranges: &[u8],
    child_cells: usize,
    parent_cells: usize,
    size_cells: usize,
    address: u64,
    bus: &'p str,
) -> Result<u64, AddressError<'p>> {
    if ranges.is_empty() {
        // An empty `ranges` is an identity mapping.
        return Ok(address);
    }
    let stride = (child_cells + parent_cells + size_cells) * 4;
    if !ranges.len().is_multiple_of(stride) {
        return Err(AddressError::Malformed { node: bus });
    }
    for window in ranges.chunks(stride) {
        let child = read_cells(window, child_cells);
        let parent = read_cells(&window[child_cells * 4..], parent_cells);
        let size = read_cells(&window[(child_cells + parent_cells) * 4..], size_cells);
        let (Some(child), Some(parent), Some(size)) = (child, parent, size) else {
            return Err(AddressError::Malformed { node: bus });
        };
        if address >= child && address - child < size {
            return Ok(parent + (address - child));
        }
    }
    Err(AddressError::OutsideRanges { bus, address })
}

/// Resolves `path_or_alias` and returns the node's full path.
pub fn resolve_path<'a>(
    fdt: &Fdt<'a>,
    path_or_alias: &'a str,
) -> Result<&'a str, AddressError<'a>> {
    if path_or_alias.starts_with('/') {
        return Ok(path_or_alias);
    }
    fdt.aliases()
        .and_then(|aliases| aliases.resolve(path_or_alias))
        .ok_or(AddressError::NoSuchNode(path_or_alias))
}

/// CPU physical address and size of the first `reg` entry of the node at
/// `path` (a full path), translated through every bus above it.
pub fn translate_to_cpu<'p>(fdt: &Fdt<'_>, path: &'p str) -> Result<(u64, u64), AddressError<'p>> {
    let node = fdt.find_node(path).ok_or(AddressError::NoSuchNode(path))?;
    let parent_path = parent_of(path);
    let parent = fdt
        .find_node(parent_path)
        .ok_or(AddressError::NoSuchNode(parent_path))?;
    let cells = parent.cell_sizes();
    let reg = node.property("reg").ok_or(AddressError::NoReg(path))?;
    let (mut address, size) = reg_pairs(reg.value, cells.address_cells, cells.size_cells)
        .next()
        .flatten()
        .ok_or(AddressError::NoReg(path))?;

    // Climb from the node's bus to the root, one `ranges` at a time.
    let mut bus_path = parent_path;
    while bus_path != "/" {
        let bus = fdt
            .find_node(bus_path)
            .ok_or(AddressError::NoSuchNode(bus_path))?;
        let above_path = parent_of(bus_path);
        let above = fdt
            .find_node(above_path)
            .ok_or(AddressError::NoSuchNode(above_path))?;
        let ranges = bus
            .property("ranges")
            .ok_or(AddressError::NotMapped { bus: bus_path })?;
        address = through_ranges(
            ranges.value,
            bus.cell_sizes().address_cells,
            above.cell_sizes().address_cells,
            bus.cell_sizes().size_cells,
            address,
            bus_path,
        )?;
        bus_path = above_path;
    }
    Ok((address, size))
}

/// The path of a node's parent ("/" for top-level nodes).
fn parent_of(path: &str) -> &str {
    match path.trim_end_matches('/').rfind('/') {
        Some(0) | None => "/",
        Some(at) => &path[..at],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_paths() {
        assert_eq!(parent_of("/soc/serial@7e201000"), "/soc");
        assert_eq!(parent_of("/soc"), "/");
        assert_eq!(parent_of("/a/b/c"), "/a/b");
    }

    #[test]
    fn ranges_windows() {
        // RPi4 /soc: <0x7e000000  0x0 0xfe000000  0x1800000>
        let ranges = [
            0x7e00_0000u32.to_be_bytes(),
            0u32.to_be_bytes(),
            0xfe00_0000u32.to_be_bytes(),
            0x0180_0000u32.to_be_bytes(),
        ]
        .concat();
        assert_eq!(
            through_ranges(&ranges, 1, 2, 1, 0x7e20_1000, "/soc"),
            Ok(0xfe20_1000)
        );
        assert_eq!(
            through_ranges(&ranges, 1, 2, 1, 0x1000, "/soc"),
            Err(AddressError::OutsideRanges {
                bus: "/soc",
                address: 0x1000
            })
        );
        assert_eq!(through_ranges(&[], 1, 2, 1, 0x1234, "/soc"), Ok(0x1234));
        assert_eq!(
            through_ranges(&ranges[..10], 1, 2, 1, 0x1234, "/soc"),
            Err(AddressError::Malformed { node: "/soc" })
        );
    }
}
