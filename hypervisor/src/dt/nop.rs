//! Removing `FDT_NOP` tokens from a flattened device tree, in place.
//!
//! Loaders delete nodes by overwriting them with NOP tokens (QEMU's
//! `raspi4b` does so for the devices it does not model). The `fdt` crate
//! mis-parses NOPs between sibling nodes, so cordon compacts the structure
//! block before reading it. Only the structure block changes; its size in the
//! header shrinks accordingly.

use cordon_guest_loader::device_tree::blob::{
    FDT_END, FDT_MAGIC, FDT_NOP, HEADER_LEN, HEADER_MAGIC, HEADER_STRUCT_OFFSET,
    HEADER_STRUCT_SIZE, HEADER_TOTAL_SIZE, be32, token_at,
};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NopError {
    /// Too short for a header, or no FDT magic.
    NotADeviceTree,
    /// The structure block lies outside the blob.
    BadStructBlock,
    /// An unknown or truncated token at this offset of the blob.
    BadToken { offset: usize },
}

impl core::fmt::Display for NopError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotADeviceTree => write!(f, "no device-tree header"),
            Self::BadStructBlock => write!(f, "structure block outside the blob"),
            Self::BadToken { offset } => write!(f, "bad structure token at offset {offset:#x}"),
        }
    }
}

/// Total size of the blob at `blob` according to its header, if it has one.
pub fn total_size(blob: &[u8]) -> Option<usize> {
    (be32(blob, HEADER_MAGIC)? == FDT_MAGIC)
        .then(|| be32(blob, HEADER_TOTAL_SIZE).map(|s| s as usize))?
}

/// Drops every NOP token from the structure block; returns how many.
pub fn remove_nops(blob: &mut [u8]) -> Result<usize, NopError> {
    if blob.len() < HEADER_LEN || total_size(blob).is_none() {
        return Err(NopError::NotADeviceTree);
    }
    let start = be32(blob, HEADER_STRUCT_OFFSET).unwrap() as usize;
    let size = be32(blob, HEADER_STRUCT_SIZE).unwrap() as usize;
    let end = start.checked_add(size).ok_or(NopError::BadStructBlock)?;
    let block = blob.get_mut(start..end).ok_or(NopError::BadStructBlock)?;

    let (mut read, mut write, mut removed) = (0, 0, 0);
    loop {
        let (token, len) = token_at(block, read).map_err(|_| NopError::BadToken {
            offset: start + read,
        })?;
        if token == FDT_NOP {
            removed += 1;
        } else {
            block.copy_within(read..read + len, write);
            write += len;
        }
        read += len;
        if token == FDT_END {
            break;
        }
    }
    block[write..].fill(0);
    blob[HEADER_STRUCT_SIZE..HEADER_STRUCT_SIZE + 4].copy_from_slice(&(write as u32).to_be_bytes());
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use fdt::Fdt;

    use super::*;
    use crate::dt::BootInfo;
    use crate::dt::tests::virt_like_dtb;
    use cordon_guest_loader::device_tree::blob::{FDT_BEGIN_NODE, FDT_END_NODE};

    /// Overwrites the node named `name` with NOP tokens, as libfdt's
    /// `fdt_nop_node` does; returns how many tokens that took.
    fn nop_node(blob: &mut [u8], name: &str) -> usize {
        let start = be32(blob, HEADER_STRUCT_OFFSET).unwrap() as usize;
        let size = be32(blob, HEADER_STRUCT_SIZE).unwrap() as usize;
        let block = &mut blob[start..start + size];
        let (mut at, mut node_start, mut depth) = (0, None, 0);
        loop {
            let (token, len) = token_at(block, at).unwrap();
            match token {
                FDT_BEGIN_NODE if node_start.is_none() => {
                    let node_name = &block[at + 4..at + 4 + name.len() + 1];
                    if node_name == [name.as_bytes(), &[0]].concat() {
                        node_start = Some(at);
                        depth = 0;
                    }
                }
                FDT_BEGIN_NODE => depth += 1,
                FDT_END_NODE if node_start.is_some() && depth == 0 => {
                    let from = node_start.unwrap();
                    for word in block[from..at + len].chunks_mut(4) {
                        word.copy_from_slice(&FDT_NOP.to_be_bytes());
                    }
                    return (at + len - from) / 4;
                }
                FDT_END_NODE if node_start.is_some() => depth -= 1,
                FDT_END => panic!("no node {name}"),
                _ => {}
            }
            at += len;
        }
    }

    #[test]
    fn nopped_node_between_siblings_disappears() {
        let mut blob = virt_like_dtb();
        let tokens = nop_node(&mut blob, "cpu@2");
        assert!(tokens > 3);
        assert_eq!(remove_nops(&mut blob), Ok(tokens));
        let fdt = Fdt::new(&blob).unwrap();
        let info = BootInfo::parse(&fdt).unwrap();
        let mpidrs: Vec<_> = info.cpus.iter().map(|c| c.mpidr).collect();
        assert_eq!(mpidrs, [0, 1, 3]);
        assert!(fdt.find_node("/pl011@9000000").is_some());
        drop(info);
        assert_eq!(remove_nops(&mut blob), Ok(0), "idempotent");
    }

    #[test]
    fn garbage_is_refused() {
        assert_eq!(remove_nops(&mut [0u8; 64]), Err(NopError::NotADeviceTree));
        let mut blob = virt_like_dtb();
        let start = be32(&blob, HEADER_STRUCT_OFFSET).unwrap() as usize;
        blob[start..start + 4].copy_from_slice(&7u32.to_be_bytes());
        assert_eq!(
            remove_nops(&mut blob),
            Err(NopError::BadToken { offset: start })
        );
        let mut blob = virt_like_dtb();
        blob[HEADER_STRUCT_SIZE..HEADER_STRUCT_SIZE + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(remove_nops(&mut blob), Err(NopError::BadStructBlock));
    }
}
