//! The VM's interrupt controller and architected timer.
//!
//! The guest sees a plain GICv2 (distributor and CPU interface only, at the
//! addresses cordon emulates or maps them) with the boot GIC's phandle, so
//! the `interrupts` of copied nodes keep working unchanged. Without the
//! virtualization frames or maintenance interrupt, Linux does not try to use
//! virtualization itself.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::boot::{BootIndex, BootNode, phandle, to_cells, u32_property};
use super::copy;
use super::tree::{Node, Origin};
use super::{GuestDtError, GuestGic};

/// Compatibles of GICv2 implementations cordon's boards have.
const GICV2_COMPATIBLE: &[&str] = &[
    "arm,gic-400",
    "arm,cortex-a15-gic",
    "arm,cortex-a9-gic",
    "arm,cortex-a7-gic",
    "arm,pl390",
];
const TIMER_COMPATIBLE: &[&str] = &["arm,armv8-timer"];

/// The guest GIC has no children and no unit addresses in interrupt maps;
/// dtc wants interrupt providers to say so.
const GIC_ADDRESS_CELLS: u32 = 0;
/// Cells of a GIC interrupt specifier: type, number, flags.
const GIC_INTERRUPT_CELLS: u32 = 3;
/// First cell of a specifier for a private peripheral interrupt.
const GIC_PPI: u32 = 1;
/// Bits 8..15 of the flags cell of a PPI: the CPUs it is wired to.
const PPI_CPU_MASK_SHIFT: u32 = 8;
const PPI_CPU_MASK: u32 = 0xff << PPI_CPU_MASK_SHIFT;

/// The GIC of the boot tree.
pub(super) struct BootGic<'i> {
    pub path: &'i str,
    pub phandle: u32,
    pub compatible: &'i [u8],
}

pub(super) fn find_gic<'i>(index: &'i BootIndex) -> Result<BootGic<'i>, GuestDtError> {
    let gic = index
        .first_compatible(GICV2_COMPATIBLE)
        .ok_or(GuestDtError::NoGic)?;
    if u32_property(gic.node, "#interrupt-cells") != Some(GIC_INTERRUPT_CELLS) {
        return Err(GuestDtError::MalformedProperty {
            node: gic.path.clone(),
            property: "#interrupt-cells".into(),
        });
    }
    let phandle = phandle(gic.node).ok_or_else(|| GuestDtError::GicWithoutPhandle {
        path: gic.path.clone(),
    })?;
    Ok(BootGic {
        path: &gic.path,
        phandle,
        compatible: gic.node.property("compatible").map_or(&[], |p| p.value),
    })
}

/// The guest's GIC node, at the root.
pub(super) fn gic_node(gic: &BootGic, guest: &GuestGic) -> Node {
    Node::new(&format!("intc@{:x}", guest.distributor), Origin::Cordon)
        .with("compatible", gic.compatible.to_vec())
        .with_u32("phandle", gic.phandle)
        .with_empty("interrupt-controller")
        .with_u32("#interrupt-cells", GIC_INTERRUPT_CELLS)
        .with_u32("#address-cells", GIC_ADDRESS_CELLS)
        .with_u64s(
            "reg",
            &[
                guest.distributor,
                GuestGic::DISTRIBUTOR_SIZE,
                guest.cpu_interface,
                GuestGic::CPU_INTERFACE_SIZE,
            ],
        )
}

pub(super) fn find_timer<'i, 'b, 'a>(
    index: &'i BootIndex<'b, 'a>,
) -> Result<&'i BootNode<'b, 'a>, GuestDtError> {
    index
        .first_compatible(TIMER_COMPATIBLE)
        .ok_or(GuestDtError::NoTimer)
}

/// The boot timer node, copied to the root, with its PPIs wired to the
/// VM's `vcpus` CPUs.
pub(super) fn timer_node(
    index: &BootIndex,
    timer: &BootNode,
    vcpus: usize,
) -> Result<Node, GuestDtError> {
    let mut node = copy::subtree(index, timer)?;
    node.origin = Origin::Cordon;
    let interrupts = node
        .properties
        .iter_mut()
        .find(|p| p.name == "interrupts")
        .ok_or_else(|| malformed_interrupts(&timer.path))?;
    interrupts.value =
        wire_ppis(&interrupts.value, vcpus).ok_or_else(|| malformed_interrupts(&timer.path))?;
    Ok(node)
}

fn malformed_interrupts(path: &str) -> GuestDtError {
    GuestDtError::MalformedProperty {
        node: String::from(path),
        property: "interrupts".into(),
    }
}

/// `interrupts` (GIC specifiers) with the CPU mask of every PPI set to the
/// first `vcpus` CPUs; `None` if it is not a list of specifiers.
fn wire_ppis(interrupts: &[u8], vcpus: usize) -> Option<Vec<u8>> {
    let mut cells = to_cells(interrupts)?;
    let specifier = GIC_INTERRUPT_CELLS as usize;
    if cells.is_empty() || !cells.len().is_multiple_of(specifier) {
        return None;
    }
    let mask = (((1u32 << vcpus) - 1) << PPI_CPU_MASK_SHIFT) & PPI_CPU_MASK;
    for spec in cells.chunks_exact_mut(specifier) {
        if spec[0] == GIC_PPI {
            spec[2] = (spec[2] & !PPI_CPU_MASK) | mask;
        }
    }
    Some(cells.iter().flat_map(|c| c.to_be_bytes()).collect())
}

/// GIC interrupt specifier cells for an edge-triggered (rising) SPI with
/// interrupt ID `spi`, as an `interrupts` property value.
pub(super) fn edge_spi(spi: u32) -> alloc::vec::Vec<u8> {
    const GIC_SPI: u32 = 0;
    const SPI_BASE: u32 = 32;
    const IRQ_EDGE_RISING: u32 = 1;
    [GIC_SPI, spi - SPI_BASE, IRQ_EDGE_RISING]
        .iter()
        .flat_map(|cell| cell.to_be_bytes())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(cells: &[u32]) -> Vec<u8> {
        cells.iter().flat_map(|c| c.to_be_bytes()).collect()
    }

    #[test]
    fn ppi_masks_follow_the_vcpu_count() {
        // RPi4: 4 CPUs, level-low.
        let rpi4 = bytes(&[1, 13, 0xf08, 1, 14, 0xf08, 0, 30, 4]);
        assert_eq!(
            wire_ppis(&rpi4, 1),
            Some(bytes(&[1, 13, 0x108, 1, 14, 0x108, 0, 30, 4])),
            "SPIs are left alone"
        );
        assert_eq!(
            wire_ppis(&rpi4, 8),
            Some(bytes(&[1, 13, 0xff08, 1, 14, 0xff08, 0, 30, 4]))
        );
        assert_eq!(wire_ppis(&bytes(&[1, 13]), 1), None);
        assert_eq!(wire_ppis(&[], 1), None);
    }
}
