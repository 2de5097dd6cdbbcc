//! Properties that refer to other nodes by phandle.
//!
//! A device tree blob does not say which properties hold phandles; the
//! bindings do. cordon knows the common ones below. Copied nodes may only
//! refer to nodes the VM also gets, so a reference that would dangle in the
//! guest tree is an error rather than a silent misconfiguration.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

use super::GuestDtError;
use super::boot::{BootIndex, to_cells, u32_property};
use super::tree::{Node, Origin};

/// How a property's name is recognised.
enum Name {
    Exact(&'static str),
    Suffix(&'static str),
    /// `pinctrl-0`, `pinctrl-1`, ...
    PinctrlState,
}

/// What a recognised property holds.
#[derive(Clone, Copy)]
enum Shape {
    /// Only phandles.
    Phandles,
    /// Each phandle is followed by as many cells as the referenced node's
    /// `cells` property says (0 if it has none and `optional`).
    WithArgs { cells: &'static str, optional: bool },
    /// Phandles inside a layout cordon doesn't parse yet.
    Unsupported,
}

const fn args(cells: &'static str) -> Shape {
    Shape::WithArgs {
        cells,
        optional: false,
    }
}

const BINDINGS: &[(Name, Shape)] = &[
    (Name::Exact("interrupt-parent"), Shape::Phandles),
    (Name::Exact("interrupts-extended"), args("#interrupt-cells")),
    (Name::Exact("clocks"), args(CLOCK_CELLS)),
    (Name::Exact("assigned-clocks"), args(CLOCK_CELLS)),
    (Name::Exact("assigned-clock-parents"), args(CLOCK_CELLS)),
    (Name::Exact("resets"), args("#reset-cells")),
    (Name::Exact("power-domains"), args("#power-domain-cells")),
    (Name::Exact("dmas"), args("#dma-cells")),
    (Name::Exact("phys"), args("#phy-cells")),
    (Name::Exact("pwms"), args("#pwm-cells")),
    (Name::Exact("mboxes"), args("#mbox-cells")),
    (Name::Exact("iommus"), args("#iommu-cells")),
    (Name::Exact("io-channels"), args("#io-channel-cells")),
    (Name::Exact("interconnects"), args("#interconnect-cells")),
    (
        Name::Exact("thermal-sensors"),
        args("#thermal-sensor-cells"),
    ),
    (Name::Exact("sound-dai"), args("#sound-dai-cells")),
    (Name::Exact("gpios"), args(GPIO_CELLS)),
    (Name::Suffix("-gpios"), args(GPIO_CELLS)),
    (Name::Suffix("-gpio"), args(GPIO_CELLS)),
    (
        Name::Exact("msi-parent"),
        Shape::WithArgs {
            cells: "#msi-cells",
            optional: true,
        },
    ),
    (Name::Exact("memory-region"), Shape::Phandles),
    (Name::Exact("mmc-pwrseq"), Shape::Phandles),
    (Name::Exact("nvmem-cells"), Shape::Phandles),
    (Name::Exact("next-level-cache"), Shape::Phandles),
    (Name::Exact("phy-handle"), Shape::Phandles),
    (Name::Exact("remote-endpoint"), Shape::Phandles),
    (Name::Exact("operating-points-v2"), Shape::Phandles),
    (Name::Suffix("-supply"), Shape::Phandles),
    (Name::PinctrlState, Shape::Phandles),
    (Name::Exact("interrupt-map"), Shape::Unsupported),
    (Name::Exact("msi-map"), Shape::Unsupported),
    (Name::Exact("iommu-map"), Shape::Unsupported),
    (Name::Exact("gpio-ranges"), Shape::Unsupported),
];

const CLOCK_CELLS: &str = "#clock-cells";
const GPIO_CELLS: &str = "#gpio-cells";

impl Name {
    fn matches(&self, property: &str) -> bool {
        match self {
            Self::Exact(name) => property == *name,
            Self::Suffix(suffix) => property.len() > suffix.len() && property.ends_with(suffix),
            Self::PinctrlState => property
                .strip_prefix("pinctrl-")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
        }
    }
}

fn shape_of(property: &str) -> Option<Shape> {
    BINDINGS
        .iter()
        .find(|(name, _)| name.matches(property))
        .map(|&(_, shape)| shape)
}

/// Nodes cordon made for the guest tree that have a phandle (fixed clocks
/// standing for kept ones), by phandle, with their names.
type MadeNodes<'n> = BTreeMap<u32, (&'n str, &'n Node)>;

/// Phandles `value` of property `property` of `node` refers to. Argument
/// counts come from the referenced nodes: `made` ones, or the boot tree's.
fn referenced(
    index: &BootIndex,
    made: &MadeNodes,
    node: &str,
    property: &str,
    value: &[u8],
    shape: Shape,
) -> Result<Vec<u32>, GuestDtError> {
    let malformed = || GuestDtError::MalformedProperty {
        node: node.into(),
        property: property.into(),
    };
    let cells = to_cells(value).ok_or_else(malformed)?;
    let Shape::WithArgs {
        cells: name,
        optional,
    } = shape
    else {
        return Ok(cells);
    };
    let mut phandles = Vec::new();
    let mut at = 0;
    while let Some(&phandle) = cells.get(at) {
        at += 1;
        // Phandle 0 leaves a hole in a list (e.g. an absent GPIO): no arguments.
        if phandle == 0 {
            continue;
        }
        let (provider, provider_cells) = match made.get(&phandle) {
            Some(&(made_name, made_node)) => (
                String::from(made_name),
                made_node
                    .property(name)
                    .and_then(to_cells)
                    .and_then(|cells| cells.first().copied()),
            ),
            None => {
                let provider =
                    index
                        .by_phandle(phandle)
                        .ok_or_else(|| GuestDtError::UnknownPhandle {
                            node: node.into(),
                            property: property.into(),
                            phandle,
                        })?;
                (provider.path.clone(), u32_property(provider.node, name))
            }
        };
        let count = match provider_cells {
            Some(count) => count as usize,
            None if optional => 0,
            None => {
                return Err(GuestDtError::MissingCells {
                    node: node.into(),
                    property: property.into(),
                    provider,
                    cells: name,
                });
            }
        };
        at = at
            .checked_add(count)
            .filter(|&end| end <= cells.len())
            .ok_or_else(malformed)?;
        phandles.push(phandle);
    }
    Ok(phandles)
}

/// Paths of the boot nodes whose clocks the boot node at `path` uses.
pub(super) fn clock_providers(index: &BootIndex, path: &str) -> Result<Vec<String>, GuestDtError> {
    let Some(node) = index.find(path) else {
        return Ok(Vec::new());
    };
    let Some(clocks) = node.node.property("clocks") else {
        return Ok(Vec::new());
    };
    let phandles = referenced(
        index,
        &MadeNodes::new(),
        path,
        "clocks",
        clocks.value,
        args(CLOCK_CELLS),
    )?;
    Ok(phandles
        .into_iter()
        .filter_map(|phandle| index.by_phandle(phandle))
        .map(|provider| provider.path.clone())
        .collect())
}

/// The phandles of the nodes of the guest tree under `root`.
pub(super) fn present_phandles(root: &Node) -> Result<BTreeSet<u32>, GuestDtError> {
    let mut present = BTreeSet::new();
    root.walk::<GuestDtError>("/", &mut |_, node| {
        let phandle = node
            .property("phandle")
            .or_else(|| node.property("linux,phandle"));
        if let Some([phandle]) = phandle.and_then(to_cells).as_deref() {
            present.insert(*phandle);
        }
        Ok(())
    })?;
    Ok(present)
}

/// Checks that every phandle in the guest tree under `root` refers to a node
/// of the guest tree.
pub(super) fn check(index: &BootIndex, root: &Node) -> Result<(), GuestDtError> {
    let present = present_phandles(root)?;
    let made: MadeNodes = root
        .children
        .iter()
        .filter(|child| child.origin == Origin::Cordon)
        .filter_map(
            |child| match child.property("phandle").and_then(to_cells).as_deref() {
                Some(&[phandle]) => Some((phandle, (child.name.as_str(), child))),
                _ => None,
            },
        )
        .collect();
    root.walk("/", &mut |path, node| {
        for property in &node.properties {
            let Some(shape) = shape_of(&property.name) else {
                continue;
            };
            if let Shape::Unsupported = shape {
                return Err(GuestDtError::UnsupportedProperty {
                    node: path.into(),
                    property: property.name.clone(),
                });
            }
            let phandles = referenced(index, &made, path, &property.name, &property.value, shape)?;
            for phandle in phandles {
                if phandle == 0 || present.contains(&phandle) {
                    continue;
                }
                let target =
                    index
                        .by_phandle(phandle)
                        .ok_or_else(|| GuestDtError::UnknownPhandle {
                            node: path.into(),
                            property: property.name.clone(),
                            phandle,
                        })?;
                return Err(GuestDtError::DanglingPhandle {
                    node: path.into(),
                    property: property.name.clone(),
                    phandle,
                    target: target.path.clone(),
                });
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognised_names() {
        for name in [
            "clocks",
            "interrupt-parent",
            "reset-gpios",
            "enable-gpio",
            "gpios",
            "vdd-supply",
            "mmc-pwrseq",
            "pinctrl-0",
            "pinctrl-12",
            "interrupt-map",
        ] {
            assert!(shape_of(name).is_some(), "{name}");
        }
        for name in [
            "clock-names",
            "pinctrl-names",
            "pinctrl-",
            "gpio-controller",
            "#gpio-cells",
            "-gpios",
            "interrupts",
            "interrupt-map-mask",
            "phandle",
            "linux,phandle",
        ] {
            assert!(shape_of(name).is_none(), "{name}");
        }
    }
}
