//! The boot device tree, indexed by full path.
//!
//! The `fdt` crate hands out nodes without their paths or parents. cordon
//! needs both (to recreate the buses above a device and to name nodes in
//! errors), so the tree is walked once and every node recorded with its path.

use alloc::{format, string::String, vec::Vec};

use fdt::Fdt;
use fdt::node::FdtNode;

use super::GuestDtError;

/// Bytes in one device-tree cell.
pub(super) const CELL_SIZE: usize = 4;

pub(super) struct BootNode<'b, 'a> {
    pub path: String,
    pub node: FdtNode<'b, 'a>,
}

pub(super) struct BootIndex<'b, 'a> {
    /// Depth-first, parents before their children; the root first.
    nodes: Vec<BootNode<'b, 'a>>,
}

impl<'b, 'a> BootIndex<'b, 'a> {
    pub fn new(fdt: &'b Fdt<'a>) -> Result<Self, GuestDtError> {
        let root = fdt.find_node("/").ok_or(GuestDtError::NoRootNode)?;
        let mut nodes = Vec::new();
        record(&mut nodes, String::from("/"), root);
        Ok(Self { nodes })
    }

    pub fn root(&self) -> &BootNode<'b, 'a> {
        &self.nodes[0]
    }

    pub fn iter(&self) -> impl Iterator<Item = &BootNode<'b, 'a>> {
        self.nodes.iter()
    }

    /// The node at exactly `path` (unit addresses included).
    pub fn find(&self, path: &str) -> Option<&BootNode<'b, 'a>> {
        self.nodes.iter().find(|node| node.path == path)
    }

    pub fn by_phandle(&self, phandle: u32) -> Option<&BootNode<'b, 'a>> {
        self.nodes
            .iter()
            .find(|node| self::phandle(node.node) == Some(phandle))
    }

    /// The first node compatible with any of `compatibles`.
    pub fn first_compatible(&self, compatibles: &[&str]) -> Option<&BootNode<'b, 'a>> {
        self.nodes
            .iter()
            .find(|node| is_compatible(node.node, compatibles))
    }

    /// The node at `path` and everything below it.
    pub fn subtree<'s>(&'s self, path: &'s str) -> impl Iterator<Item = &'s BootNode<'b, 'a>> {
        self.nodes
            .iter()
            .filter(move |node| covers(path, &node.path))
    }
}

fn record<'b, 'a>(nodes: &mut Vec<BootNode<'b, 'a>>, path: String, node: FdtNode<'b, 'a>) {
    let prefix = if path == "/" { "" } else { path.as_str() };
    let children: Vec<_> = node
        .children()
        .map(|child| (format!("{prefix}/{}", child.name), child))
        .collect();
    nodes.push(BootNode { path, node });
    for (path, child) in children {
        record(nodes, path, child);
    }
}

pub(super) fn is_compatible(node: FdtNode, compatibles: &[&str]) -> bool {
    node.compatible()
        .is_some_and(|compatible| compatible.all().any(|c| compatibles.contains(&c)))
}

/// A single-cell property such as `phandle` or `#clock-cells`.
pub(super) fn u32_property(node: FdtNode, name: &str) -> Option<u32> {
    let bytes = node.property(name)?.value;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

/// `bytes` as big-endian cells; `None` if it is not a whole number of them.
pub(super) fn to_cells(bytes: &[u8]) -> Option<Vec<u32>> {
    let (cells, rest) = bytes.as_chunks::<CELL_SIZE>();
    rest.is_empty()
        .then(|| cells.iter().map(|&cell| u32::from_be_bytes(cell)).collect())
}

/// The node's phandle (older trees also carry it as `linux,phandle`).
pub(super) fn phandle(node: FdtNode) -> Option<u32> {
    u32_property(node, "phandle").or_else(|| u32_property(node, "linux,phandle"))
}

/// Whether `path` is `ancestor` or lies below it.
pub(super) fn covers(ancestor: &str, path: &str) -> bool {
    ancestor == "/"
        || path
            .strip_prefix(ancestor)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The path of a node's parent ("/" for top-level nodes and the root).
pub(super) fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(at) => &path[..at],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert!(covers("/soc", "/soc"));
        assert!(covers("/soc", "/soc/serial@7e215040"));
        assert!(!covers("/soc", "/socket"));
        assert!(!covers("/soc/a", "/soc"));
        assert!(covers("/", "/anything"));
        assert_eq!(parent_of("/soc/serial@7e215040"), "/soc");
        assert_eq!(parent_of("/soc"), "/");
        assert_eq!(parent_of("/"), "/");
    }

    #[test]
    fn cells() {
        assert_eq!(
            to_cells(&[0, 0, 0, 1, 0xff, 0, 0, 0]),
            Some(vec![1, 0xff00_0000])
        );
        assert_eq!(to_cells(&[]), Some(vec![]));
        assert_eq!(to_cells(&[0, 0, 1]), None);
    }
}
