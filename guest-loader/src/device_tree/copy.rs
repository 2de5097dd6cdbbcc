//! Boot-tree nodes copied into the guest tree.

use alloc::vec::Vec;

use fdt::node::FdtNode;

use super::GuestDtError;
use super::boot::{BootIndex, BootNode, parent_of};
use super::cells::adapt_top_level;
use super::tree::{Node, Origin, Property};

/// What a bus above a passed-through device keeps: how its children's
/// addresses and DMA map to its parent's, and its children's interrupt
/// parent.
const BUS_PROPERTIES: &[&str] = &[
    "compatible",
    "#address-cells",
    "#size-cells",
    "ranges",
    "dma-ranges",
    "dma-coherent",
    "interrupt-parent",
];

/// `boot` with all its properties and subnodes.
pub(super) fn subtree(index: &BootIndex, boot: &BootNode) -> Result<Node, GuestDtError> {
    let mut node = whole(boot.node);
    if parent_of(&boot.path) == "/" {
        node.properties = adapted(index, boot, node.properties)?;
    }
    Ok(node)
}

/// `boot` as a bus: only [`BUS_PROPERTIES`], no subnodes.
pub(super) fn bus(index: &BootIndex, boot: &BootNode) -> Result<Node, GuestDtError> {
    let properties = boot
        .node
        .properties()
        .filter(|p| BUS_PROPERTIES.contains(&p.name))
        .map(|p| Property {
            name: p.name.into(),
            value: p.value.to_vec(),
        })
        .collect();
    let mut node = Node::new(boot.node.name, Origin::Bus);
    node.properties = if parent_of(&boot.path) == "/" {
        adapted(index, boot, properties)?
    } else {
        properties
    };
    Ok(node)
}

fn whole(boot: FdtNode) -> Node {
    let mut node = Node::new(boot.name, Origin::PassedThrough);
    node.properties = boot
        .properties()
        .map(|p| Property {
            name: p.name.into(),
            value: p.value.to_vec(),
        })
        .collect();
    node.children = boot.children().map(whole).collect();
    node
}

/// `properties` of the top-level node `boot`, re-encoded for the guest
/// root's cell sizes.
fn adapted(
    index: &BootIndex,
    boot: &BootNode,
    properties: Vec<Property>,
) -> Result<Vec<Property>, GuestDtError> {
    let root = index.root().node.cell_sizes();
    let own = boot.node.cell_sizes();
    properties
        .into_iter()
        .map(|p| {
            let value = adapt_top_level(&boot.path, &p.name, &p.value, root, own)?;
            Ok(Property {
                name: p.name,
                value,
            })
        })
        .collect()
}
