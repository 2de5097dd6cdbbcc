//! What a passed-through device uses that stays with cordon: the SoC's
//! clock controller, regulators and power sequencers switched through the
//! firmware, and pin configuration. A device whose clock is one of
//! [`KEPT_CLOCKS`] gets them as the firmware left them, and no way to
//! change them:
//!
//! - its clock becomes its `clock-frequency`, at the rate [`KEPT_CLOCKS`]
//!   gives (a device whose clock is not listed there is still refused);
//! - its references to regulators (`*-supply`), power sequencers
//!   (`mmc-pwrseq`) and pin states (`pinctrl-<n>`) that the VM does not
//!   get are left out, so its driver takes the power and the pins as they
//!   are.
//!
//! Other devices keep the rule of the rest of the tree: a reference to
//! anything the VM does not get is an error.

use alloc::collections::BTreeSet;

use super::GuestDtError;
use super::boot::{BootIndex, is_compatible, to_cells};
use super::references::present_phandles;
use super::tree::{self, Node};

/// A clock that a device may use without its controller being passed
/// through, and the rate it runs at.
struct KeptClock {
    /// The controller's `compatible`.
    controller: &'static str,
    /// The clock's number in the controller's binding.
    clock: u32,
    rate_hz: u32,
}

/// The BCM2711 clock manager's `compatible`.
const BCM2711_CPRMAN: &str = "brcm,bcm2711-cprman";
/// The clock of the SoC's Arasan SD controller (`BCM2835_CLOCK_EMMC` in
/// the clock manager's binding), the controller QEMU's `raspi4b` puts its
/// SD card on.
const BCM2835_CLOCK_EMMC: u32 = 28;
/// Its rate as the firmware reports it under QEMU's `raspi4b` model. Not
/// checked on a Pi 4: there the firmware's own report (its mailbox's
/// "get clock rate") is what this must agree with.
const EMMC_RATE_HZ: u32 = 50_000_000;

const KEPT_CLOCKS: &[KeptClock] = &[KeptClock {
    controller: BCM2711_CPRMAN,
    clock: BCM2835_CLOCK_EMMC,
    rate_hz: EMMC_RATE_HZ,
}];

/// Properties that name a device's clocks, replaced by `clock-frequency`.
const CLOCK_PROPERTIES: &[&str] = &["clocks", "clock-names"];
const CLOCK_FREQUENCY: &str = "clock-frequency";
/// Cells of a `clocks` entry of a clock controller with one clock cell.
const ONE_CLOCK_CELLS: usize = 2;
/// Reference properties to what stays with cordon.
const SUPPLY_SUFFIX: &str = "-supply";
const MMC_PWRSEQ: &str = "mmc-pwrseq";
const PINCTRL_STATE_PREFIX: &str = "pinctrl-";
const PINCTRL_NAMES: &str = "pinctrl-names";

/// The rate of the one clock of the boot node at `consumer`, if that clock
/// is one of [`KEPT_CLOCKS`].
pub(super) fn kept_clock_rate(index: &BootIndex, consumer: &str) -> Option<u32> {
    let clocks = index.find(consumer)?.node.property("clocks")?;
    let [phandle, clock] = <[u32; ONE_CLOCK_CELLS]>::try_from(to_cells(clocks.value)?).ok()?;
    let controller = index.by_phandle(phandle)?;
    KEPT_CLOCKS
        .iter()
        .find(|kept| kept.clock == clock && is_compatible(controller.node, &[kept.controller]))
        .map(|kept| kept.rate_hz)
}

/// Gives the guest node at `path`, whose one clock is kept at `rate_hz`,
/// that rate instead of its clock, and leaves out its references (and its
/// subnodes') to regulators, power sequencers and pin states the guest
/// tree lacks.
pub(super) fn stand_in(root: &mut Node, path: &str, rate_hz: u32) -> Result<(), GuestDtError> {
    let present = present_phandles(root)?;
    let node = tree::find_mut(root, path)
        .ok_or_else(|| GuestDtError::UnknownDevice { path: path.into() })?;
    node.properties
        .retain(|p| !CLOCK_PROPERTIES.contains(&p.name.as_str()) && p.name != CLOCK_FREQUENCY);
    node.properties.push(tree::Property {
        name: CLOCK_FREQUENCY.into(),
        value: rate_hz.to_be_bytes().to_vec(),
    });
    leave_out_references(node, &present);
    Ok(())
}

fn leave_out_references(node: &mut Node, present: &BTreeSet<u32>) {
    node.properties.retain(|p| {
        !refers_to_kept(&p.name)
            || to_cells(&p.value)
                .is_some_and(|phandles| phandles.iter().all(|phandle| present.contains(phandle)))
    });
    if !node.properties.iter().any(|p| is_pinctrl_state(&p.name)) {
        node.properties.retain(|p| p.name != PINCTRL_NAMES);
    }
    for child in &mut node.children {
        leave_out_references(child, present);
    }
}

fn refers_to_kept(property: &str) -> bool {
    property == MMC_PWRSEQ
        || (property.len() > SUPPLY_SUFFIX.len() && property.ends_with(SUPPLY_SUFFIX))
        || is_pinctrl_state(property)
}

/// `pinctrl-0`, `pinctrl-1`, ...
fn is_pinctrl_state(property: &str) -> bool {
    property
        .strip_prefix(PINCTRL_STATE_PREFIX)
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_to_what_cordon_keeps() {
        for name in [
            "vmmc-supply",
            "vqmmc-supply",
            "mmc-pwrseq",
            "pinctrl-0",
            "pinctrl-12",
        ] {
            assert!(refers_to_kept(name), "{name}");
        }
        for name in [
            "-supply",
            "pinctrl-names",
            "pinctrl-",
            "clocks",
            "dmas",
            "reset-gpios",
        ] {
            assert!(!refers_to_kept(name), "{name}");
        }
    }
}
