//! Inter-VM channels, as `/channel@<ipa>` nodes: a shared-memory window
//! and a doorbell page (a write raises the channel's interrupt in the peer).

use alloc::format;

use super::GuestChannel;
use super::tree::{Node, Origin};

/// `compatible` of a channel node.
pub const CHANNEL_COMPATIBLE: &str = "cordon,channel";
/// Bytes of the doorbell frame.
pub const DOORBELL_SIZE: u64 = 0x1000;

pub(super) fn node(channel: &GuestChannel) -> Node {
    let interrupts = super::interrupts::edge_spi(channel.spi);
    Node::new(&format!("channel@{:x}", channel.shared_ipa), Origin::Cordon)
        .with_strings("compatible", &[CHANNEL_COMPATIBLE])
        .with_u64s(
            "reg",
            &[
                channel.shared_ipa,
                channel.size,
                channel.doorbell_ipa,
                DOORBELL_SIZE,
            ],
        )
        .with("interrupts", interrupts)
        .with_strings("cordon,name", &[channel.name])
        .with_strings("cordon,peer", &[channel.peer])
}
