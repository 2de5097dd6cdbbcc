//! The flattened device tree's binary layout, for code that walks or edits
//! a blob in place (cordon's removal of `FDT_NOP` tokens, moving a guest
//! tree's initrd): the header's fields and the structure block's tokens.

/// The header's first word.
pub const FDT_MAGIC: u32 = 0xd00d_feed;
/// Header fields, as byte offsets of big-endian 32-bit words.
pub const HEADER_MAGIC: usize = 0;
pub const HEADER_TOTAL_SIZE: usize = 4;
pub const HEADER_STRUCT_OFFSET: usize = 8;
pub const HEADER_STRINGS_OFFSET: usize = 12;
pub const HEADER_STRUCT_SIZE: usize = 36;
/// Bytes of the header (version 17).
pub const HEADER_LEN: usize = 40;
/// Structure block tokens.
pub const FDT_BEGIN_NODE: u32 = 1;
pub const FDT_END_NODE: u32 = 2;
pub const FDT_PROP: u32 = 3;
pub const FDT_NOP: u32 = 4;
pub const FDT_END: u32 = 9;
/// Tokens, node names and property values are padded to this.
pub const TOKEN_SIZE: usize = 4;
/// A property token is followed by its value's length and name offset.
pub const PROP_HEADER_SIZE: usize = 3 * TOKEN_SIZE;

/// The big-endian word at `at`, if the blob holds it.
pub fn be32(blob: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(
        blob.get(at..at.checked_add(TOKEN_SIZE)?)?.try_into().ok()?,
    ))
}

/// Why there is no token to take at an offset of a structure block.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BadToken {
    /// A word that is not a token.
    Unknown(u32),
    /// The token or its payload runs past the end of the block.
    Truncated,
}

/// The token at `at` of `block` and its size with its payload (a node's
/// name, a property's header and value), padded.
pub fn token_at(block: &[u8], at: usize) -> Result<(u32, usize), BadToken> {
    let token = be32(block, at).ok_or(BadToken::Truncated)?;
    let size = match token {
        FDT_BEGIN_NODE => c_string(block, at + TOKEN_SIZE)
            .map(|name| TOKEN_SIZE + (name.len() + 1).next_multiple_of(TOKEN_SIZE)),
        FDT_PROP => be32(block, at + TOKEN_SIZE).and_then(|len| {
            PROP_HEADER_SIZE.checked_add((len as usize).next_multiple_of(TOKEN_SIZE))
        }),
        FDT_END_NODE | FDT_NOP | FDT_END => Some(TOKEN_SIZE),
        _ => return Err(BadToken::Unknown(token)),
    };
    size.filter(|&size| at.checked_add(size).is_some_and(|end| end <= block.len()))
        .map(|size| (token, size))
        .ok_or(BadToken::Truncated)
}

/// The zero-terminated string at `at` of `blob`, without its terminator.
pub fn c_string(blob: &[u8], at: usize) -> Option<&[u8]> {
    let rest = blob.get(at..)?;
    Some(&rest[..rest.iter().position(|&b| b == 0)?])
}
