//! Moving the initrd of a built device tree: a VM whose images are replaced
//! through the management interface keeps its tree, but its initrd may go
//! elsewhere (after a kernel of another size). `/chosen` already holds
//! `linux,initrd-start` and `linux,initrd-end` as 64-bit values, so the
//! values are overwritten in place and nothing else of the blob changes.

use core::fmt;
use core::ops::Range;

/// The flattened device tree's magic number (its first word).
const FDT_MAGIC: u32 = 0xd00d_feed;
/// Header fields, as offsets of big-endian 32-bit words.
const HEADER_MAGIC: usize = 0;
const HEADER_TOTAL_SIZE: usize = 4;
const HEADER_STRUCT_OFFSET: usize = 8;
const HEADER_STRINGS_OFFSET: usize = 12;
const HEADER_STRUCT_SIZE: usize = 36;
const HEADER_LEN: usize = 40;
/// Structure block tokens.
const FDT_BEGIN_NODE: u32 = 1;
const FDT_END_NODE: u32 = 2;
const FDT_PROP: u32 = 3;
const FDT_NOP: u32 = 4;
const FDT_END: u32 = 9;
/// Tokens, names and values are padded to this.
const TOKEN_ALIGN: usize = 4;
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
    if dtb.len() < HEADER_LEN || word(dtb, HEADER_MAGIC)? != FDT_MAGIC {
        return Err(InitrdPatchError::NotADeviceTree);
    }
    let total = (word(dtb, HEADER_TOTAL_SIZE)? as usize).min(dtb.len());
    let blob = &dtb[..total];
    let structure_at = word(blob, HEADER_STRUCT_OFFSET)? as usize;
    let structure_len = word(blob, HEADER_STRUCT_SIZE)? as usize;
    let strings_at = word(blob, HEADER_STRINGS_OFFSET)? as usize;
    let structure_end = structure_at
        .checked_add(structure_len)
        .filter(|&end| end <= blob.len())
        .ok_or(InitrdPatchError::Truncated)?;

    let mut start = None;
    let mut end = None;
    let mut depth = 0usize;
    // The depth of `/chosen`'s own properties while inside it.
    let mut chosen_depth = None;
    let mut at = structure_at;
    while at < structure_end {
        let token = word(blob, at)?;
        at += TOKEN_ALIGN;
        match token {
            FDT_BEGIN_NODE => {
                let name = c_string(blob, at)?;
                at += padded(name.len() + 1);
                depth += 1;
                if depth == 2 && name == CHOSEN {
                    chosen_depth = Some(depth);
                }
            }
            FDT_END_NODE => {
                if chosen_depth == Some(depth) {
                    chosen_depth = None;
                }
                depth = depth.saturating_sub(1);
            }
            FDT_PROP => {
                let len = word(blob, at)? as usize;
                let name_offset = word(blob, at + TOKEN_ALIGN)? as usize;
                let value_at = at + 2 * TOKEN_ALIGN;
                let value = value_at..value_at + len;
                if value.end > structure_end {
                    return Err(InitrdPatchError::Truncated);
                }
                at = value_at + padded(len);
                if chosen_depth == Some(depth) && len == ADDRESS_LEN {
                    let name_at = strings_at
                        .checked_add(name_offset)
                        .ok_or(InitrdPatchError::Truncated)?;
                    match c_string(blob, name_at)? {
                        INITRD_START => start = Some(value),
                        INITRD_END => end = Some(value),
                        _ => {}
                    }
                }
            }
            FDT_NOP => {}
            FDT_END => break,
            token => {
                return Err(InitrdPatchError::UnknownToken {
                    token,
                    at: at - TOKEN_ALIGN - structure_at,
                });
            }
        }
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

/// The big-endian word at `at`.
fn word(blob: &[u8], at: usize) -> Result<u32, InitrdPatchError> {
    let bytes = blob
        .get(
            at..at
                .checked_add(TOKEN_ALIGN)
                .ok_or(InitrdPatchError::Truncated)?,
        )
        .ok_or(InitrdPatchError::Truncated)?;
    Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// The zero-terminated string at `at`, without its terminator.
fn c_string(blob: &[u8], at: usize) -> Result<&[u8], InitrdPatchError> {
    let rest = blob.get(at..).ok_or(InitrdPatchError::Truncated)?;
    let len = rest
        .iter()
        .position(|&b| b == 0)
        .ok_or(InitrdPatchError::Truncated)?;
    Ok(&rest[..len])
}

fn padded(len: usize) -> usize {
    len.next_multiple_of(TOKEN_ALIGN)
}
