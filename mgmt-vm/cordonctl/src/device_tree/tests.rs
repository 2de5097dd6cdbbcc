use std::fs;

use super::{Location, find, parse_reg};
use crate::error::Error;
use crate::fake::TempDir;

/// A `/proc/device-tree` with a `reserved-memory` node of two cells per
/// address and size, holding `nodes` (name, compatible, reg).
fn tree(test: &str, nodes: &[(&str, &[u8], &[u8])]) -> TempDir {
    let dir = TempDir::new(test);
    let parent = dir.0.join("reserved-memory");
    fs::create_dir_all(&parent).unwrap();
    fs::write(parent.join("#address-cells"), 2u32.to_be_bytes()).unwrap();
    fs::write(parent.join("#size-cells"), 2u32.to_be_bytes()).unwrap();
    for (name, compatible, reg) in nodes {
        let node = parent.join(name);
        fs::create_dir_all(&node).unwrap();
        fs::write(node.join("compatible"), compatible).unwrap();
        fs::write(node.join("reg"), reg).unwrap();
    }
    dir
}

fn reg(address: u64, size: u64) -> Vec<u8> {
    [address.to_be_bytes(), size.to_be_bytes()].concat()
}

#[test]
fn finds_the_node_compatible_with_cordon() {
    let dir = tree(
        "dt-find",
        &[
            (
                "linux,cma",
                b"shared-dma-pool\0",
                &reg(0x5000_0000, 0x100_0000),
            ),
            (
                "cordon@bfff0000",
                b"vendor,thing\0cordon,management\0",
                &reg(0xbfff_0000, 0x1_0000),
            ),
        ],
    );
    assert_eq!(
        find(&dir.0).unwrap(),
        Location {
            region: 0xbfff_0000,
            doorbell: 0xc000_0000
        }
    );
}

#[test]
fn says_what_is_missing_or_wrong() {
    let empty = TempDir::new("dt-empty");
    assert!(matches!(find(&empty.0), Err(Error::NoRegion { .. })));
    let other = tree(
        "dt-other",
        &[("pool", b"shared-dma-pool\0", &reg(0, 0x1000))],
    );
    assert!(matches!(find(&other.0), Err(Error::NoRegion { .. })));
    let small = tree(
        "dt-small",
        &[("c", b"cordon,management\0", &reg(0x1000, 0x1000))],
    );
    assert!(matches!(
        find(&small.0),
        Err(Error::RegionSize { size: 0x1000 })
    ));
    let short = tree("dt-short", &[("c", b"cordon,management\0", &[0; 12])]);
    let error = find(&short.0).unwrap_err().to_string();
    assert!(error.ends_with("12 bytes, too short for an address of 2 and a size of 2 cells"));
    let top = tree(
        "dt-top",
        &[(
            "c",
            b"cordon,management\0",
            &reg(u64::MAX - 0xffff, 0x1_0000),
        )],
    );
    assert!(matches!(find(&top.0), Err(Error::DeviceTree { .. })));
}

#[test]
fn reads_one_or_two_cells() {
    let one = [0x8000_0000u32.to_be_bytes(), 0x1_0000u32.to_be_bytes()].concat();
    assert_eq!(parse_reg(&one, 1, 1), Ok((0x8000_0000, 0x1_0000)));
    let mixed = [&reg(0x1_2345_6000, 0)[..8], &0x1_0000u32.to_be_bytes()].concat();
    assert_eq!(parse_reg(&mixed, 2, 1), Ok((0x1_2345_6000, 0x1_0000)));
    // A second pair is ignored.
    let two = [reg(0x1000, 0x2000), reg(0x3000, 0x4000)].concat();
    assert_eq!(parse_reg(&two, 2, 2), Ok((0x1000, 0x2000)));
}

#[test]
fn bad_cell_counts() {
    let dir = tree(
        "dt-cells",
        &[("c", b"cordon,management\0", &reg(0, 0x1_0000))],
    );
    let cells = dir.0.join("reserved-memory/#size-cells");
    fs::write(&cells, 3u32.to_be_bytes()).unwrap();
    let error = find(&dir.0).unwrap_err().to_string();
    assert!(error.ends_with("3 cells; 1 or 2 expected"), "{error}");
    fs::write(&cells, [0; 2]).unwrap();
    let error = find(&dir.0).unwrap_err().to_string();
    assert!(error.ends_with("2 bytes, not one cell"), "{error}");
}
