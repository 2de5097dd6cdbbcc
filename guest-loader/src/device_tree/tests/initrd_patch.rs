//! Moving the initrd of a built guest tree in place.

use fdt::Fdt;

use super::{cells, guest, node, qemu_virt, virt_vm};
use crate::device_tree::{InitrdPatchError, VmDescription, set_initrd};

fn with_initrd() -> Vec<u8> {
    let vm = VmDescription {
        initrd: Some((0x4800_0000, 0x4900_0000)),
        ..virt_vm(&[])
    };
    guest(&qemu_virt(), &vm)
}

#[test]
fn moves_the_initrd_and_changes_nothing_else() {
    let before = with_initrd();
    let mut after = before.clone();
    set_initrd(&mut after, 0x1_2345_6000..0x1_2400_0000).unwrap();
    let fdt = Fdt::new(&after).unwrap();
    let chosen = node(&fdt, "/chosen");
    assert_eq!(cells(chosen, "linux,initrd-start"), [0x1, 0x2345_6000]);
    assert_eq!(cells(chosen, "linux,initrd-end"), [0x1, 0x2400_0000]);
    assert_eq!(
        fdt.chosen().bootargs(),
        Some("console=ttyAMA0 root=/dev/vda")
    );
    let changed = before.iter().zip(&after).filter(|(a, b)| a != b).count();
    assert!(
        changed <= 16,
        "{changed} bytes changed, two u64 values at most"
    );
}

#[test]
fn a_tree_without_an_initrd_is_left_alone() {
    let before = guest(&qemu_virt(), &virt_vm(&[]));
    let mut after = before.clone();
    assert_eq!(
        set_initrd(&mut after, 0x4800_0000..0x4900_0000),
        Err(InitrdPatchError::NoInitrdProperty {
            name: "linux,initrd-start"
        })
    );
    assert_eq!(before, after);
}

#[test]
fn a_broken_blob_is_refused_unchanged() {
    let mut not_a_tree = vec![0u8; 64];
    assert_eq!(
        set_initrd(&mut not_a_tree, 0..1),
        Err(InitrdPatchError::NotADeviceTree)
    );
    // Cut the structure block short: the walk must not run past the end.
    let mut truncated = with_initrd();
    truncated.truncate(truncated.len() / 2);
    let copy = truncated.clone();
    assert!(set_initrd(&mut truncated, 0..1).is_err());
    assert_eq!(copy, truncated);
    // A token the format does not have.
    let mut bad_token = with_initrd();
    let structure = u32::from_be_bytes(bad_token[8..12].try_into().unwrap()) as usize;
    bad_token[structure..structure + 4].copy_from_slice(&7u32.to_be_bytes());
    assert_eq!(
        set_initrd(&mut bad_token, 0..1),
        Err(InitrdPatchError::UnknownToken { token: 7, at: 0 })
    );
}
