//! The console UART cordon emulates for a VM, described at the boot tree
//! node of the UART it stands for (same path, registers and interrupt).
//!
//! The model has no pins and no clock of its own: the node comes without
//! its pin configuration, and when its clocks come from devices the VM
//! does not get (RPi4's mini-UART: the AUX block and the clock manager), it
//! names its rate in `clock-frequency` instead. Clocks without registers
//! (QEMU `virt`'s fixed `apb-pclk`) come along as for any device.

use alloc::string::String;

use super::GuestDtError;
use super::boot::BootIndex;
use super::passthrough;
use super::references::clock_providers;
use super::tree::{self, Node};

/// The rate the console says its clock has when its own clocks stay
/// behind: the BCM2835 mini-UART's usual core clock. The model keeps no
/// baud rate, so any rate that divides to the common ones does.
const CLOCK_HZ: u32 = 500_000_000;
/// Properties that tie a UART to pins and clocks the VM does not get.
const PINCTRL_NAMES: &str = "pinctrl-names";
const PINCTRL_STATE_PREFIX: &str = "pinctrl-";
const CLOCK_PROPERTIES: &[&str] = &["clocks", "clock-names"];

/// Adds the emulated console at boot path `path` to the guest tree `root`.
pub(super) fn add(
    index: &BootIndex,
    provided: &[String],
    path: &str,
    root: &mut Node,
) -> Result<(), GuestDtError> {
    let own_clocks = clock_providers(index, path)?;
    let clocks_have_registers = own_clocks.iter().any(|provider| {
        index
            .find(provider)
            .is_some_and(|node| node.node.property("reg").is_some())
    });
    if clocks_have_registers {
        passthrough::not_provided(path, provided)?;
        passthrough::insert(index, root, path)?;
    } else {
        // Its clocks come along as they are: none is kept by cordon.
        passthrough::add(index, provided, &[path], &[], root)?;
    }
    let node = tree::find_mut(root, path)
        .ok_or_else(|| GuestDtError::UnknownDevice { path: path.into() })?;
    node.properties
        .retain(|p| p.name != PINCTRL_NAMES && !p.name.starts_with(PINCTRL_STATE_PREFIX));
    if clocks_have_registers {
        node.properties
            .retain(|p| !CLOCK_PROPERTIES.contains(&p.name.as_str()));
        node.properties.push(tree::Property {
            name: "clock-frequency".into(),
            value: CLOCK_HZ.to_be_bytes().to_vec(),
        });
    }
    Ok(())
}
