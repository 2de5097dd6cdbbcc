//! Devices passed through to a VM, with the buses above them and the clock
//! providers they need.
//!
//! A device keeps its boot path, and so its guest-physical address: buses
//! on the way are recreated with just what maps addresses (their `ranges`).
//! Nodes that a device's `clocks` refer to come along if they have no
//! registers (fixed clocks); a clock provider with registers is a device of
//! its own and must be passed through explicitly, unless the clock is one
//! cordon keeps and describes by its rate (see [`super::kept_resources`]).

use alloc::string::String;
use alloc::vec::Vec;

use super::GuestDtError;
use super::boot::{BootIndex, covers, is_compatible};
use super::copy;
use super::kept_resources::{self, FirmwareClockRate};
use super::references::clock_providers;
use super::tree::{Node, Origin};

const PSCI_COMPATIBLE: &[&str] = &["arm,psci-1.0", "arm,psci-0.2", "arm,psci"];
/// Boot nodes cordon replaces with its own for every VM.
const CORDON_NODES: &[&str] = &["/cpus", "/chosen", "/aliases", "/reserved-memory"];

/// Boot-tree paths that no passed-through node may be or contain: what
/// cordon gives the VM itself (interrupt controller, timer, CPUs, PSCI,
/// memory, boot parameters).
pub(super) fn provided_by_cordon(index: &BootIndex, gic: &str, timer: &str) -> Vec<String> {
    let mut provided: Vec<String> = [gic, timer]
        .into_iter()
        .chain(CORDON_NODES.iter().copied())
        .map(String::from)
        .collect();
    for node in index.iter() {
        let is_memory =
            node.node.property("device_type").and_then(|p| p.as_str()) == Some("memory");
        if is_memory || is_compatible(node.node, PSCI_COMPATIBLE) {
            provided.push(node.path.clone());
        }
    }
    provided
}

/// Copies `devices` (full boot paths) and the clock providers they need
/// into the guest tree under `root`.
pub(super) fn add(
    index: &BootIndex,
    provided: &[String],
    devices: &[&str],
    firmware_clocks: &[FirmwareClockRate],
    root: &mut Node,
) -> Result<(), GuestDtError> {
    let mut copies = Vec::new();
    for &device in devices {
        let node = index
            .find(device)
            .ok_or_else(|| GuestDtError::UnknownDevice {
                path: device.into(),
            })?;
        not_provided(&node.path, provided)?;
        copies.push(node.path.clone());
    }

    // Devices whose one clock cordon keeps, and that clock.
    let mut kept_clocks = Vec::new();
    // Copies grows while it is scanned: providers' own clocks come along too.
    let mut next = 0;
    while let Some(copy) = copies.get(next).cloned() {
        next += 1;
        let consumers: Vec<String> = index.subtree(&copy).map(|n| n.path.clone()).collect();
        for consumer in consumers {
            for provider in clock_providers(index, &consumer)? {
                if copies.iter().any(|copied| covers(copied, &provider)) {
                    continue;
                }
                not_provided(&provider, provided)?;
                let has_registers = index
                    .find(&provider)
                    .is_some_and(|p| p.node.property("reg").is_some());
                if has_registers {
                    let clock = kept_resources::kept_clock(index, &consumer).ok_or_else(|| {
                        GuestDtError::ClockProviderNotAssigned {
                            consumer: consumer.clone(),
                            provider,
                        }
                    })?;
                    kept_clocks.push((consumer.clone(), clock));
                    continue;
                }
                copies.push(provider);
            }
        }
    }

    for path in &copies {
        insert(index, root, path)?;
    }
    for (consumer, clock) in &kept_clocks {
        kept_resources::stand_in(index, root, consumer, clock, firmware_clocks)?;
    }
    Ok(())
}

pub(super) fn not_provided(path: &str, provided: &[String]) -> Result<(), GuestDtError> {
    match provided.iter().find(|p| covers(path, p) || covers(p, path)) {
        Some(p) => Err(GuestDtError::ProvidedByCordon {
            device: path.into(),
            provided: p.clone(),
        }),
        None => Ok(()),
    }
}

/// Puts the boot node at `path`, whole, into the guest tree, recreating the
/// buses above it. Nothing happens if it is already there.
pub(super) fn insert(index: &BootIndex, root: &mut Node, path: &str) -> Result<(), GuestDtError> {
    let names: Vec<&str> = path.split('/').filter(|n| !n.is_empty()).collect();
    let mut node = root;
    let mut at = String::new();
    for (depth, &name) in names.iter().enumerate() {
        at.push('/');
        at.push_str(name);
        let is_target = depth + 1 == names.len();
        let boot = || {
            index
                .find(&at)
                .ok_or_else(|| GuestDtError::UnknownDevice { path: at.clone() })
        };
        let existing = node.children.iter().position(|child| child.name == name);
        let child = match existing.map(|i| (i, node.children[i].origin)) {
            // Already copied, with everything below it.
            Some((_, Origin::PassedThrough)) => return Ok(()),
            Some((_, Origin::Cordon)) => return Err(GuestDtError::NodeConflict { path: at }),
            Some((i, Origin::Bus)) if is_target => {
                // The whole node includes whatever was copied below the bus.
                node.children[i] = copy::subtree(index, boot()?)?;
                return Ok(());
            }
            Some((i, Origin::Bus)) => i,
            None if is_target => {
                node.children.push(copy::subtree(index, boot()?)?);
                return Ok(());
            }
            None => {
                node.children.push(copy::bus(index, boot()?)?);
                node.children.len() - 1
            }
        };
        node = &mut node.children[child];
    }
    Ok(())
}
