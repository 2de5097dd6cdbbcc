//! The guest device tree while it is being put together, and its
//! serialisation to a DTB.
//!
//! `vm_fdt` writes nodes strictly in order; the guest tree is assembled out
//! of order (a bus is created by its first device and joined by later ones),
//! so it is kept in memory until complete.

use alloc::string::String;
use alloc::vec::Vec;

use vm_fdt::FdtWriter;

/// Where a node of the guest tree comes from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Origin {
    /// Made or rewritten by cordon (root, CPUs, memory, GIC, timer, ...):
    /// nothing may be copied into or over it.
    Cordon,
    /// A bus above a passed-through device, reduced to what addresses need.
    Bus,
    /// Copied whole from the boot tree, subnodes included.
    PassedThrough,
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub(super) struct Property {
    pub name: String,
    pub value: Vec<u8>,
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub(super) struct Node {
    pub name: String,
    pub origin: Origin,
    pub properties: Vec<Property>,
    pub children: Vec<Node>,
}

impl Node {
    pub fn new(name: &str, origin: Origin) -> Self {
        Self {
            name: name.into(),
            origin,
            properties: Vec::new(),
            children: Vec::new(),
        }
    }

    pub fn with(mut self, name: &str, value: Vec<u8>) -> Self {
        self.properties.push(Property {
            name: name.into(),
            value,
        });
        self
    }

    pub fn with_empty(self, name: &str) -> Self {
        self.with(name, Vec::new())
    }

    pub fn with_u32(self, name: &str, value: u32) -> Self {
        self.with(name, value.to_be_bytes().to_vec())
    }

    pub fn with_u64s(self, name: &str, values: &[u64]) -> Self {
        self.with(name, values.iter().flat_map(|v| v.to_be_bytes()).collect())
    }

    pub fn with_strings(self, name: &str, values: &[&str]) -> Self {
        let mut bytes = Vec::new();
        for value in values {
            bytes.extend_from_slice(value.as_bytes());
            bytes.push(0);
        }
        self.with(name, bytes)
    }

    pub fn with_child(mut self, child: Node) -> Self {
        self.children.push(child);
        self
    }

    pub fn property(&self, name: &str) -> Option<&[u8]> {
        self.properties
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_slice())
    }

    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|child| child.name == name)
    }

    /// This node and all below it, each with its path; `path` is this node's.
    pub fn walk<E>(
        &self,
        path: &str,
        visit: &mut impl FnMut(&str, &Node) -> Result<(), E>,
    ) -> Result<(), E> {
        visit(path, self)?;
        let prefix = if path == "/" { "" } else { path };
        for child in &self.children {
            child.walk(&alloc::format!("{prefix}/{}", child.name), visit)?;
        }
        Ok(())
    }

    fn write(&self, writer: &mut FdtWriter) -> Result<(), vm_fdt::Error> {
        let node = writer.begin_node(&self.name)?;
        for property in &self.properties {
            match (property.name.as_str(), property.value.as_slice().try_into()) {
                // Through `property_phandle`, which refuses duplicates.
                ("phandle", Ok(cell)) => writer.property_phandle(u32::from_be_bytes(cell))?,
                _ => writer.property(&property.name, &property.value)?,
            }
        }
        for child in &self.children {
            child.write(writer)?;
        }
        writer.end_node(node)
    }
}

/// The node at `path` (a full path) below `root`.
pub(super) fn find<'n>(root: &'n Node, path: &str) -> Option<&'n Node> {
    path.split('/')
        .filter(|name| !name.is_empty())
        .try_fold(root, |node, name| node.child(name))
}

/// The node at `path` below `root`, to change it.
pub(super) fn find_mut<'n>(root: &'n mut Node, path: &str) -> Option<&'n mut Node> {
    path.split('/')
        .filter(|name| !name.is_empty())
        .try_fold(root, |node, name| {
            node.children.iter_mut().find(|child| child.name == name)
        })
}

/// Serialises the tree whose root is `root`.
pub(super) fn to_dtb(root: &Node) -> Result<Vec<u8>, vm_fdt::Error> {
    let mut writer = FdtWriter::new()?;
    root.write(&mut writer)?;
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_finds_and_serialises() {
        let root = Node::new("", Origin::Cordon)
            .with_u32("#address-cells", 2)
            .with_child(
                Node::new("soc", Origin::Bus).with_child(
                    Node::new("serial@1000", Origin::PassedThrough)
                        .with_strings("compatible", &["a", "b"])
                        .with_u32("phandle", 7),
                ),
            );
        let serial = find(&root, "/soc/serial@1000").unwrap();
        assert_eq!(serial.property("compatible"), Some(&b"a\0b\0"[..]));
        assert!(find(&root, "/soc/serial").is_none(), "names match exactly");
        assert_eq!(find(&root, "/"), Some(&root));

        let mut paths = Vec::new();
        root.walk::<()>("/", &mut |path, _| {
            paths.push(String::from(path));
            Ok(())
        })
        .unwrap();
        assert_eq!(paths, ["/", "/soc", "/soc/serial@1000"]);

        let dtb = to_dtb(&root).unwrap();
        let fdt = fdt::Fdt::new(&dtb).unwrap();
        let serial = fdt.find_node("/soc/serial@1000").unwrap();
        assert_eq!(fdt.find_phandle(7).unwrap().name, serial.name);
    }

    #[test]
    fn duplicate_phandles_are_refused() {
        let root = Node::new("", Origin::Cordon)
            .with_child(Node::new("a", Origin::PassedThrough).with_u32("phandle", 1))
            .with_child(Node::new("b", Origin::PassedThrough).with_u32("phandle", 1));
        assert_eq!(to_dtb(&root), Err(vm_fdt::Error::DuplicatePhandle));
    }
}
