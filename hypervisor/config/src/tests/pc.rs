//! Level 2 for x86-pc: a PC with 2 CPUs and 255 MiB of free RAM, the
//! Linux management VM with the legacy devices it needs beside a
//! bare-metal heartbeat.

use alloc::vec;

use super::*;
use crate::{MIB, PcFacts};

const MGMT_AND_HEARTBEAT: &str = r#"
board = "x86-pc"

[[vm]]
name = "mgmt"
role = "management"
cpus = [0]
memory = { size = "128M" }
devices = ["/isa/serial@3f8", "/isa/pic@20", "/isa/pit@40", "/isa/rtc@70"]
console = false
[vm.image]
kind = "linux"
kernel = "bzImage"
initrd = "initramfs.cpio.gz"
bootargs = "console=ttyS0"

[[vm]]
name = "beat"
role = "workload"
cpus = [1]
memory = { size = "2M" }
console = false
restart = "always"
[vm.image]
kind = "bare-metal"
kernel = "x86-heartbeat.bin"
"#;

fn pc() -> PcFacts {
    PcFacts {
        cpus: 2,
        ram: core::iter::once(MIB..256 * MIB).collect(),
    }
}

fn config() -> Config {
    Config::from_toml(MGMT_AND_HEARTBEAT).expect("the test config parses")
}

/// The config with `edit` applied to VM `index`.
fn with_vm(index: usize, edit: impl FnOnce(&mut crate::VmConfig)) -> Config {
    let mut config = config();
    edit(&mut config.vms[index]);
    config
}

#[test]
fn the_management_vm_beside_a_heartbeat_fits_a_two_cpu_pc() {
    let config = config();
    assert_eq!(messages(config.errors()), Vec::<String>::new());
    assert_eq!(messages(config.pc_errors(&pc())), Vec::<String>::new());
}

#[test]
fn a_cpu_the_pc_lacks_is_named() {
    let config = with_vm(1, |vm| vm.cpus = vec![2]);
    assert_only(
        config.pc_errors(&pc()),
        "VM \"beat\": cpus: CPU 2 does not exist: the board has 2 (0 to 1)",
    );
}

#[test]
fn an_unknown_device_is_named_with_the_ones_there_are() {
    let config = with_vm(1, |vm| vm.devices = vec!["/isa/serial@3e8".into()]);
    assert_only(
        config.pc_errors(&pc()),
        "VM \"beat\": devices: /isa/serial@3e8 is not a device of x86-pc; it has \
         /isa/serial@3f8, /isa/serial@2f8, /isa/pic@20, /isa/pit@40, /isa/speaker@61, \
         /isa/rtc@70",
    );
}

#[test]
fn a_port_two_vms_own_is_named_with_both_devices() {
    let config = with_vm(1, |vm| vm.devices = vec!["/isa/speaker@61".into()]);
    assert_only(
        config.pc_errors(&pc()),
        "VM \"beat\": devices: I/O port 0x61 of /isa/speaker@61 is also given to VM \"mgmt\" \
         (through /isa/pit@40)",
    );
}

#[test]
fn the_same_device_in_two_vms_is_a_level_one_error() {
    let config = with_vm(1, |vm| vm.devices = vec!["/isa/serial@3f8".into()]);
    assert_only(
        config.errors(),
        "VM \"beat\": devices: /isa/serial@3f8 is also given to VM \"mgmt\"",
    );
}

#[test]
fn a_device_whose_interrupts_would_reach_the_pic_owner_is_refused() {
    let config = with_vm(1, |vm| vm.devices = vec!["/isa/serial@2f8".into()]);
    assert_only(
        config.pc_errors(&pc()),
        "VM \"beat\": devices: /isa/serial@2f8 interrupts on IRQ 3 of the PIC (/isa/pic@20), \
         which VM \"mgmt\" owns: its interrupts would go there; give both to one VM",
    );
    // Without a PIC owner, the line stays masked: the device is polled.
    let mut config = config;
    config.vms[0].devices.retain(|path| path != crate::PIC);
    assert_eq!(messages(config.pc_errors(&pc())), Vec::<String>::new());
}

#[test]
fn what_x86_pc_vms_lack_is_refused_field_by_field() {
    let config = with_vm(1, |vm| {
        vm.cpus = vec![0, 1];
        vm.console = true;
        vm.memory.identity = true;
        vm.trap_wait = true;
        vm.dma_trusted = true;
        vm.image.bootargs = "x".repeat(2048);
    });
    let errors = messages(config.pc_errors(&pc()));
    let fields = [
        "cpus",
        "console",
        "memory.identity",
        "trap-wait",
        "dma-trusted",
        "image.bootargs",
    ];
    for field in fields {
        let prefix = format!("VM \"beat\": {field}: ");
        assert!(
            errors.iter().any(|error| error.starts_with(&prefix)),
            "no {field} error in {errors:?}"
        );
    }
}

#[test]
fn memory_the_pc_lacks_is_refused() {
    let config = with_vm(0, |vm| vm.memory.size = 512 * MIB);
    assert_eq!(
        messages(config.pc_errors(&pc())),
        [
            "VM \"mgmt\": memory.size: 512 MiB does not fit: the largest free piece of the \
             board's RAM is 254 MiB",
            "VM \"mgmt\": memory.size: the VMs and channels up to here need 512 MiB, the \
             board has 254 MiB of free RAM",
        ]
    );
}

#[test]
fn a_pc_without_cpus_or_ram_cannot_be_checked_against() {
    let config = config();
    let no_cpus = PcFacts { cpus: 0, ..pc() };
    assert_only(config.pc_errors(&no_cpus), "board: the PC has no CPUs");
    let no_ram = PcFacts {
        ram: vec![],
        ..pc()
    };
    assert_only(
        config.pc_errors(&no_ram),
        "board: the PC has no free RAM for VMs",
    );
}
