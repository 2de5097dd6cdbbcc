//! Channel modes: the two ends of a message over an inter-VM channel
//! (the `/channel@<ipa>` node cordon gives the VM).
//!
//! `hostile.channel-send` writes [`MESSAGE`] and a NUL at the start of the
//! shared memory, rings the doorbell and prints
//!
//! ```text
//! channel: sent ping to <peer>
//! ```
//!
//! `hostile.channel-receive` enables the channel's interrupt, prints
//! `channel: waiting`, and polls its CPU interface for it (IRQs masked) for
//! up to [`RECEIVE_TIMEOUT_MICROS`]; then
//!
//! ```text
//! channel: received "<text>" from <peer>
//! channel: FAILED <why>
//! ```
//!
//! Both then power off (PSCI SYSTEM_OFF).

use core::arch::asm;

use crate::attempt;
use crate::counter;
use crate::gic::{self, Gic, INTID_MASK, TARGET_CPU_0};
use crate::platform::{Channel, Platform};
use crate::say;
use crate::smccc;

/// What the sender writes.
const MESSAGE: &[u8] = b"cordon-channel-ping";
/// What ends the message in the shared memory.
const NUL: u8 = 0;
/// The sender waits this long before ringing, so that the receiver is
/// already waiting (cordon keeps a ring pending until the receiver enables
/// the interrupt, so this is not needed for correctness).
const SEND_DELAY_MICROS: u64 = 200_000;
/// How long the receiver waits for the doorbell.
const RECEIVE_TIMEOUT_MICROS: u64 = 5_000_000;
/// Most bytes of text the receiver reads.
const MAX_TEXT: usize = 64;
/// What the doorbell is written with (any value rings it).
const RING: u32 = 1;
/// The channel's interrupt priority (any but the lowest, 0xff, which
/// GICC_PMR would mask).
const PRIORITY: u8 = 0xa0;

/// The VM's channel, or a `FAILED` line and power off.
fn channel_of(platform: &Platform) -> Channel {
    match platform.channel {
        Some(channel) => channel,
        None => {
            say!("channel: FAILED no cordon,channel node in the device tree");
            smccc::power_off()
        }
    }
}

/// Orders the memory accesses before it before those after it.
fn barrier() {
    // SAFETY: a barrier has no effect but on ordering.
    unsafe { asm!("dsb sy", options(nostack, preserves_flags)) };
}

pub fn send(platform: &Platform) -> ! {
    let channel = channel_of(platform);
    let _: Option<()> = counter::poll_for(SEND_DELAY_MICROS, || None);
    let written = MESSAGE
        .iter()
        .chain([NUL].iter())
        .zip(channel.shared.start..channel.shared.end)
        .try_for_each(|(&byte, addr)| attempt::write8(addr, byte));
    if let Err(fault) = written {
        say!("channel: FAILED writing the shared memory: {fault:?}");
        smccc::power_off()
    }
    barrier();
    if let Err(fault) = attempt::write32(channel.doorbell.start, RING) {
        say!("channel: FAILED ringing the doorbell: {fault:?}");
        smccc::power_off()
    }
    say!("channel: sent ping to {}", channel.peer);
    smccc::power_off()
}

pub fn receive(platform: &Platform) -> ! {
    let channel = channel_of(platform);
    let gic = Gic::open(platform);
    let gicd = gic.distributor();
    let routed = attempt::write8(gic::priority_of(gicd, channel.intid), PRIORITY)
        .and_then(|()| attempt::write8(gic::targets_of(gicd, channel.intid), TARGET_CPU_0));
    if let Err(fault) = routed {
        say!(
            "channel: FAILED setting up interrupt {}: {fault:?}",
            channel.intid
        );
        smccc::power_off()
    }
    gic.enable(channel.intid);
    say!("channel: waiting");
    let rung = counter::poll_for(RECEIVE_TIMEOUT_MICROS, || {
        let iar = gic.acknowledge()?;
        gic.end(iar);
        (iar & INTID_MASK == channel.intid).then_some(())
    });
    if rung.is_none() {
        say!("channel: FAILED no doorbell");
        smccc::power_off()
    }
    barrier();
    let mut text = [0u8; MAX_TEXT];
    let mut len = 0;
    for (slot, addr) in text
        .iter_mut()
        .zip(channel.shared.start..channel.shared.end)
    {
        match attempt::read8(addr) {
            Ok(NUL) => break,
            Ok(byte) => {
                *slot = byte;
                len += 1;
            }
            Err(fault) => {
                say!("channel: FAILED reading the shared memory: {fault:?}");
                smccc::power_off()
            }
        }
    }
    match core::str::from_utf8(&text[..len]) {
        Ok(text) => say!("channel: received \"{text}\" from {}", channel.peer),
        Err(_) => say!("channel: FAILED the shared memory holds no UTF-8 text"),
    }
    smccc::power_off()
}
