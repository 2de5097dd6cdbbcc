//! What a passed-through device uses that stays with cordon: the SoC's
//! clock controller, regulators and power sequencers switched through the
//! firmware, and pin configuration. A device whose clock is one of
//! [`KEPT_CLOCKS`] gets them as the firmware left them, and no way to
//! change them:
//!
//! - its clock becomes a fixed clock, a node of the VM's tree that stands
//!   for the clock, of the rate the board's firmware reports for it
//!   ([`VmDescription::firmware_clocks`](super::VmDescription)); a device
//!   whose clock is not listed there is still refused;
//! - its references to regulators (`*-supply`), power sequencers
//!   (`mmc-pwrseq`) and pin states (`pinctrl-<n>`) that the VM does not
//!   get are left out, so its driver takes the power and the pins as they
//!   are.
//!
//! Other devices keep the rule of the rest of the tree: a reference to
//! anything the VM does not get is an error.

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::String;

use super::GuestDtError;
use super::boot::{BootIndex, is_compatible, phandle, to_cells};
use super::references::present_phandles;
use super::tree::{self, Node, Origin};

/// A clock that a device may use without its controller being passed
/// through. Its rate is what the board's firmware reports for it.
struct KeptClock {
    /// The controller's `compatible`.
    controller: &'static str,
    /// The clock's number in the controller's binding.
    clock: u32,
    /// The same clock as the firmware names it.
    firmware: FirmwareClock,
}

/// The BCM2711 clock manager's `compatible`.
const BCM2711_CPRMAN: &str = "brcm,bcm2711-cprman";
/// The clock of the SoC's Arasan SD controller (`BCM2835_CLOCK_EMMC` in
/// the clock manager's binding), the controller QEMU's `raspi4b` puts its
/// SD card on.
const BCM2835_CLOCK_EMMC: u32 = 28;
/// The clock of emmc2, the SD controller a Pi 4 boots from
/// (`BCM2711_CLOCK_EMMC2`).
const BCM2711_CLOCK_EMMC2: u32 = 51;

const KEPT_CLOCKS: &[KeptClock] = &[
    KeptClock {
        controller: BCM2711_CPRMAN,
        clock: BCM2835_CLOCK_EMMC,
        firmware: FirmwareClock::Emmc,
    },
    KeptClock {
        controller: BCM2711_CPRMAN,
        clock: BCM2711_CLOCK_EMMC2,
        firmware: FirmwareClock::Emmc2,
    },
];

/// A clock the Raspberry Pi firmware reports the rate of (its mailbox
/// property "get clock rate"), by the firmware's clock ID.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FirmwareClock {
    Emmc = 1,
    Emmc2 = 12,
}

impl FirmwareClock {
    /// Every clock a passed-through device may keep: the ones to ask the
    /// firmware about at boot.
    pub const KEPT: [FirmwareClock; 2] = [FirmwareClock::Emmc, FirmwareClock::Emmc2];

    /// The firmware's ID of the clock.
    pub fn id(self) -> u32 {
        self as u32
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Emmc => "EMMC",
            Self::Emmc2 => "EMMC2",
        }
    }
}

/// A clock's rate as the firmware reported it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FirmwareClockRate {
    pub clock: FirmwareClock,
    pub rate_hz: u32,
}

/// The node that stands for a kept clock: a fixed clock with no cells.
const FIXED_CLOCK: &str = "fixed-clock";
const CLOCK_CELLS: &str = "#clock-cells";
const FIXED_CLOCK_CELLS: u32 = 0;
/// The lowest phandle (0 is no phandle).
const FIRST_PHANDLE: u32 = 1;
const CLOCK_FREQUENCY: &str = "clock-frequency";
const CLOCKS: &str = "clocks";
/// Cells of a `clocks` entry of a clock controller with one clock cell.
const ONE_CLOCK_CELLS: usize = 2;
/// Reference properties to what stays with cordon.
const SUPPLY_SUFFIX: &str = "-supply";
const MMC_PWRSEQ: &str = "mmc-pwrseq";
const PINCTRL_STATE_PREFIX: &str = "pinctrl-";
const PINCTRL_NAMES: &str = "pinctrl-names";

/// A device's one clock, which cordon keeps.
pub(super) struct KeptClockUse {
    /// The name of the fixed clock standing for it in the VM's tree:
    /// `<controller>-clock-<number>`.
    name: String,
    firmware: FirmwareClock,
}

/// The one clock of the boot node at `consumer`, if it is one of
/// [`KEPT_CLOCKS`].
pub(super) fn kept_clock(index: &BootIndex, consumer: &str) -> Option<KeptClockUse> {
    let clocks = index.find(consumer)?.node.property(CLOCKS)?;
    let [phandle, clock] = <[u32; ONE_CLOCK_CELLS]>::try_from(to_cells(clocks.value)?).ok()?;
    let controller = index.by_phandle(phandle)?;
    let kept = KEPT_CLOCKS
        .iter()
        .find(|kept| kept.clock == clock && is_compatible(controller.node, &[kept.controller]))?;
    let controller_name = controller.node.name.split('@').next().unwrap_or_default();
    Some(KeptClockUse {
        name: format!("{controller_name}-clock-{clock}"),
        firmware: kept.firmware,
    })
}

/// Points the clocks of the guest node at `path` at a fixed clock that
/// stands for `clock` (added to the root of the guest tree once), and
/// leaves out its references (and its subnodes') to regulators, power
/// sequencers and pin states the guest tree lacks.
pub(super) fn stand_in(
    index: &BootIndex,
    root: &mut Node,
    path: &str,
    clock: &KeptClockUse,
    rates: &[FirmwareClockRate],
) -> Result<(), GuestDtError> {
    let rate_hz = rates
        .iter()
        .find(|rate| rate.clock == clock.firmware)
        .map(|rate| rate.rate_hz)
        .ok_or_else(|| GuestDtError::KeptClockRateUnknown {
            consumer: path.into(),
            clock: clock.firmware.name(),
        })?;
    let present = present_phandles(root)?;
    let existing = root
        .child(&clock.name)
        .and_then(|node| node.property("phandle"))
        .and_then(to_cells);
    let phandle = match existing.as_deref() {
        Some(&[phandle]) => phandle,
        _ => {
            let phandle = unused_phandle(index, &present);
            root.children.push(
                Node::new(&clock.name, Origin::Cordon)
                    .with_strings("compatible", &[FIXED_CLOCK])
                    .with_u32(CLOCK_CELLS, FIXED_CLOCK_CELLS)
                    .with_u32(CLOCK_FREQUENCY, rate_hz)
                    .with_u32("phandle", phandle),
            );
            phandle
        }
    };
    let node = tree::find_mut(root, path)
        .ok_or_else(|| GuestDtError::UnknownDevice { path: path.into() })?;
    node.properties.retain(|p| p.name != CLOCKS);
    node.properties.push(tree::Property {
        name: CLOCKS.into(),
        value: phandle.to_be_bytes().to_vec(),
    });
    leave_out_references(node, &present);
    Ok(())
}

/// A phandle that no boot node and no node of the guest tree has.
fn unused_phandle(index: &BootIndex, present: &BTreeSet<u32>) -> u32 {
    let highest_boot = index.iter().filter_map(|n| phandle(n.node)).max();
    let highest = highest_boot
        .into_iter()
        .chain(present.iter().copied())
        .max();
    highest.map_or(FIRST_PHANDLE, |highest| highest + 1)
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
