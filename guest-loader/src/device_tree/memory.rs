//! The VM's RAM, as `/memory@<ipa>` nodes.

use alloc::format;
use alloc::vec::Vec;

use super::tree::{Node, Origin};
use super::{GuestDtError, GuestMemory};

/// One memory node per range of `memory`, in the order given.
pub(super) fn nodes(memory: &[GuestMemory]) -> Result<Vec<Node>, GuestDtError> {
    check(memory)?;
    Ok(memory
        .iter()
        .map(|range| {
            Node::new(&format!("memory@{:x}", range.ipa), Origin::Cordon)
                .with_strings("device_type", &["memory"])
                .with_u64s("reg", &[range.ipa, range.size])
        })
        .collect())
}

/// The VM has RAM; every range is non-empty, inside the address space and
/// apart from the others.
fn check(memory: &[GuestMemory]) -> Result<(), GuestDtError> {
    if memory.is_empty() {
        return Err(GuestDtError::NoMemory);
    }
    if let Some(bad) = memory.iter().find(|r| r.size == 0 || r.end().is_none()) {
        return Err(GuestDtError::BadMemory {
            ipa: bad.ipa,
            size: bad.size,
        });
    }
    let mut sorted = memory.to_vec();
    sorted.sort_by_key(|range| range.ipa);
    for pair in sorted.windows(2) {
        if pair[0].end().is_some_and(|end| end > pair[1].ipa) {
            return Err(GuestDtError::OverlappingMemory {
                first: pair[0].ipa,
                second: pair[1].ipa,
            });
        }
    }
    Ok(())
}
