//! The machine a VM sees: its root, CPUs and PSCI firmware interface.

use alloc::format;

use super::GuestDtError;
use super::boot::BootIndex;
use super::cells::{GUEST_ROOT_ADDRESS_CELLS, GUEST_ROOT_SIZE_CELLS};
use super::tree::{Node, Origin};

/// Root properties that describe the board rather than a device.
/// `dma-coherent` is inherited by every device below the root, so
/// passed-through devices keep the coherency they have on the host.
const ROOT_COPIED: &[&str] = &["compatible", "model", "dma-coherent"];

/// `/cpus` addresses a CPU by its MPIDR affinity, in one cell; no sizes.
const CPUS_ADDRESS_CELLS: u32 = 1;
const CPUS_SIZE_CELLS: u32 = 0;

/// cordon emulates PSCI 1.0 for guests and takes their calls by HVC.
const PSCI_COMPATIBLE: &[&str] = &["arm,psci-1.0", "arm,psci-0.2"];
const PSCI_METHOD: &str = "hvc";

/// The root node, whose interrupt parent is the GIC with phandle `gic`.
pub(super) fn root(index: &BootIndex, gic: u32) -> Node {
    let mut root = Node::new("", Origin::Cordon)
        .with_u32("#address-cells", GUEST_ROOT_ADDRESS_CELLS as u32)
        .with_u32("#size-cells", GUEST_ROOT_SIZE_CELLS as u32);
    for property in index.root().node.properties() {
        if ROOT_COPIED.contains(&property.name) {
            root = root.with(property.name, property.value.to_vec());
        }
    }
    root.with_u32("interrupt-parent", gic)
}

/// `/cpus` with vCPUs 0 to `vcpus - 1` (MPIDR Aff0 = number), started through
/// PSCI, of the same kind as the boot tree's first CPU.
pub(super) fn cpus(index: &BootIndex, vcpus: usize) -> Result<Node, GuestDtError> {
    let is_cpu = |node: &fdt::node::FdtNode| {
        node.property("device_type").and_then(|p| p.as_str()) == Some("cpu")
    };
    let compatible = index
        .find("/cpus")
        .and_then(|cpus| cpus.node.children().find(is_cpu))
        .and_then(|cpu| cpu.property("compatible"))
        .ok_or(GuestDtError::NoCpuCompatible)?
        .value;
    let mut cpus = Node::new("cpus", Origin::Cordon)
        .with_u32("#address-cells", CPUS_ADDRESS_CELLS)
        .with_u32("#size-cells", CPUS_SIZE_CELLS);
    for (n, mpidr) in (0..vcpus).zip(0u32..) {
        cpus = cpus.with_child(
            Node::new(&format!("cpu@{n}"), Origin::Cordon)
                .with_strings("device_type", &["cpu"])
                .with("compatible", compatible.to_vec())
                .with_u32("reg", mpidr)
                .with_strings("enable-method", &["psci"]),
        );
    }
    Ok(cpus)
}

pub(super) fn psci() -> Node {
    Node::new("psci", Origin::Cordon)
        .with_strings("compatible", PSCI_COMPATIBLE)
        .with_strings("method", &[PSCI_METHOD])
}
