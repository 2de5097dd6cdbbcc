//! Guest device trees built from board-shaped boot trees, parsed back with
//! the `fdt` crate.

mod fixtures;

use fdt::Fdt;
use fdt::node::FdtNode;

use self::fixtures::*;
use super::*;

const VIRT_RAM: [GuestMemory; 1] = [GuestMemory {
    ipa: 0x4000_0000,
    size: 0x2000_0000,
}];
const VIRT_GIC_AT: GuestGic = GuestGic {
    distributor: 0x800_0000,
    cpu_interface: 0x801_0000,
};
const RPI4_RAM: [GuestMemory; 2] = [
    GuestMemory {
        ipa: 0,
        size: 0x1000_0000,
    },
    GuestMemory {
        ipa: 0x4000_0000,
        size: 0x1000_0000,
    },
];
const RPI4_GIC_AT: GuestGic = GuestGic {
    distributor: 0xff84_1000,
    cpu_interface: 0xff84_2000,
};

fn virt_vm<'a>(devices: &'a [&'a str]) -> VmDescription<'a> {
    VmDescription {
        vcpus: 2,
        memory: &VIRT_RAM,
        devices,
        bootargs: "console=ttyAMA0 root=/dev/vda",
        initrd: None,
        stdout_path: None,
        emulated_console: None,
        gic: VIRT_GIC_AT,
        channels: &[],
        management: None,
        dma: BusDma::AsOnHost,
        firmware_clocks: &[],
    }
}

fn rpi4_vm<'a>(devices: &'a [&'a str]) -> VmDescription<'a> {
    VmDescription {
        vcpus: 1,
        memory: &RPI4_RAM,
        devices,
        bootargs: "console=ttyS1",
        initrd: None,
        stdout_path: None,
        emulated_console: None,
        gic: RPI4_GIC_AT,
        channels: &[],
        management: None,
        dma: BusDma::AsOnHost,
        firmware_clocks: &[],
    }
}

/// Builds the guest tree and checks it is well-formed: parseable, and every
/// phandle it uses belongs to one of its nodes.
fn guest(boot: &[u8], vm: &VmDescription) -> Vec<u8> {
    let boot = Fdt::new(boot).unwrap();
    let dtb = build(&boot, vm).unwrap();
    let fdt = Fdt::new(&dtb).unwrap();
    for path in paths(&fdt) {
        let node = fdt.find_node(&path).unwrap();
        for property in [
            "interrupt-parent",
            "clocks",
            "gpios",
            "phy-handle",
            "pinctrl-0",
        ] {
            if let Some(&phandle) = cells(node, property).first() {
                assert!(
                    fdt.find_phandle(phandle).is_some(),
                    "{path}: {property} <{phandle:#x}> dangles"
                );
            }
        }
    }
    dtb
}

fn build_err(boot: &[u8], vm: &VmDescription) -> GuestDtError {
    build(&Fdt::new(boot).unwrap(), vm).unwrap_err()
}

/// Every node's full path, depth-first.
fn paths(fdt: &Fdt) -> Vec<String> {
    fn walk(node: FdtNode, path: String, out: &mut Vec<String>) {
        let prefix = if path == "/" { "" } else { path.as_str() };
        let children: Vec<_> = node
            .children()
            .map(|child| (format!("{prefix}/{}", child.name), child))
            .collect();
        out.push(path);
        for (path, child) in children {
            walk(child, path, out);
        }
    }
    let mut out = Vec::new();
    walk(fdt.find_node("/").unwrap(), "/".into(), &mut out);
    out
}

fn node<'b, 'a>(fdt: &'b Fdt<'a>, path: &str) -> FdtNode<'b, 'a> {
    fdt.find_node(path)
        .unwrap_or_else(|| panic!("no node {path}"))
}

fn cells(node: FdtNode, name: &str) -> Vec<u32> {
    node.property(name)
        .map(|p| {
            p.value
                .chunks_exact(4)
                .map(|c| u32::from_be_bytes(c.try_into().unwrap()))
                .collect()
        })
        .unwrap_or_default()
}

fn strings<'a>(node: FdtNode<'_, 'a>, name: &str) -> Vec<&'a str> {
    node.property(name)
        .and_then(|p| p.as_str())
        .map(|s| s.split('\0').collect())
        .unwrap_or_default()
}

fn property_names<'a>(node: FdtNode<'_, 'a>) -> Vec<&'a str> {
    node.properties().map(|p| p.name).collect()
}

#[test]
fn virt_machine_cpus_memory_psci_gic_and_timer() {
    let dtb = guest(&qemu_virt(), &virt_vm(&[]));
    let fdt = Fdt::new(&dtb).unwrap();

    let root = node(&fdt, "/");
    assert_eq!(cells(root, "#address-cells"), [2]);
    assert_eq!(cells(root, "#size-cells"), [2]);
    assert_eq!(strings(root, "compatible"), ["linux,dummy-virt"]);
    assert_eq!(strings(root, "model"), ["linux,dummy-virt"]);
    assert_eq!(cells(root, "interrupt-parent"), [VIRT_GIC]);
    assert!(root.property("dma-coherent").is_some());

    let cpus: Vec<_> = node(&fdt, "/cpus").children().collect();
    assert_eq!(
        cpus.iter().map(|c| c.name).collect::<Vec<_>>(),
        ["cpu@0", "cpu@1"],
        "exactly the VM's CPUs, no cpu-map"
    );
    for (n, cpu) in cpus.iter().enumerate() {
        assert_eq!(cells(*cpu, "reg"), [n as u32]);
        assert_eq!(strings(*cpu, "device_type"), ["cpu"]);
        assert_eq!(strings(*cpu, "enable-method"), ["psci"]);
        assert_eq!(strings(*cpu, "compatible"), ["arm,cortex-a72"]);
        assert!(cpu.property("phandle").is_none());
    }
    assert_eq!(cells(node(&fdt, "/cpus"), "#address-cells"), [1]);
    assert_eq!(cells(node(&fdt, "/cpus"), "#size-cells"), [0]);

    let memory = node(&fdt, "/memory@40000000");
    assert_eq!(strings(memory, "device_type"), ["memory"]);
    assert_eq!(cells(memory, "reg"), [0, 0x4000_0000, 0, 0x2000_0000]);

    let psci = node(&fdt, "/psci");
    assert_eq!(
        strings(psci, "compatible"),
        ["arm,psci-1.0", "arm,psci-0.2"]
    );
    assert_eq!(strings(psci, "method"), ["hvc"]);
    assert!(psci.property("cpu_on").is_none());

    let gic = node(&fdt, "/intc@8000000");
    assert_eq!(strings(gic, "compatible"), ["arm,cortex-a15-gic"]);
    assert_eq!(cells(gic, "phandle"), [VIRT_GIC]);
    assert_eq!(
        cells(gic, "reg"),
        [0, 0x800_0000, 0, 0x1000, 0, 0x801_0000, 0, 0x2000],
        "distributor and CPU interface only"
    );
    assert_eq!(
        property_names(gic),
        [
            "compatible",
            "phandle",
            "interrupt-controller",
            "#interrupt-cells",
            "#address-cells",
            "reg"
        ],
        "no maintenance interrupt, no ranges for a v2m frame"
    );
    assert_eq!(cells(gic, "#interrupt-cells"), [3]);
    assert_eq!(cells(gic, "#address-cells"), [0]);
    assert_eq!(gic.children().count(), 0);

    let timer = node(&fdt, "/timer");
    assert_eq!(
        cells(timer, "interrupts"),
        [1, 13, 0x304, 1, 14, 0x304, 1, 11, 0x304, 1, 10, 0x304],
        "PPIs wired to CPUs 0 and 1"
    );
    assert_eq!(
        strings(timer, "compatible"),
        ["arm,armv8-timer", "arm,armv7-timer"]
    );
    assert!(timer.property("always-on").is_some());
}

#[test]
fn virt_chosen_has_only_what_the_vm_was_given() {
    let devices = ["/pl011@9000000"];
    let vm = VmDescription {
        initrd: Some((0x4800_0000, 0x4900_0000)),
        stdout_path: Some("/pl011@9000000"),
        ..virt_vm(&devices)
    };
    let dtb = guest(&qemu_virt(), &vm);
    let fdt = Fdt::new(&dtb).unwrap();
    let chosen = node(&fdt, "/chosen");
    assert_eq!(
        property_names(chosen),
        [
            "bootargs",
            "linux,initrd-start",
            "linux,initrd-end",
            "stdout-path"
        ],
        "no seeds"
    );
    assert_eq!(
        fdt.chosen().bootargs(),
        Some("console=ttyAMA0 root=/dev/vda")
    );
    assert_eq!(cells(chosen, "linux,initrd-start"), [0, 0x4800_0000]);
    assert_eq!(cells(chosen, "linux,initrd-end"), [0, 0x4900_0000]);
    assert_eq!(fdt.chosen().stdout().unwrap().name, "pl011@9000000");
    assert_eq!(chosen.children().count(), 0, "no boot modules");

    let dtb = guest(&qemu_virt(), &virt_vm(&[]));
    let fdt = Fdt::new(&dtb).unwrap();
    assert_eq!(property_names(node(&fdt, "/chosen")), ["bootargs"]);
}

#[test]
fn virt_vm_gets_its_devices_and_nothing_else() {
    let devices = ["/pl011@9000000", "/virtio_mmio@a000200"];
    let dtb = guest(&qemu_virt(), &virt_vm(&devices));
    let fdt = Fdt::new(&dtb).unwrap();
    assert_eq!(
        paths(&fdt),
        [
            "/",
            "/cpus",
            "/cpus/cpu@0",
            "/cpus/cpu@1",
            "/psci",
            "/memory@40000000",
            "/intc@8000000",
            "/timer",
            "/pl011@9000000",
            "/virtio_mmio@a000200",
            "/apb-pclk",
            "/aliases",
            "/chosen",
        ]
    );

    let uart = node(&fdt, "/pl011@9000000");
    assert_eq!(cells(uart, "interrupts"), [0, 1, 4]);
    assert_eq!(cells(uart, "reg"), [0, 0x900_0000, 0, 0x1000]);
    assert_eq!(cells(uart, "clocks"), [VIRT_APB_PCLK, VIRT_APB_PCLK]);
    assert_eq!(strings(uart, "clock-names"), ["uartclk", "apb_pclk"]);

    let virtio = node(&fdt, "/virtio_mmio@a000200");
    assert_eq!(cells(virtio, "interrupts"), [0, 0x2e, 1]);
    assert!(virtio.property("dma-coherent").is_some());

    let clock = node(&fdt, "/apb-pclk");
    assert_eq!(cells(clock, "phandle"), [VIRT_APB_PCLK]);
    assert_eq!(strings(clock, "compatible"), ["fixed-clock"]);
    assert_eq!(cells(clock, "clock-frequency"), [24_000_000]);

    assert_eq!(
        fdt.aliases().unwrap().resolve("serial0"),
        Some("/pl011@9000000")
    );
}

#[test]
fn clock_providers_come_along_once() {
    let devices = [
        "/pl011@9000000",
        "/pl031@9010000",
        "/apb-pclk",
        "/pl011@9000000",
    ];
    let dtb = guest(&qemu_virt(), &virt_vm(&devices));
    let fdt = Fdt::new(&dtb).unwrap();
    let all = paths(&fdt);
    assert_eq!(all.iter().filter(|p| *p == "/apb-pclk").count(), 1);
    assert_eq!(all.iter().filter(|p| *p == "/pl011@9000000").count(), 1);
    assert!(all.contains(&"/pl031@9010000".into()));
}

#[test]
fn nested_devices_are_copied_once() {
    let pins = "/soc/gpio@7e200000/uart1_gpio14";
    let gpio = "/soc/gpio@7e200000";
    for devices in [[pins, gpio], [gpio, pins]] {
        let dtb = guest(&rpi4(), &rpi4_vm(&devices));
        let fdt = Fdt::new(&dtb).unwrap();
        let all = paths(&fdt);
        assert_eq!(all[8..11], ["/soc", gpio, pins], "{devices:?}");
        assert_eq!(all.iter().filter(|p| *p == pins).count(), 1);
        let controller = node(&fdt, gpio);
        assert!(
            controller.property("gpio-controller").is_some(),
            "the whole node, not just a bus: {devices:?}"
        );
    }
}

#[test]
fn gpio_keys_need_their_gpio_controller() {
    let err = build_err(&qemu_virt(), &virt_vm(&["/gpio-keys"]));
    assert_eq!(
        err,
        GuestDtError::DanglingPhandle {
            node: "/gpio-keys/poweroff".into(),
            property: "gpios".into(),
            phandle: VIRT_PL061,
            target: "/pl061@9030000".into(),
        }
    );
    assert_eq!(
        err.to_string(),
        "/gpio-keys/poweroff: gpios refers to /pl061@9030000 (phandle 0x8004), \
         which is not passed through to the VM"
    );

    let devices = ["/gpio-keys", "/pl061@9030000"];
    let dtb = guest(&qemu_virt(), &virt_vm(&devices));
    let fdt = Fdt::new(&dtb).unwrap();
    assert_eq!(
        cells(node(&fdt, "/gpio-keys/poweroff"), "gpios"),
        [VIRT_PL061, 3, 0]
    );
    assert!(fdt.find_node("/apb-pclk").is_some(), "the PL061's clock");
}

#[test]
fn rpi4_gic_moves_to_the_root_and_cpus_use_psci() {
    let dtb = guest(&rpi4(), &rpi4_vm(&[]));
    let fdt = Fdt::new(&dtb).unwrap();
    assert_eq!(
        paths(&fdt),
        [
            "/",
            "/cpus",
            "/cpus/cpu@0",
            "/psci",
            "/memory@0",
            "/memory@40000000",
            "/intc@ff841000",
            "/timer",
            "/chosen",
        ]
    );
    let root = node(&fdt, "/");
    assert_eq!(
        strings(root, "compatible"),
        ["raspberrypi,4-model-b", "brcm,bcm2711"]
    );
    assert_eq!(strings(root, "model"), ["Raspberry Pi 4 Model B"]);
    assert_eq!(cells(root, "#size-cells"), [2]);
    assert_eq!(cells(root, "interrupt-parent"), [RPI4_GIC]);

    let gic = node(&fdt, "/intc@ff841000");
    assert_eq!(strings(gic, "compatible"), ["arm,gic-400"]);
    assert_eq!(cells(gic, "phandle"), [RPI4_GIC]);
    assert_eq!(
        cells(gic, "reg"),
        [0, 0xff84_1000, 0, 0x1000, 0, 0xff84_2000, 0, 0x2000]
    );
    assert!(gic.property("interrupts").is_none());

    let cpu = node(&fdt, "/cpus/cpu@0");
    assert_eq!(
        property_names(cpu),
        ["device_type", "compatible", "reg", "enable-method"],
        "no spin table, caches or cache phandles"
    );
    assert_eq!(strings(cpu, "enable-method"), ["psci"]);
    assert!(node(&fdt, "/cpus").property("enable-method").is_none());

    assert_eq!(
        cells(node(&fdt, "/timer"), "interrupts"),
        [1, 13, 0x108, 1, 14, 0x108, 1, 11, 0x108, 1, 10, 0x108],
        "one CPU, level-low kept"
    );
    assert_eq!(
        cells(node(&fdt, "/memory@0"), "reg"),
        [0, 0, 0, 0x1000_0000]
    );
}

#[test]
fn rpi4_mini_uart_needs_its_clock_and_pin_providers() {
    let uart = "/soc/serial@7e215040";
    assert_eq!(
        build_err(&rpi4(), &rpi4_vm(&[uart])),
        GuestDtError::ClockProviderNotAssigned {
            consumer: uart.into(),
            provider: "/soc/aux@7e215000".into(),
        }
    );
    let err = build_err(&rpi4(), &rpi4_vm(&[uart, "/soc/aux@7e215000"]));
    assert_eq!(
        err,
        GuestDtError::ClockProviderNotAssigned {
            consumer: "/soc/aux@7e215000".into(),
            provider: "/soc/cprman@7e101000".into(),
        }
    );
    assert_eq!(
        err.to_string(),
        "/soc/aux@7e215000 needs clocks from /soc/cprman@7e101000, which has registers \
         and is not passed through to the VM"
    );

    let clocked = [uart, "/soc/aux@7e215000", "/soc/cprman@7e101000"];
    assert_eq!(
        build_err(&rpi4(), &rpi4_vm(&clocked)),
        GuestDtError::DanglingPhandle {
            node: uart.into(),
            property: "pinctrl-0".into(),
            phandle: RPI4_UART1_PINS,
            target: "/soc/gpio@7e200000/uart1_gpio14".into(),
        }
    );

    let devices = [
        uart,
        "/soc/aux@7e215000",
        "/soc/cprman@7e101000",
        "/soc/gpio@7e200000",
    ];
    let vm = VmDescription {
        stdout_path: Some("/soc/serial@7e215040:115200n8"),
        ..rpi4_vm(&devices)
    };
    let dtb = guest(&rpi4(), &vm);
    let fdt = Fdt::new(&dtb).unwrap();
    let all = paths(&fdt);
    assert_eq!(
        all[8..],
        [
            "/soc",
            "/soc/serial@7e215040",
            "/soc/aux@7e215000",
            "/soc/cprman@7e101000",
            "/soc/gpio@7e200000",
            "/soc/gpio@7e200000/uart1_gpio14",
            "/clocks",
            "/clocks/clk-osc",
            "/aliases",
            "/chosen",
        ],
        "no pl011, aux SPI or GIC under /soc"
    );

    let soc = node(&fdt, "/soc");
    assert_eq!(
        property_names(soc),
        [
            "compatible",
            "#address-cells",
            "#size-cells",
            "ranges",
            "dma-ranges"
        ]
    );
    assert_eq!(
        cells(soc, "ranges")[..4],
        [0x7e00_0000, 0, 0xfe00_0000, 0x180_0000]
    );
    let serial = node(&fdt, uart);
    assert_eq!(cells(serial, "reg"), [0x7e21_5040, 0x40]);
    assert_eq!(cells(serial, "interrupts"), [0, 0x5d, 4]);
    assert_eq!(cells(serial, "clocks"), [RPI4_AUX, 0]);
    assert_eq!(cells(node(&fdt, "/clocks/clk-osc"), "phandle"), [RPI4_OSC]);
    assert_eq!(
        property_names(node(&fdt, "/clocks")),
        ["#address-cells", "#size-cells"]
    );

    let aliases = fdt.aliases().unwrap();
    assert_eq!(aliases.resolve("serial1"), Some(uart));
    assert_eq!(aliases.resolve("serial0"), None);
    assert_eq!(
        strings(node(&fdt, "/chosen"), "stdout-path"),
        ["/soc/serial@7e215040:115200n8"]
    );
}

#[test]
fn rpi4_top_level_addresses_get_two_size_cells() {
    let devices = ["/watchdog@fe100000", "/scb/ethernet@7d580000"];
    let dtb = guest(&rpi4(), &rpi4_vm(&devices));
    let fdt = Fdt::new(&dtb).unwrap();
    assert_eq!(
        cells(node(&fdt, "/watchdog@fe100000"), "reg"),
        [0, 0xfe10_0000, 0, 0x114]
    );
    let scb = node(&fdt, "/scb");
    assert_eq!(
        cells(scb, "ranges"),
        [0, 0x7c00_0000, 0, 0xfc00_0000, 0x380_0000],
        "the parent address already has the guest root's 2 cells"
    );
    let ethernet = node(&fdt, "/scb/ethernet@7d580000");
    assert_eq!(cells(ethernet, "reg"), [0, 0x7d58_0000, 0x1_0000]);
    assert!(
        fdt.find_node("/scb/ethernet@7d580000/mdio@e14/ethernet-phy@1")
            .is_some(),
        "subnodes come along, so phy-handle resolves"
    );
    assert_eq!(
        fdt.aliases().unwrap().resolve("ethernet0"),
        Some("/scb/ethernet@7d580000")
    );
}

#[test]
fn bad_vm_descriptions_are_named() {
    let boot = qemu_virt();
    for vcpus in [0, MAX_VCPUS + 1] {
        let vm = VmDescription {
            vcpus,
            ..virt_vm(&[])
        };
        assert_eq!(build_err(&boot, &vm), GuestDtError::VcpuCount { vcpus });
    }
    let vm = VmDescription {
        vcpus: MAX_VCPUS,
        ..virt_vm(&[])
    };
    let dtb = guest(&boot, &vm);
    let timer = cells(node(&Fdt::new(&dtb).unwrap(), "/timer"), "interrupts");
    assert_eq!(timer[2], 0xff04);

    let vm = VmDescription {
        memory: &[],
        ..virt_vm(&[])
    };
    assert_eq!(build_err(&boot, &vm), GuestDtError::NoMemory);
    let empty = [GuestMemory {
        ipa: 0x4000_0000,
        size: 0,
    }];
    let vm = VmDescription {
        memory: &empty,
        ..virt_vm(&[])
    };
    assert_eq!(
        build_err(&boot, &vm),
        GuestDtError::BadMemory {
            ipa: 0x4000_0000,
            size: 0
        }
    );
    let overlapping = [
        GuestMemory {
            ipa: 0x5000_0000,
            size: 0x1000,
        },
        GuestMemory {
            ipa: 0x4000_0000,
            size: 0x1000_0001,
        },
    ];
    let vm = VmDescription {
        memory: &overlapping,
        ..virt_vm(&[])
    };
    let err = build_err(&boot, &vm);
    assert_eq!(
        err.to_string(),
        "memory at 0x40000000 overlaps memory at 0x50000000"
    );

    for initrd in [(0x4900_0000, 0x4800_0000), (0x5fff_f000, 0x6000_1000)] {
        let vm = VmDescription {
            initrd: Some(initrd),
            ..virt_vm(&[])
        };
        assert_eq!(
            build_err(&boot, &vm),
            GuestDtError::BadInitrd {
                start: initrd.0,
                end: initrd.1
            }
        );
    }

    let placeholder = VmDescription {
        initrd: Some((0, 0)),
        ..virt_vm(&[])
    };
    let sized = guest(&boot, &placeholder);
    let placed = VmDescription {
        initrd: Some((0x4800_0000, 0x4900_0000)),
        ..virt_vm(&[])
    };
    assert_eq!(
        sized.len(),
        guest(&boot, &placed).len(),
        "an empty initrd anywhere sizes the tree"
    );

    for stdout in ["/pl011@9000000", "serial0", "/cpus/cpu@0", "/"] {
        let vm = VmDescription {
            stdout_path: Some(stdout),
            ..virt_vm(&[])
        };
        assert_eq!(
            build_err(&boot, &vm),
            GuestDtError::StdoutNotPassedThrough {
                path: stdout.into()
            }
        );
    }
}

#[test]
fn unknown_and_reserved_devices_are_refused() {
    let boot = qemu_virt();
    for path in ["/pl011", "/pl011@9000000/", "pl011@9000000", "/nope@0"] {
        let err = build_err(&boot, &virt_vm(&[path]));
        assert_eq!(err, GuestDtError::UnknownDevice { path: path.into() });
    }
    for (device, provided) in [
        ("/intc@8000000", "/intc@8000000"),
        ("/intc@8000000/v2m@8020000", "/intc@8000000"),
        ("/timer", "/timer"),
        ("/cpus/cpu@2", "/cpus"),
        ("/chosen/module@48000000", "/chosen"),
        ("/psci", "/psci"),
        ("/memory@40000000", "/memory@40000000"),
        ("/", "/intc@8000000"),
    ] {
        assert_eq!(
            build_err(&boot, &virt_vm(&[device])),
            GuestDtError::ProvidedByCordon {
                device: device.into(),
                provided: provided.into()
            }
        );
    }

    let other_psci = virt_with(|w| {
        virt_gic(w);
        virt_timer(w);
        virt_cpus(w);
        w.node("psci", |w| w.str("compatible", "vendor,firmware"));
    });
    let err = build_err(&other_psci, &virt_vm(&["/psci"]));
    assert_eq!(
        err,
        GuestDtError::NodeConflict {
            path: "/psci".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "/psci would replace a node cordon makes for the VM itself"
    );

    let err = build_err(&rpi4(), &rpi4_vm(&["/soc"]));
    assert_eq!(
        err.to_string(),
        "/soc cannot be passed through: it is or contains \
         /soc/interrupt-controller@40041000, which cordon provides to the VM itself"
    );
}

#[test]
fn references_cordon_cannot_follow_are_refused() {
    assert_eq!(
        build_err(&qemu_virt(), &virt_vm(&["/pcie@10000000"])),
        GuestDtError::UnsupportedProperty {
            node: "/pcie@10000000".into(),
            property: "interrupt-map".into()
        }
    );

    let boot = virt_with(|w| {
        virt_gic(w);
        virt_timer(w);
        virt_cpus(w);
        w.node("uart@1000", |w| {
            w.u32("clocks", 0x1234);
        });
        w.node("dma@2000", |w| {
            w.u32s("dmas", &[VIRT_APB_PCLK, 1]);
        });
        w.node("msi@3000", |w| {
            w.u32("msi-parent", VIRT_V2M);
        });
    });
    assert_eq!(
        build_err(&boot, &virt_vm(&["/uart@1000"])),
        GuestDtError::UnknownPhandle {
            node: "/uart@1000".into(),
            property: "clocks".into(),
            phandle: 0x1234
        }
    );
    let err = build_err(&boot, &virt_vm(&["/dma@2000", "/apb-pclk"]));
    assert_eq!(
        err,
        GuestDtError::MissingCells {
            node: "/dma@2000".into(),
            property: "dmas".into(),
            provider: "/apb-pclk".into(),
            cells: "#dma-cells"
        }
    );
    assert_eq!(
        build_err(&boot, &virt_vm(&["/msi@3000"])),
        GuestDtError::DanglingPhandle {
            node: "/msi@3000".into(),
            property: "msi-parent".into(),
            phandle: VIRT_V2M,
            target: "/intc@8000000/v2m@8020000".into()
        }
    );
}

#[test]
fn boot_trees_without_gic_timer_or_cpus_are_refused() {
    let no_gic = virt_with(|w| {
        virt_timer(w);
        virt_cpus(w);
    });
    assert_eq!(build_err(&no_gic, &virt_vm(&[])), GuestDtError::NoGic);

    let gic_v3 = virt_with(|w| {
        w.node("intc@8000000", |w| {
            w.phandle(VIRT_GIC);
            w.str("compatible", "arm,gic-v3");
            w.u32("#interrupt-cells", 3);
        });
        virt_timer(w);
        virt_cpus(w);
    });
    assert_eq!(build_err(&gic_v3, &virt_vm(&[])), GuestDtError::NoGic);

    let no_phandle = virt_with(|w| {
        w.node("intc@8000000", |w| {
            w.str("compatible", "arm,cortex-a15-gic");
            w.u32("#interrupt-cells", 3);
        });
        virt_timer(w);
        virt_cpus(w);
    });
    assert_eq!(
        build_err(&no_phandle, &virt_vm(&[])),
        GuestDtError::GicWithoutPhandle {
            path: "/intc@8000000".into()
        }
    );

    let no_timer = virt_with(|w| {
        virt_gic(w);
        virt_cpus(w);
    });
    let err = build_err(&no_timer, &virt_vm(&[]));
    assert_eq!(err, GuestDtError::NoTimer);
    assert_eq!(
        err.to_string(),
        "no architected timer (arm,armv8-timer) in the boot device tree"
    );

    let bad_timer = virt_with(|w| {
        virt_gic(w);
        virt_cpus(w);
        w.node("timer", |w| {
            w.str("compatible", "arm,armv8-timer");
            w.u32s("interrupts", &[1, 13]);
        });
    });
    assert_eq!(
        build_err(&bad_timer, &virt_vm(&[])),
        GuestDtError::MalformedProperty {
            node: "/timer".into(),
            property: "interrupts".into()
        }
    );

    let anonymous_cpus = virt_with(|w| {
        virt_gic(w);
        virt_timer(w);
        w.node("cpus", |w| {
            w.node("cpu@0", |w| w.str("device_type", "cpu"));
        });
    });
    assert_eq!(
        build_err(&anonymous_cpus, &virt_vm(&[])),
        GuestDtError::NoCpuCompatible
    );
}

#[test]
fn channels_appear_with_their_window_doorbell_and_interrupt() {
    let channel = GuestChannel {
        name: "telemetry",
        peer: "rt",
        shared_ipa: 0x9000_0000,
        size: 0x1_0000,
        doorbell_ipa: 0x9001_0000,
        spi: 287,
    };
    let vm = VmDescription {
        channels: &[channel],
        ..virt_vm(&[])
    };
    let dtb = guest(&qemu_virt(), &vm);
    let fdt = Fdt::new(&dtb).unwrap();
    let node = node(&fdt, "/channel@90000000");
    assert_eq!(strings(node, "compatible"), ["cordon,channel"]);
    assert_eq!(
        cells(node, "reg"),
        [0, 0x9000_0000, 0, 0x1_0000, 0, 0x9001_0000, 0, 0x1000]
    );
    assert_eq!(cells(node, "interrupts"), [0, 255, 1]);
    assert_eq!(strings(node, "cordon,name"), ["telemetry"]);
    assert_eq!(strings(node, "cordon,peer"), ["rt"]);
    assert!(fdt.find_node("/channel@0").is_none());
}

#[test]
fn the_management_region_is_reserved_memory_outside_ram() {
    let vm = VmDescription {
        management: Some(GuestManagement {
            region_ipa: 0xa020_0000,
            size: 0x1_0000,
            spi: 286,
        }),
        ..virt_vm(&[])
    };
    let dtb = guest(&qemu_virt(), &vm);
    let fdt = Fdt::new(&dtb).unwrap();
    let parent = node(&fdt, "/reserved-memory");
    assert_eq!(cells(parent, "#address-cells"), [2]);
    let region = node(&fdt, "/reserved-memory/cordon-management@a0200000");
    assert_eq!(strings(region, "compatible"), ["cordon,management"]);
    assert_eq!(cells(region, "reg"), [0, 0xa020_0000, 0, 0x1_0000]);
    assert!(property_names(region).contains(&"no-map"));
    assert_eq!(cells(region, "interrupts"), [0, 254, 1]);
}

mod initrd_patch;
