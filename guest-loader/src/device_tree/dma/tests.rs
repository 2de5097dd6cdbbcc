//! `dma-ranges` composition and device filtering with Debian's real
//! Raspberry Pi 4 device tree (`broadcom/bcm2711-rpi-4-b.dtb` from the
//! generic arm64 kernel package, which `cargo xtask test` fetches).

use alloc::string::String;
use alloc::vec::Vec;
use std::path::PathBuf;

use fdt::Fdt;
use fdt::node::FdtNode;

use super::super::{
    BusDma, FirmwareClock, FirmwareClockRate, GuestDtError, GuestGic, GuestMemory, RamMapping,
    VmDescription,
};
use super::{Shape, bus_address, compose, dma_limit, encode, parse};

/// Where `cargo xtask test` says the DTB is.
const DTB_VAR: &str = "CORDON_RPI4_DTB";
/// Where `cargo xtask` caches it otherwise.
const CACHED_DTB: &str = "../target/cordon/cache/bcm2711-rpi-4-b.dtb";

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
/// The legacy DMA engine, under `/soc` (bus 0xc000_0000 is CPU 0, 1 GiB).
const DMA_ENGINE: &str = "/soc/dma@7e007000";
/// The SD host controller, under `/emmc2bus` (same reach, 2-cell bus).
const EMMC2: &str = "/emmc2bus/mmc@7e340000";
/// `/soc`'s bus address of CPU-physical 0.
const SOC_DMA_BUS_BASE: u64 = 0xc000_0000;
/// Rates as a firmware might report them (QEMU's reports 50 MHz for EMMC).
const EMMC_RATE_HZ: u32 = 50_000_000;
const EMMC2_RATE_HZ: u32 = 100_000_000;
const FIRMWARE_CLOCKS: [FirmwareClockRate; 2] = [
    FirmwareClockRate {
        clock: FirmwareClock::Emmc,
        rate_hz: EMMC_RATE_HZ,
    },
    FirmwareClockRate {
        clock: FirmwareClock::Emmc2,
        rate_hz: EMMC2_RATE_HZ,
    },
];

fn rpi4_dtb() -> Vec<u8> {
    let path = std::env::var_os(DTB_VAR).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(CACHED_DTB),
        PathBuf::from,
    );
    std::fs::read(&path).unwrap_or_else(|err| {
        panic!(
            "reading Debian's RPi4 DTB at {}: {err}; `cargo xtask test` fetches it \
             (or set {DTB_VAR})",
            path.display()
        )
    })
}

fn vm<'a>(devices: &'a [&'a str], memory: &'a [GuestMemory], dma: BusDma<'a>) -> VmDescription<'a> {
    VmDescription {
        vcpus: 1,
        memory,
        devices,
        bootargs: "",
        initrd: None,
        stdout_path: None,
        emulated_console: None,
        gic: GuestGic {
            distributor: 0xff84_1000,
            cpu_interface: 0xff84_2000,
        },
        channels: &[],
        management: None,
        dma,
        firmware_clocks: &FIRMWARE_CLOCKS,
    }
}

/// The guest DTB of a VM owning `devices` whose RAM is `ram`.
fn build(devices: &[&str], ram: &[RamMapping]) -> Result<Vec<u8>, GuestDtError> {
    build_with_clocks(devices, ram, &FIRMWARE_CLOCKS)
}

/// The same, with the firmware having reported `firmware_clocks`.
fn build_with_clocks(
    devices: &[&str],
    ram: &[RamMapping],
    firmware_clocks: &[FirmwareClockRate],
) -> Result<Vec<u8>, GuestDtError> {
    let boot = rpi4_dtb();
    let memory: Vec<GuestMemory> = ram
        .iter()
        .map(|r| GuestMemory {
            ipa: r.ipa,
            size: r.size,
        })
        .collect();
    let dma = BusDma::Composed { ram, trusted: true };
    let vm = VmDescription {
        firmware_clocks,
        ..vm(devices, &memory, dma)
    };
    super::super::build(&Fdt::new(&boot).unwrap(), &vm)
}

fn cells(node: FdtNode, name: &str) -> Vec<u32> {
    let value = node
        .property(name)
        .unwrap_or_else(|| panic!("{} has no {name}", node.name))
        .value;
    value
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes(c.try_into().unwrap()))
        .collect()
}

fn dma_ranges(dtb: &[u8], bus: &str) -> Vec<u32> {
    let fdt = Fdt::new(dtb).unwrap();
    cells(fdt.find_node(bus).unwrap(), "dma-ranges")
}

fn split(value: u64) -> [u32; 2] {
    [(value >> 32) as u32, value as u32]
}

#[test]
fn one_to_one_vm_keeps_the_boards_bus_addresses() {
    let ram = [RamMapping {
        ipa: 0x1000_0000,
        pa: 0x1000_0000,
        size: 512 * MIB,
    }];
    let dtb = build(&[DMA_ENGINE], &ram).unwrap();
    // <bus> <cpu (2 cells in the guest root)> <size>: only the VM's RAM.
    assert_eq!(
        dma_ranges(&dtb, "/soc"),
        [
            SOC_DMA_BUS_BASE as u32 + 0x1000_0000,
            0,
            0x1000_0000,
            0x2000_0000
        ]
    );
}

#[test]
fn offset_vm_sees_its_ram_at_its_real_bus_address() {
    // Guest-physical 0 is physical 0x2000_0000: bus 0xe000_0000.
    let ram = [RamMapping {
        ipa: 0,
        pa: 0x2000_0000,
        size: 256 * MIB,
    }];
    let dtb = build(&[DMA_ENGINE], &ram).unwrap();
    let mut expected = vec![(SOC_DMA_BUS_BASE + 0x2000_0000) as u32];
    expected.extend(split(0));
    expected.push(0x1000_0000);
    assert_eq!(dma_ranges(&dtb, "/soc"), expected);
}

/// `/emmc2bus` has two address cells of its own. (Its SD host controller
/// needs the clock tree, so the bus's value is composed directly here.)
#[test]
fn two_cell_bus_addresses_of_emmc2bus() {
    let boot = rpi4_dtb();
    let fdt = Fdt::new(&boot).unwrap();
    let value = fdt
        .find_node("/emmc2bus")
        .unwrap()
        .property("dma-ranges")
        .unwrap()
        .value;
    let shape = Shape {
        child: 2,
        parent: 2,
        size: 1,
    };
    let windows = parse("/emmc2bus", value, shape).unwrap();
    let ram = [RamMapping {
        ipa: 0,
        pa: 0x2000_0000,
        size: 256 * MIB,
    }];
    let composed = compose("/emmc2bus", &windows, &ram, true).unwrap();
    let bytes = encode("/emmc2bus", &composed, shape).unwrap();
    let mut expected = split(SOC_DMA_BUS_BASE + 0x2000_0000).to_vec();
    expected.extend(split(0));
    expected.push(0x1000_0000);
    let expected: Vec<u8> = expected.iter().flat_map(|c| c.to_be_bytes()).collect();
    assert_eq!(bytes, expected);
}

#[test]
fn ram_split_across_the_reach_of_the_bus() {
    let ram = [
        RamMapping {
            ipa: 0,
            pa: 0x3000_0000,
            size: 128 * MIB,
        },
        RamMapping {
            ipa: 128 * MIB,
            pa: 0x3800_0000,
            size: 64 * MIB,
        },
    ];
    let dtb = build(&[DMA_ENGINE], &ram).unwrap();
    assert_eq!(
        dma_ranges(&dtb, "/soc"),
        [
            0xf000_0000,
            0,
            0,
            0x0800_0000,
            0xf800_0000,
            0,
            0x0800_0000,
            0x0400_0000
        ]
    );
}

#[test]
fn vm_too_high_for_its_master_is_refused() {
    let ram = [RamMapping {
        ipa: 0,
        pa: GIB - 64 * MIB,
        size: 128 * MIB,
    }];
    let err = build(&[DMA_ENGINE], &ram).unwrap_err();
    assert_eq!(
        err,
        GuestDtError::RamOutOfDmaReach {
            bus: "/soc".into(),
            pa: GIB,
            reach: vec![(0, GIB)],
        }
    );
    let message = err.to_string();
    assert!(
        message.contains("/soc") && message.contains("0x40000000"),
        "{message}"
    );
}

#[test]
fn untrusted_vm_out_of_reach_gets_no_dma_ranges() {
    let boot = rpi4_dtb();
    let ram = [RamMapping {
        ipa: 0,
        pa: 2 * GIB,
        size: 64 * MIB,
    }];
    let memory = [GuestMemory {
        ipa: 0,
        size: 64 * MIB,
    }];
    let dma = BusDma::Composed {
        ram: &ram,
        trusted: false,
    };
    let dtb =
        super::super::build(&Fdt::new(&boot).unwrap(), &vm(&[DMA_ENGINE], &memory, dma)).unwrap();
    let fdt = Fdt::new(&dtb).unwrap();
    assert!(
        fdt.find_node("/soc")
            .unwrap()
            .property("dma-ranges")
            .is_none()
    );
}

#[test]
fn the_rewrite_can_be_left_out() {
    let boot = rpi4_dtb();
    let memory = [GuestMemory {
        ipa: 0,
        size: 64 * MIB,
    }];
    let dtb = super::super::build(
        &Fdt::new(&boot).unwrap(),
        &vm(&[DMA_ENGINE], &memory, BusDma::AsOnHost),
    )
    .unwrap();
    assert_eq!(
        dma_ranges(&dtb, "/soc"),
        [SOC_DMA_BUS_BASE as u32, 0, 0, 0x4000_0000]
    );
}

#[test]
fn reach_of_the_boards_masters() {
    let boot = rpi4_dtb();
    let fdt = Fdt::new(&boot).unwrap();
    assert_eq!(dma_limit(&fdt, &[DMA_ENGINE]), Ok(Some(GIB)));
    assert_eq!(dma_limit(&fdt, &[EMMC2]), Ok(Some(GIB)));
    // PCIe's own dma-ranges reach the low 3 GiB.
    assert_eq!(dma_limit(&fdt, &["/scb/pcie@7d500000"]), Ok(Some(3 * GIB)));
    assert_eq!(
        dma_limit(&fdt, &["/scb/pcie@7d500000", EMMC2]),
        Ok(Some(GIB)),
        "the lowest reach wins"
    );
    // The GIC is at the root with no DMA translation above it.
    assert_eq!(dma_limit(&fdt, &["/timer"]), Ok(None));
    assert_eq!(
        dma_limit(&fdt, &["/soc/nothing@0"]),
        Err(GuestDtError::UnknownDevice {
            path: "/soc/nothing@0".into()
        })
    );
}

/// Nodes cordon makes for every VM, by path prefix.
const CORDON_MADE: &[&str] = &[
    "/cpus", "/psci", "/memory@", "/intc@", "/timer", "/chosen", "/aliases",
];
/// Nodes of devices that no test VM here is given.
const NEVER_GIVEN: &[&str] = &[
    "/soc/serial@7e201000",
    "/soc/gpio@7e200000",
    "/soc/usb@7e980000",
    "/soc/aux@7e215000",
    "/scb",
    "/emmc2bus",
    "/soc/interrupt-controller@7ef00100",
];

/// Fails unless every node of `dtb` is cordon's own, `/soc` (the bus of
/// every device given here) or inside one of `given`, and each of `given`
/// is there.
fn only_given_devices(dtb: &[u8], given: &[&str]) {
    let fdt = Fdt::new(dtb).unwrap();
    let mut paths = Vec::new();
    walk(fdt.find_node("/").unwrap(), String::from("/"), &mut paths);
    let allowed = |path: &str| {
        path == "/"
            || path == "/soc"
            || given.iter().any(|device| path.starts_with(device))
            || CORDON_MADE.iter().any(|made| path.starts_with(made))
    };
    let strays: Vec<&String> = paths.iter().filter(|path| !allowed(path)).collect();
    assert!(
        strays.is_empty(),
        "unassigned nodes in the VM's tree: {strays:?}"
    );
    for gone in NEVER_GIVEN {
        assert!(fdt.find_node(gone).is_none(), "{gone} survived");
    }
    for device in given {
        assert!(paths.iter().any(|p| p == device), "{device} is missing");
    }
}

/// Every node of the guest tree is cordon's own or on the way to (or
/// inside) a device the VM was given.
#[test]
fn no_unassigned_device_survives() {
    let ram = [RamMapping {
        ipa: 0,
        pa: 0x2000_0000,
        size: 256 * MIB,
    }];
    let dtb = build(&[DMA_ENGINE], &ram).unwrap();
    only_given_devices(&dtb, &[DMA_ENGINE]);
}

fn walk(node: FdtNode, path: String, out: &mut Vec<String>) {
    let prefix = if path == "/" { "" } else { path.as_str() };
    let children: Vec<_> = node
        .children()
        .map(|child| (alloc::format!("{prefix}/{}", child.name), child))
        .collect();
    out.push(path);
    for (path, child) in children {
        walk(child, path, out);
    }
}

/// The mini-UART cordon emulates keeps its path, registers and interrupt,
/// and loses the pins and the clocks of the AUX block it does not get.
#[test]
fn emulated_mini_uart_console() {
    const MINI_UART: &str = "/soc/serial@7e215040";
    let boot = rpi4_dtb();
    let memory = [GuestMemory {
        ipa: 0,
        size: 64 * MIB,
    }];
    let vm = VmDescription {
        emulated_console: Some(MINI_UART),
        stdout_path: Some("/soc/serial@7e215040:115200n8"),
        ..vm(&[], &memory, BusDma::AsOnHost)
    };
    let dtb = super::super::build(&Fdt::new(&boot).unwrap(), &vm).unwrap();
    only_given_devices(&dtb, &[MINI_UART]);
    let fdt = Fdt::new(&dtb).unwrap();
    let uart = fdt.find_node(MINI_UART).unwrap();
    assert_eq!(cells(uart, "reg"), [0x7e21_5040, 0x40]);
    assert_eq!(cells(uart, "interrupts"), [0, 0x5d, 4]);
    assert_eq!(cells(uart, "clock-frequency"), [500_000_000]);
    for gone in ["clocks", "pinctrl-0", "pinctrl-names"] {
        assert!(uart.property(gone).is_none(), "{gone} survived");
    }
    let chosen = fdt.find_node("/chosen").unwrap();
    assert_eq!(
        chosen.property("stdout-path").unwrap().as_str(),
        Some("/soc/serial@7e215040:115200n8")
    );
}

/// The SoC's Arasan SD controller, the one QEMU's `raspi4b` puts its card on.
const SD_CONTROLLER: &str = "/soc/mmc@7e300000";
/// The clock manager that runs its clock and emmc2's.
const CPRMAN: &str = "/soc/cprman@7e101000";
/// What cordon keeps of the SD controller's, which the VM must not get.
const KEPT: [&str; 3] = [CPRMAN, "/soc/gpio@7e200000", "/soc/firmware"];

/// A VM not mapped 1:1 owning the SD controller, in the first GiB.
fn sd_controller_ram() -> [RamMapping; 1] {
    [RamMapping {
        ipa: 0,
        pa: 0x1000_0000,
        size: 512 * MIB,
    }]
}

#[test]
fn sd_controller_runs_on_its_kept_clock_with_power_and_pins_as_they_are() {
    let dtb = build(&[SD_CONTROLLER], &sd_controller_ram()).unwrap();
    let fdt = Fdt::new(&dtb).unwrap();
    let mmc = fdt.find_node(SD_CONTROLLER).unwrap();
    let [clock] = cells(mmc, "clocks")[..] else {
        panic!("not one clock: {:?}", cells(mmc, "clocks"));
    };
    let fixed = fdt
        .find_phandle(clock)
        .expect("the clock is in the VM's tree");
    assert_eq!(fixed.name, "cprman-clock-28");
    assert_eq!(fixed.compatible().map(|c| c.first()), Some("fixed-clock"));
    assert_eq!(cells(fixed, "clock-frequency"), [EMMC_RATE_HZ]);
    assert_eq!(cells(fixed, "#clock-cells"), [0]);
    for left_out in ["pinctrl-0", "pinctrl-names", "mmc-pwrseq"] {
        assert!(mmc.property(left_out).is_none(), "{left_out} kept");
    }
    for property in ["compatible", "reg", "interrupts", "bus-width"] {
        assert!(mmc.property(property).is_some(), "{property} lost");
    }
    for kept in KEPT {
        assert!(fdt.find_node(kept).is_none(), "{kept} given to the VM");
    }
}

#[test]
fn emmc2_runs_on_the_rate_the_firmware_reported() {
    let dtb = build(&[EMMC2], &sd_controller_ram()).unwrap();
    let fdt = Fdt::new(&dtb).unwrap();
    let emmc2 = fdt.find_node(EMMC2).unwrap();
    let [clock] = cells(emmc2, "clocks")[..] else {
        panic!("not one clock: {:?}", cells(emmc2, "clocks"));
    };
    let fixed = fdt.find_phandle(clock).unwrap();
    assert_eq!(fixed.name, "cprman-clock-51");
    assert_eq!(cells(fixed, "clock-frequency"), [EMMC2_RATE_HZ]);
    for left_out in ["vqmmc-supply", "vmmc-supply"] {
        assert!(emmc2.property(left_out).is_none(), "{left_out} kept");
    }
}

#[test]
fn a_kept_clock_the_firmware_did_not_report_is_an_error() {
    let emmc_only = &FIRMWARE_CLOCKS[..1];
    assert_eq!(
        build_with_clocks(&[EMMC2], &sd_controller_ram(), emmc_only),
        Err(GuestDtError::KeptClockRateUnknown {
            consumer: EMMC2.into(),
            clock: "EMMC2",
        })
    );
}

/// The VideoCore firmware's mailbox, a legacy master below `/soc`.
const MAILBOX: &str = "/soc/mailbox@7e00b880";

#[test]
fn bus_address_of_a_buffer_the_firmware_reads() {
    let boot = rpi4_dtb();
    let fdt = Fdt::new(&boot).unwrap();
    let buffer = 0x8_0000;
    assert_eq!(
        bus_address(&fdt, MAILBOX, buffer),
        Ok(Some(SOC_DMA_BUS_BASE + buffer))
    );
    assert_eq!(bus_address(&fdt, MAILBOX, GIB), Ok(None), "beyond reach");
    assert_eq!(
        bus_address(&fdt, "/soc/nothing@0", buffer),
        Err(GuestDtError::UnknownDevice {
            path: "/soc/nothing@0".into()
        })
    );
}
