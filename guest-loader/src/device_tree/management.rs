//! The management interface of the management VM, as a `/reserved-memory`
//! child that userspace finds (`cordon,management`): `reg` is the shared
//! region, the doorbell page follows it, `interrupts` signals events.

use alloc::format;

use super::GuestManagement;
use super::tree::{Node, Origin};

/// `compatible` of the management region's node.
pub const MANAGEMENT_COMPATIBLE: &str = "cordon,management";
/// `/reserved-memory` uses 64-bit addresses and sizes.
const CELLS: u32 = 2;

pub(super) fn node(management: &GuestManagement) -> Node {
    let interrupts = super::interrupts::edge_spi(management.spi);
    let region = Node::new(
        &format!("cordon-management@{:x}", management.region_ipa),
        Origin::Cordon,
    )
    .with_strings("compatible", &[MANAGEMENT_COMPATIBLE])
    .with_u64s("reg", &[management.region_ipa, management.size])
    .with_empty("no-map")
    .with("interrupts", interrupts);
    Node::new("reserved-memory", Origin::Cordon)
        .with_u32("#address-cells", CELLS)
        .with_u32("#size-cells", CELLS)
        .with_empty("ranges")
        .with_child(region)
}
