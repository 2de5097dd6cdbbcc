//! Addresses of top-level nodes, re-encoded for the guest root's cell sizes.
//!
//! The guest tree's root always has 2 address and 2 size cells. A boot tree
//! whose root has fewer (RPi4: 1 size cell) encodes the `reg` of top-level
//! nodes, and the parent half of top-level buses' `ranges`, with those
//! fewer cells; copied nodes are widened to match.

use alloc::vec::Vec;

use fdt::node::CellSizes;

use super::GuestDtError;
use super::boot::CELL_SIZE;

pub(super) const GUEST_ROOT_ADDRESS_CELLS: usize = 2;
pub(super) const GUEST_ROOT_SIZE_CELLS: usize = 2;

/// One field of a property entry: cells in the boot tree, cells in the guest's.
type Field = (usize, usize);

/// `value` of property `property` of a node directly under the root, as the
/// guest root's cell sizes need it. `root` is the boot root's cell sizes,
/// `own` the node's (for the child half of `ranges`).
pub(super) fn adapt_top_level(
    node: &str,
    property: &str,
    value: &[u8],
    root: CellSizes,
    own: CellSizes,
) -> Result<Vec<u8>, GuestDtError> {
    let fields: &[Field] = match property {
        "reg" => &[
            (root.address_cells, GUEST_ROOT_ADDRESS_CELLS),
            (root.size_cells, GUEST_ROOT_SIZE_CELLS),
        ],
        "ranges" | "dma-ranges" => &[
            (own.address_cells, own.address_cells),
            (root.address_cells, GUEST_ROOT_ADDRESS_CELLS),
            (own.size_cells, own.size_cells),
        ],
        _ => return Ok(value.to_vec()),
    };
    recode(value, fields).ok_or_else(|| GuestDtError::UnsupportedCells {
        node: node.into(),
        property: property.into(),
    })
}

/// Re-encodes every entry of `value`, field by field. `None` if the value is
/// not a whole number of entries or a field does not fit its new width.
fn recode(value: &[u8], fields: &[Field]) -> Option<Vec<u8>> {
    let stride: usize = fields.iter().map(|&(from, _)| from * CELL_SIZE).sum();
    if stride == 0 {
        return value.is_empty().then(Vec::new);
    }
    if !value.len().is_multiple_of(stride) {
        return None;
    }
    let mut out = Vec::with_capacity(value.len());
    for entry in value.chunks_exact(stride) {
        let mut rest = entry;
        for &(from, to) in fields {
            let (field, tail) = rest.split_at(from * CELL_SIZE);
            rest = tail;
            if to >= from {
                out.resize(out.len() + (to - from) * CELL_SIZE, 0);
                out.extend_from_slice(field);
            } else {
                let (high, low) = field.split_at((from - to) * CELL_SIZE);
                if high.iter().any(|&byte| byte != 0) {
                    return None;
                }
                out.extend_from_slice(low);
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(values: &[u32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_be_bytes()).collect()
    }

    const RPI4_ROOT: CellSizes = CellSizes {
        address_cells: 2,
        size_cells: 1,
    };
    const BUS: CellSizes = CellSizes {
        address_cells: 1,
        size_cells: 1,
    };

    #[test]
    fn reg_sizes_widen_to_two_cells() {
        let reg = cells(&[0, 0xfe10_0000, 0x114, 0, 0xfe20_0000, 0x40]);
        assert_eq!(
            adapt_top_level("/wdt", "reg", &reg, RPI4_ROOT, BUS),
            Ok(cells(&[0, 0xfe10_0000, 0, 0x114, 0, 0xfe20_0000, 0, 0x40]))
        );
    }

    #[test]
    fn ranges_widen_only_the_parent_address() {
        let narrow_root = CellSizes {
            address_cells: 1,
            size_cells: 1,
        };
        let ranges = cells(&[0x7e00_0000, 0xfe00_0000, 0x180_0000]);
        assert_eq!(
            adapt_top_level("/soc", "ranges", &ranges, narrow_root, BUS),
            Ok(cells(&[0x7e00_0000, 0, 0xfe00_0000, 0x180_0000]))
        );
        assert_eq!(
            adapt_top_level("/soc", "ranges", &[], narrow_root, BUS),
            Ok(Vec::new()),
            "an empty ranges is an identity mapping"
        );
    }

    #[test]
    fn other_properties_and_matching_cells_are_unchanged() {
        let value = cells(&[1, 2, 3]);
        assert_eq!(
            adapt_top_level("/x", "interrupts", &value, RPI4_ROOT, BUS),
            Ok(value)
        );
        let guest_shaped = CellSizes {
            address_cells: 2,
            size_cells: 2,
        };
        let reg = cells(&[0, 0x900_0000, 0, 0x1000]);
        assert_eq!(
            adapt_top_level("/x", "reg", &reg, guest_shaped, BUS),
            Ok(reg)
        );
    }

    #[test]
    fn values_that_do_not_fit_are_refused() {
        let wide_root = CellSizes {
            address_cells: 3,
            size_cells: 2,
        };
        let reg = cells(&[1, 0, 0x1000, 0, 0x1000]);
        assert_eq!(
            adapt_top_level("/x", "reg", &reg, wide_root, BUS),
            Err(GuestDtError::UnsupportedCells {
                node: "/x".into(),
                property: "reg".into()
            })
        );
        let truncated = cells(&[0, 0x1000]);
        assert!(adapt_top_level("/x", "reg", &truncated, RPI4_ROOT, BUS).is_err());
        let zero_cells = CellSizes {
            address_cells: 0,
            size_cells: 0,
        };
        assert_eq!(recode(&[], &[(0, 2)]), Some(Vec::new()));
        assert!(adapt_top_level("/x", "reg", &[0; 4], zero_cells, BUS).is_err());
    }
}
