//! Inter-VM channels at run time: one VM's end of a channel (shared memory
//! mapped in both VMs, a doorbell page that raises an interrupt in the
//! peer) and ringing it.

use alloc::string::String;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::mm::PhysRange;

/// Bytes of a doorbell page.
pub const DOORBELL_SIZE: u64 = 0x1000;

pub struct ChannelEnd {
    pub name: String,
    pub peer: String,
    pub shared: PhysRange,
    pub shared_ipa: u64,
    pub doorbell_ipa: u64,
    /// The (emulated) SPI the peer's doorbell raises in this VM.
    pub spi: u32,
    /// The peer rang; not yet delivered.
    rung: AtomicBool,
}

impl ChannelEnd {
    pub fn new(
        name: String,
        peer: String,
        shared: PhysRange,
        shared_ipa: u64,
        doorbell_ipa: u64,
        spi: u32,
    ) -> Self {
        Self {
            name,
            peer,
            shared,
            shared_ipa,
            doorbell_ipa,
            spi,
            rung: AtomicBool::new(false),
        }
    }

    /// Whether guest-physical `ipa` is in this end's doorbell page.
    pub fn is_doorbell(&self, ipa: u64) -> bool {
        (self.doorbell_ipa..self.doorbell_ipa + DOORBELL_SIZE).contains(&ipa)
    }

    /// The peer rang this end.
    pub fn ring(&self) {
        self.rung.store(true, Ordering::Release);
    }

    /// Takes a pending ring, if there is one.
    pub fn take_ring(&self) -> bool {
        self.rung.swap(false, Ordering::AcqRel)
    }
}
