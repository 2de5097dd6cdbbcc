//! Level 1: one test per problem, each checking the message names the VM
//! (or channel) and the field.

use super::*;
use crate::{MIB, Role};

#[test]
fn names_must_be_short_lowercase_words() {
    for name in ["", "Mgmt", "rt_1", "a-name-that-is-too-long"] {
        let mut config = two_vms();
        config.vms[1].name = name.into();
        config.channels.clear();
        let message =
            alloc::format!("VM \"{name}\": name: must be 1 to 15 characters of a-z, 0-9 and -");
        assert_only(config.errors(), &message);
    }
}

#[test]
fn names_are_unique() {
    let mut config = two_vms();
    config.vms[1].name = "mgmt".into();
    config.channels.clear();
    assert_only(config.errors(), "VM \"mgmt\": name: the name is used twice");
}

#[test]
fn one_management_vm() {
    let mut config = two_vms();
    config.vms[1].role = Role::Management;
    assert_only(
        config.errors(),
        "VM \"rt\": role: VM \"mgmt\" is already the management VM",
    );
    config.vms[0].role = Role::Workload;
    config.vms[1].role = Role::Workload;
    assert_only(config.errors(), "no VM has role = \"management\"");
}

#[test]
fn cpus_are_needed() {
    let mut config = two_vms();
    config.vms[1].cpus.clear();
    assert_only(config.errors(), "VM \"rt\": cpus: no CPU given");
}

#[test]
fn a_cpu_is_listed_once() {
    let mut config = two_vms();
    config.vms[1].cpus = [2, 3, 2].into();
    assert_only(config.errors(), "VM \"rt\": cpus: CPU 2 is listed twice");
}

#[test]
fn a_cpu_belongs_to_one_vm() {
    let mut config = two_vms();
    config.vms[1].cpus = [2, 1].into();
    assert_only(
        config.errors(),
        "VM \"rt\": cpus: CPU 1 is also given to VM \"mgmt\"",
    );
}

#[test]
fn memory_is_not_empty() {
    let mut config = two_vms();
    config.vms[1].memory.size = 0;
    assert_only(config.errors(), "VM \"rt\": memory.size: must not be 0");
}

#[test]
fn memory_comes_in_2_mib_blocks() {
    let mut config = two_vms();
    config.vms[1].memory.size = 65 * MIB;
    assert_only(
        config.errors(),
        "VM \"rt\": memory.size: 65 MiB is not a multiple of 2 MiB",
    );
}

#[test]
fn below_must_leave_room() {
    let mut config = two_vms();
    config.vms[1].memory.below = Some(32 * MIB);
    assert_only(
        config.errors(),
        "VM \"rt\": memory.below: 0x2000000 is lower than the size, 64 MiB",
    );
}

#[test]
fn fixed_addresses_are_aligned() {
    let mut config = two_vms();
    config.vms[1].memory.address = Some(0x8010_0000);
    assert_only(
        config.errors(),
        "VM \"rt\": memory.address: 0x80100000 is not 2 MiB aligned",
    );
}

#[test]
fn fixed_regions_end_in_the_address_space() {
    let mut config = two_vms();
    config.vms[1].memory.address = Some(u64::MAX - (MIB - 1) - MIB);
    assert_only(
        config.errors(),
        "VM \"rt\": memory.address: the region runs past the end of the address space",
    );
}

#[test]
fn fixed_regions_do_not_overlap() {
    let mut config = two_vms();
    config.vms[0].memory.address = Some(0x8000_0000);
    config.vms[1].memory.address = Some(0x9fe0_0000);
    assert_only(
        config.errors(),
        "VM \"rt\": memory.address: overlaps the memory of VM \"mgmt\"",
    );
    config.vms[1].memory.address = Some(0xa000_0000);
    assert_eq!(config.validate(), Ok(()));
}

#[test]
fn fixed_regions_keep_below_their_limit() {
    let mut config = two_vms();
    config.vms[1].memory.address = Some(0x4000_0000);
    config.vms[1].memory.below = Some(0x4200_0000);
    assert_only(
        config.errors(),
        "VM \"rt\": memory.below: the fixed region ends at 0x44000000, above 0x42000000",
    );
}

#[test]
fn devices_are_full_paths() {
    let mut config = two_vms();
    config.vms[1].devices = ["serial0".into()].into();
    assert_only(
        config.errors(),
        "VM \"rt\": devices: \"serial0\" is not a full device-tree path (starting with /)",
    );
}

#[test]
fn a_device_is_listed_once() {
    let mut config = two_vms();
    config.vms[0].devices.push("/virtio_mmio@a003e00".into());
    assert_only(
        config.errors(),
        "VM \"mgmt\": devices: /virtio_mmio@a003e00 is listed twice",
    );
}

#[test]
fn a_device_belongs_to_one_vm() {
    let mut config = two_vms();
    config.vms[1].devices = ["/virtio_mmio@a003e00".into()].into();
    assert_only(
        config.errors(),
        "VM \"rt\": devices: /virtio_mmio@a003e00 is also given to VM \"mgmt\"",
    );
}

/// [`two_vms`] with boot modules at 0x6000_0000, 0x6400_0000, 0x6800_0000.
fn placed() -> Config {
    let mut config = two_vms();
    let mut address = 0x6000_0000;
    for vm in &mut config.vms {
        for module in vm.image.modules_mut() {
            module.address = Some(address);
            address += 64 * MIB;
        }
    }
    config
}

#[test]
fn module_addresses_are_all_given_or_none() {
    assert_eq!(placed().validate(), Ok(()));
    let mut config = placed();
    config.vms[1].image.kernel.address = None;
    assert_only(
        config.errors(),
        "VM \"rt\": image.kernel: has no address, but other boot modules have one: give all \
         or none",
    );
}

#[test]
fn module_addresses_are_page_aligned() {
    let mut config = placed();
    config.vms[0].image.initrd.as_mut().unwrap().address = Some(0x6400_0010);
    assert_only(
        config.errors(),
        "VM \"mgmt\": image.initrd: 0x64000010 is not 4 KiB aligned",
    );
}

#[test]
fn module_addresses_are_distinct() {
    let mut config = placed();
    config.vms[1].image.kernel.address = Some(0x6000_0000);
    assert_only(
        config.errors(),
        "VM \"rt\": image.kernel: 0x60000000 is also where a boot module of VM \"mgmt\" goes",
    );
}

#[test]
fn channel_names_follow_vm_rules() {
    let mut config = two_vms();
    config.channels[0].name = "To RT".into();
    assert_only(
        config.errors(),
        "channel \"To RT\": name: must be 1 to 15 characters of a-z, 0-9 and -",
    );
    let mut config = two_vms();
    config.channels.push(config.channels[0].clone());
    assert_only(
        config.errors(),
        "channel \"mgmt-rt\": name: the name is used twice",
    );
}

#[test]
fn a_channel_joins_two_vms() {
    let mut config = two_vms();
    config.channels[0].vms.truncate(1);
    assert_only(
        config.errors(),
        "channel \"mgmt-rt\": vms: names 1 VMs; a channel joins 2",
    );
}

#[test]
fn a_channel_joins_existing_vms() {
    let mut config = two_vms();
    config.channels[0].vms[1] = "db".into();
    assert_only(
        config.errors(),
        "channel \"mgmt-rt\": vms: there is no VM \"db\"",
    );
}

#[test]
fn a_channel_joins_distinct_vms() {
    let mut config = two_vms();
    config.channels[0].vms[1] = "mgmt".into();
    assert_only(
        config.errors(),
        "channel \"mgmt-rt\": vms: joins VM \"mgmt\" to itself",
    );
}

#[test]
fn channels_come_in_pages() {
    let mut config = two_vms();
    config.channels[0].size = 0;
    assert_only(config.errors(), "channel \"mgmt-rt\": size: must not be 0");
    config.channels[0].size = 6 * 1024;
    assert_only(
        config.errors(),
        "channel \"mgmt-rt\": size: 6 KiB is not a multiple of 4 KiB",
    );
}

#[test]
fn every_problem_is_reported_and_validate_gives_the_first() {
    let mut config = two_vms();
    config.vms[1].cpus = [0].into();
    config.channels[0].size = 100;
    assert_eq!(
        messages(config.errors()),
        [
            "VM \"rt\": cpus: CPU 0 is also given to VM \"mgmt\"",
            "channel \"mgmt-rt\": size: 100 bytes is not a multiple of 4 KiB",
        ]
    );
    assert_eq!(
        config.validate().unwrap_err().to_string(),
        "VM \"rt\": cpus: CPU 0 is also given to VM \"mgmt\""
    );
}
