//! Moving the initrd of a built device tree: a VM whose images are replaced
//! through the management interface keeps its tree, but its initrd may go
//! elsewhere (after a kernel of another size). `/chosen` already holds
//! `linux,initrd-start` and `linux,initrd-end` as 64-bit values, so the
//! values are overwritten in place and nothing else of the blob changes.

use core::fmt;
use core::ops::Range;

use super::blob::{
    BadToken, FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_MAGIC, FDT_PROP, HEADER_LEN, HEADER_MAGIC,
    HEADER_STRINGS_OFFSET, HEADER_STRUCT_OFFSET, HEADER_STRUCT_SIZE, HEADER_TOTAL_SIZE,
    PROP_HEADER_SIZE, TOKEN_SIZE, be32, c_string, token_at,
};

/// The node under the root that holds the properties.
const CHOSEN: &[u8] = b"chosen";
const INITRD_START: &[u8] = b"linux,initrd-start";
const INITRD_END: &[u8] = b"linux,initrd-end";
/// Size of the values written: one 64-bit address each.
const ADDRESS_LEN: usize = 8;

/// Why the initrd could not be moved.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum InitrdPatchError {
    /// The blob does not start with a device tree header.
    NotADeviceTree,
    /// A header offset or a token runs past the blob's end.
    Truncated,
    /// A token the format does not have, at this offset of the structure.
    UnknownToken { token: u32, at: usize },
    /// `/chosen` has no such property, or it is not 64 bits.
    NoInitrdProperty { name: &'static str },
}

impl fmt::Display for InitrdPatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotADeviceTree => f.write_str("not a flattened device tree"),
            Self::Truncated => f.write_str("the device tree is truncated"),
            Self::UnknownToken { token, at } => {
                write!(f, "unknown token {token:#x} at structure offset {at:#x}")
            }
            Self::NoInitrdProperty { name } => {
                write!(f, "/chosen has no 64-bit {name} property to update")
            }
        }
    }
}

/// Sets `/chosen`'s `linux,initrd-start` and `linux,initrd-end` of `dtb`
/// to `initrd` (guest-physical addresses). Both properties must be there
/// already, as 64-bit values; on error `dtb` is unchanged.
pub fn set_initrd(dtb: &mut [u8], initrd: Range<u64>) -> Result<(), InitrdPatchError> {
    let values = chosen_initrd_values(dtb)?;
    dtb[values.start.clone()].copy_from_slice(&initrd.start.to_be_bytes());
    dtb[values.end.clone()].copy_from_slice(&initrd.end.to_be_bytes());
    Ok(())
}

/// Where in `dtb` the two 64-bit values are.
struct InitrdValues {
    start: Range<usize>,
    end: Range<usize>,
}

fn chosen_initrd_values(dtb: &[u8]) -> Result<InitrdValues, InitrdPatchError> {
    if dtb.len() < HEADER_LEN || be32(dtb, HEADER_MAGIC) != Some(FDT_MAGIC) {
        return Err(InitrdPatchError::NotADeviceTree);
    }
    let header = |field| be32(dtb, field).map(|word| word as usize);
    let total = header(HEADER_TOTAL_SIZE)
        .ok_or(InitrdPatchError::Truncated)?
        .min(dtb.len());
    let blob = &dtb[..total];
    let (structure_at, structure_len, strings_at) = match (
        header(HEADER_STRUCT_OFFSET),
        header(HEADER_STRUCT_SIZE),
        header(HEADER_STRINGS_OFFSET),
    ) {
        (Some(at), Some(len), Some(strings)) => (at, len, strings),
        _ => return Err(InitrdPatchError::Truncated),
    };
    let structure_end = structure_at
        .checked_add(structure_len)
        .filter(|&end| end <= blob.len())
        .ok_or(InitrdPatchError::Truncated)?;
    let structure = &blob[..structure_end];

    let mut start = None;
    let mut end = None;
    let mut depth = 0usize;
    // The depth of `/chosen`'s own properties while inside it.
    let mut chosen_depth = None;
    let mut at = structure_at;
    while at < structure_end {
        let (token, size) = token_at(structure, at).map_err(|bad| match bad {
            BadToken::Unknown(token) => InitrdPatchError::UnknownToken {
                token,
                at: at - structure_at,
            },
            BadToken::Truncated => InitrdPatchError::Truncated,
        })?;
        match token {
            FDT_BEGIN_NODE => {
                depth += 1;
                if depth == 2 && c_string(structure, at + TOKEN_SIZE) == Some(CHOSEN) {
                    chosen_depth = Some(depth);
                }
            }
            FDT_END_NODE => {
                if chosen_depth == Some(depth) {
                    chosen_depth = None;
                }
                depth = depth.saturating_sub(1);
            }
            FDT_PROP if chosen_depth == Some(depth) => {
                // `token_at` checked that the property's header is there.
                let len = be32(structure, at + TOKEN_SIZE).unwrap_or_default() as usize;
                if len == ADDRESS_LEN {
                    let name_offset = be32(structure, at + 2 * TOKEN_SIZE).unwrap_or_default();
                    let name = strings_at
                        .checked_add(name_offset as usize)
                        .and_then(|name_at| c_string(blob, name_at))
                        .ok_or(InitrdPatchError::Truncated)?;
                    let value_at = at + PROP_HEADER_SIZE;
                    match name {
                        INITRD_START => start = Some(value_at..value_at + len),
                        INITRD_END => end = Some(value_at..value_at + len),
                        _ => {}
                    }
                }
            }
            FDT_END => break,
            _ => {}
        }
        at += size;
    }
    Ok(InitrdValues {
        start: start.ok_or(InitrdPatchError::NoInitrdProperty {
            name: "linux,initrd-start",
        })?,
        end: end.ok_or(InitrdPatchError::NoInitrdProperty {
            name: "linux,initrd-end",
        })?,
    })
}
