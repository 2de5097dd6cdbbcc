//! Finding the management region in the device tree Linux exposes under
//! `/proc/device-tree`: the `reserved-memory` child compatible with
//! `cordon,management`; its `reg` is the region, the doorbell page follows.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use cordon_abi::{DOORBELL_SIZE, REGION_SIZE};

use crate::error::Error;

/// Where Linux shows the device tree it booted with.
pub const PROC_DEVICE_TREE: &str = "/proc/device-tree";
/// The node's `compatible` string.
pub const COMPATIBLE: &str = "cordon,management";
const RESERVED_MEMORY: &str = "reserved-memory";
/// Bytes of one device-tree cell.
const CELL_SIZE: usize = 4;
/// Most cells an address or size has that fits 64 bits.
const MAX_CELLS: u32 = 2;

/// Physical addresses of the region and its doorbell page.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Location {
    pub region: u64,
    pub doorbell: u64,
}

/// Looks in the device tree at `root` (normally [`PROC_DEVICE_TREE`]).
pub fn find(root: &Path) -> Result<Location, Error> {
    let parent = root.join(RESERVED_MEMORY);
    let no_region = || Error::NoRegion {
        searched: parent.clone(),
    };
    let entries = match fs::read_dir(&parent) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Err(no_region()),
        Err(error) => {
            return Err(Error::io(
                format!("cannot list {}", parent.display()),
                error,
            ));
        }
    };
    let mut nodes: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_dir())
        .collect();
    nodes.sort();
    let node = nodes
        .into_iter()
        .find(|node| fs::read(node.join("compatible")).is_ok_and(|c| is_cordon(&c)))
        .ok_or_else(no_region)?;
    let address_cells = cells(&parent.join("#address-cells"))?;
    let size_cells = cells(&parent.join("#size-cells"))?;
    let reg_path = node.join("reg");
    let reg = read(&reg_path)?;
    let (region, size) =
        parse_reg(&reg, address_cells, size_cells).map_err(|problem| Error::DeviceTree {
            path: reg_path.clone(),
            problem,
        })?;
    if size != REGION_SIZE as u64 {
        return Err(Error::RegionSize { size });
    }
    let doorbell = region
        .checked_add(size)
        .filter(|end| end.checked_add(DOORBELL_SIZE as u64).is_some())
        .ok_or_else(|| Error::DeviceTree {
            path: reg_path,
            problem: format!("the region at {region:#x} leaves no room for its doorbell"),
        })?;
    Ok(Location { region, doorbell })
}

/// Whether a `compatible` property (NUL-separated strings) lists cordon's.
fn is_cordon(compatible: &[u8]) -> bool {
    compatible
        .split(|&b| b == 0)
        .any(|name| name == COMPATIBLE.as_bytes())
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    fs::read(path).map_err(|error| Error::io(format!("cannot read {}", path.display()), error))
}

/// A `#address-cells` or `#size-cells` property.
fn cells(path: &Path) -> Result<u32, Error> {
    let bytes = read(path)?;
    let bad = |problem: String| Error::DeviceTree {
        path: path.to_owned(),
        problem,
    };
    let cells = <[u8; CELL_SIZE]>::try_from(bytes.as_slice())
        .map(u32::from_be_bytes)
        .map_err(|_| bad(format!("{} bytes, not one cell", bytes.len())))?;
    if (1..=MAX_CELLS).contains(&cells) {
        Ok(cells)
    } else {
        Err(bad(format!("{cells} cells; 1 or 2 expected")))
    }
}

/// The first (address, size) pair of a `reg` property.
fn parse_reg(reg: &[u8], address_cells: u32, size_cells: u32) -> Result<(u64, u64), String> {
    let address_len = address_cells as usize * CELL_SIZE;
    let size_len = size_cells as usize * CELL_SIZE;
    if reg.len() < address_len + size_len {
        return Err(format!(
            "{} bytes, too short for an address of {address_cells} and a size of {size_cells} \
             cells",
            reg.len()
        ));
    }
    let (address, rest) = reg.split_at(address_len);
    Ok((number(address), number(&rest[..size_len])))
}

/// Big-endian cells as one number (at most [`MAX_CELLS`] of them).
fn number(cells: &[u8]) -> u64 {
    cells
        .iter()
        .fold(0, |value, &byte| (value << u8::BITS) | u64::from(byte))
}

#[cfg(test)]
mod tests;
