//! Reading the board's device tree: nodes by exact path, every node with
//! its path, and `reg` values.

use alloc::string::String;
use alloc::vec::Vec;

use fdt::Fdt;
use fdt::node::FdtNode;

use crate::region::Region;

const CELL_SIZE: usize = size_of::<u32>();

/// The node at `path`, every component matched exactly (unit addresses
/// included): unlike [`Fdt::find_node`], no alias and no `name` for
/// `name@unit`.
pub fn find_exact<'b, 'a>(fdt: &'b Fdt<'a>, path: &str) -> Option<FdtNode<'b, 'a>> {
    let mut node = fdt.find_node("/")?;
    for part in path.split('/').filter(|part| !part.is_empty()) {
        node = node.children().find(|child| child.name == part)?;
    }
    Some(node)
}

/// The path of the outermost node on the way from the root to `path` (that
/// node included) with `dma-ranges`: the bus whose masters' addresses
/// differ from the CPU's, or may. `None` if there is none.
pub fn dma_bus(fdt: &Fdt, path: &str) -> Option<String> {
    let mut node = fdt.find_node("/")?;
    let mut at = String::new();
    for part in path.split('/').filter(|part| !part.is_empty()) {
        node = node.children().find(|child| child.name == part)?;
        at.push('/');
        at.push_str(part);
        if node.property("dma-ranges").is_some() {
            return Some(at);
        }
    }
    None
}

/// Calls `visit` with every node below `node` and its full path; `path`
/// is `node`'s.
pub fn walk<'b, 'a>(
    node: FdtNode<'b, 'a>,
    path: &mut String,
    visit: &mut impl FnMut(&str, FdtNode<'b, 'a>),
) {
    for child in node.children() {
        let parent_len = path.len();
        if !path.ends_with('/') {
            path.push('/');
        }
        path.push_str(child.name);
        visit(path, child);
        walk(child, path, visit);
        path.truncate(parent_len);
    }
}

/// Whether `path` is `ancestor` or lies below it.
pub fn is_within(path: &str, ancestor: &str) -> bool {
    path.strip_prefix(ancestor)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The regions in `node`'s `reg` (empty ones left out); `None` if the
/// `reg` cannot be read as 1- or 2-cell addresses and sizes.
pub fn reg_regions(node: FdtNode) -> Option<Vec<Region>> {
    let mut regions = Vec::new();
    for entry in node.raw_reg()? {
        let base = read_cells(entry.address)?;
        let size = read_cells(entry.size)?;
        if size != 0 {
            regions.push(Region::new(base, size)?);
        }
    }
    Some(regions)
}

/// Whether `node` has a `reg` with at least one non-zero size: registers
/// that can be mapped.
pub fn has_registers(node: FdtNode) -> bool {
    node.raw_reg()
        .is_some_and(|mut entries| entries.any(|entry| entry.size.iter().any(|&byte| byte != 0)))
}

/// A big-endian number of one or two cells.
fn read_cells(bytes: &[u8]) -> Option<u64> {
    match bytes.len() / CELL_SIZE {
        1 => Some(u32::from_be_bytes(bytes.try_into().ok()?).into()),
        2 => Some(u64::from_be_bytes(bytes.try_into().ok()?)),
        _ => None,
    }
}

/// A `u32` property of `node`.
pub fn u32_property(node: FdtNode, name: &str) -> Option<u32> {
    let value = node.property(name)?.value;
    Some(u32::from_be_bytes(value.try_into().ok()?))
}

/// Whether `node`'s `compatible` has a string for which `matches` holds.
pub fn is_compatible(node: FdtNode, matches: impl Fn(&str) -> bool) -> bool {
    node.compatible()
        .is_some_and(|compatible| compatible.all().any(matches))
}
