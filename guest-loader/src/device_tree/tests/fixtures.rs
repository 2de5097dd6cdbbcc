//! Boot device trees shaped like the boards' (after `qemu-system-aarch64 -M
//! virt,virtualization=on,gic-version=2 -smp 4` and Raspberry Pi 4's
//! bcm2711-rpi-4-b.dtb), built with vm-fdt.

use vm_fdt::FdtWriter;

pub const VIRT_APB_PCLK: u32 = 0x8000;
pub const VIRT_GIC: u32 = 0x8002;
pub const VIRT_V2M: u32 = 0x8003;
pub const VIRT_PL061: u32 = 0x8004;
const VIRT_FIRST_CPU: u32 = 0x8005;

pub const RPI4_GIC: u32 = 0x01;
pub const RPI4_OSC: u32 = 0x03;
pub const RPI4_CPRMAN: u32 = 0x07;
pub const RPI4_AUX: u32 = 0x0d;
pub const RPI4_UART1_PINS: u32 = 0x0e;
const RPI4_PHY: u32 = 0x30;
const RPI4_L2: u32 = 0x26;

/// GIC interrupt types.
const SPI: u32 = 0;
const PPI: u32 = 1;
const EDGE_RISING: u32 = 1;
const LEVEL_HIGH: u32 = 4;
/// PPI flags: wired to CPUs 0-3, level-high (QEMU) or level-low (RPi4).
const FOUR_CPUS_LEVEL_HIGH: u32 = 0xf04;
const FOUR_CPUS_LEVEL_LOW: u32 = 0xf08;

/// vm-fdt with less ceremony: nodes take closures, properties don't fail.
pub struct Writer(FdtWriter);

impl Writer {
    pub fn tree(root: impl FnOnce(&mut Self)) -> Vec<u8> {
        let mut w = Self(FdtWriter::new().unwrap());
        w.node("", root);
        w.0.finish().unwrap()
    }

    pub fn node(&mut self, name: &str, body: impl FnOnce(&mut Self)) {
        let node = self.0.begin_node(name).unwrap();
        body(self);
        self.0.end_node(node).unwrap();
    }

    pub fn u32(&mut self, name: &str, value: u32) {
        self.0.property_u32(name, value).unwrap();
    }

    pub fn u32s(&mut self, name: &str, values: &[u32]) {
        self.0.property_array_u32(name, values).unwrap();
    }

    pub fn u64s(&mut self, name: &str, values: &[u64]) {
        self.0.property_array_u64(name, values).unwrap();
    }

    pub fn str(&mut self, name: &str, value: &str) {
        self.0.property_string(name, value).unwrap();
    }

    pub fn strs(&mut self, name: &str, values: &[&str]) {
        let values = values.iter().map(|v| String::from(*v)).collect();
        self.0.property_string_list(name, values).unwrap();
    }

    pub fn empty(&mut self, name: &str) {
        self.0.property_null(name).unwrap();
    }

    pub fn phandle(&mut self, value: u32) {
        self.0.property_phandle(value).unwrap();
    }
}

fn fixed_clock(w: &mut Writer, phandle: u32, hz: u32, name: &str) {
    w.phandle(phandle);
    w.str("compatible", "fixed-clock");
    w.u32("#clock-cells", 0);
    w.u32("clock-frequency", hz);
    w.str("clock-output-names", name);
}

pub fn virt_psci(w: &mut Writer) {
    w.node("psci", |w| {
        w.strs("compatible", &["arm,psci-1.0", "arm,psci-0.2", "arm,psci"]);
        w.str("method", "smc");
        w.u32("cpu_on", 0xc400_0003);
    });
}

pub fn virt_gic(w: &mut Writer) {
    w.node("intc@8000000", |w| {
        w.phandle(VIRT_GIC);
        w.u32s("interrupts", &[PPI, 9, LEVEL_HIGH]);
        // GICD, GICC, GICH, GICV.
        w.u64s(
            "reg",
            &[
                0x800_0000, 0x1_0000, 0x801_0000, 0x1_0000, 0x803_0000, 0x1_0000, 0x804_0000,
                0x1_0000,
            ],
        );
        w.str("compatible", "arm,cortex-a15-gic");
        w.empty("ranges");
        w.u32("#size-cells", 2);
        w.u32("#address-cells", 2);
        w.empty("interrupt-controller");
        w.u32("#interrupt-cells", 3);
        w.node("v2m@8020000", |w| {
            w.phandle(VIRT_V2M);
            w.u64s("reg", &[0x802_0000, 0x1000]);
            w.empty("msi-controller");
            w.str("compatible", "arm,gic-v2m-frame");
        });
    });
}

pub fn virt_timer(w: &mut Writer) {
    w.node("timer", |w| {
        let mut interrupts = Vec::new();
        for ppi in [13, 14, 11, 10] {
            interrupts.extend([PPI, ppi, FOUR_CPUS_LEVEL_HIGH]);
        }
        w.u32s("interrupts", &interrupts);
        w.empty("always-on");
        w.strs("compatible", &["arm,armv8-timer", "arm,armv7-timer"]);
    });
}

pub fn virt_cpus(w: &mut Writer) {
    w.node("cpus", |w| {
        w.u32("#size-cells", 0);
        w.u32("#address-cells", 1);
        w.node("cpu-map", |w| {
            w.node("socket0", |w| {
                w.node("cluster0", |w| {
                    w.node("core0", |w| w.u32("cpu", VIRT_FIRST_CPU));
                })
            })
        });
        for n in 0..4 {
            w.node(&format!("cpu@{n}"), |w| {
                w.phandle(VIRT_FIRST_CPU + n);
                w.u32("reg", n);
                w.str("enable-method", "psci");
                w.str("compatible", "arm,cortex-a72");
                w.str("device_type", "cpu");
            });
        }
    });
}

/// QEMU virt with 4 CPUs, GICv2 with v2m, PL011/PL031/PL061, gpio-keys,
/// four virtio-mmio transports, PCIe and fw-cfg; `/chosen` as a loader
/// leaves it (initrd, seeds, boot modules).
pub fn qemu_virt() -> Vec<u8> {
    virt_with(|w| {
        virt_psci(w);
        virt_gic(w);
        virt_timer(w);
        virt_cpus(w);
    })
}

/// QEMU virt's devices and root, with `core` (PSCI, GIC, timer, CPUs) left
/// to the caller so tests can leave parts out.
pub fn virt_with(core: impl FnOnce(&mut Writer)) -> Vec<u8> {
    Writer::tree(|w| {
        w.u32("interrupt-parent", VIRT_GIC);
        w.empty("dma-coherent");
        w.str("model", "linux,dummy-virt");
        w.u32("#size-cells", 2);
        w.u32("#address-cells", 2);
        w.str("compatible", "linux,dummy-virt");
        core(w);
        w.node("memory@40000000", |w| {
            w.u64s("reg", &[0x4000_0000, 0x8000_0000]);
            w.str("device_type", "memory");
        });
        w.node("platform-bus@c000000", |w| {
            w.u32("interrupt-parent", VIRT_GIC);
            w.u32s("ranges", &[0, 0, 0xc00_0000, 0x200_0000]);
            w.u32("#address-cells", 1);
            w.u32("#size-cells", 1);
            w.strs("compatible", &["qemu,platform", "simple-bus"]);
        });
        w.node("fw-cfg@9020000", |w| {
            w.empty("dma-coherent");
            w.u64s("reg", &[0x902_0000, 0x18]);
            w.str("compatible", "qemu,fw-cfg-mmio");
        });
        for n in 0..4u32 {
            w.node(&format!("virtio_mmio@a000{:x}00", 2 * n), |w| {
                w.empty("dma-coherent");
                w.u32s("interrupts", &[SPI, 0x2f - n, EDGE_RISING]);
                w.u64s("reg", &[0xa00_0000 + 0x200 * n as u64, 0x200]);
                w.str("compatible", "virtio,mmio");
            });
        }
        w.node("gpio-keys", |w| {
            w.str("compatible", "gpio-keys");
            w.node("poweroff", |w| {
                w.u32s("gpios", &[VIRT_PL061, 3, 0]);
                w.u32("linux,code", 0x74);
                w.str("label", "GPIO Key Poweroff");
            });
        });
        w.node("pl061@9030000", |w| {
            w.phandle(VIRT_PL061);
            w.str("clock-names", "apb_pclk");
            w.u32("clocks", VIRT_APB_PCLK);
            w.u32s("interrupts", &[SPI, 7, LEVEL_HIGH]);
            w.empty("gpio-controller");
            w.u32("#gpio-cells", 2);
            w.strs("compatible", &["arm,pl061", "arm,primecell"]);
            w.u64s("reg", &[0x903_0000, 0x1000]);
        });
        w.node("pcie@10000000", |w| {
            w.u32s("interrupt-map-mask", &[0x1800, 0, 0, 7]);
            w.u32s(
                "interrupt-map",
                &[0, 0, 0, 1, VIRT_GIC, 0, 0, SPI, 3, LEVEL_HIGH],
            );
            w.u32("#interrupt-cells", 1);
            w.u32s("msi-map", &[0, VIRT_V2M, 0, 0x1_0000]);
            w.u64s("reg", &[0x40_1000_0000, 0x1000_0000]);
            w.u32("#address-cells", 3);
            w.u32("#size-cells", 2);
            w.str("device_type", "pci");
            w.str("compatible", "pci-host-ecam-generic");
        });
        w.node("pl031@9010000", |w| {
            w.str("clock-names", "apb_pclk");
            w.u32("clocks", VIRT_APB_PCLK);
            w.u32s("interrupts", &[SPI, 2, LEVEL_HIGH]);
            w.u64s("reg", &[0x901_0000, 0x1000]);
            w.strs("compatible", &["arm,pl031", "arm,primecell"]);
        });
        w.node("pl011@9000000", |w| {
            w.strs("clock-names", &["uartclk", "apb_pclk"]);
            w.u32s("clocks", &[VIRT_APB_PCLK, VIRT_APB_PCLK]);
            w.u32s("interrupts", &[SPI, 1, LEVEL_HIGH]);
            w.u64s("reg", &[0x900_0000, 0x1000]);
            w.strs("compatible", &["arm,pl011", "arm,primecell"]);
        });
        w.node("pmu", |w| {
            w.u32s("interrupts", &[PPI, 7, FOUR_CPUS_LEVEL_HIGH]);
            w.str("compatible", "arm,armv8-pmuv3");
        });
        w.node("apb-pclk", |w| {
            fixed_clock(w, VIRT_APB_PCLK, 24_000_000, "clk24mhz")
        });
        w.node("aliases", |w| w.str("serial0", "/pl011@9000000"));
        w.node("chosen", |w| {
            w.str("bootargs", "cordon.log=debug");
            w.str("stdout-path", "/pl011@9000000");
            w.u32s("kaslr-seed", &[0xb23e_f0e8, 0xe95a_2751]);
            w.u32s("rng-seed", &[0xb697_d0ec, 0xa608_422c]);
            w.u64s("linux,initrd-start", &[0x4800_0000]);
            w.u64s("linux,initrd-end", &[0x4a00_0000]);
            for (at, kind) in [
                (0x4800_0000u64, "multiboot,kernel"),
                (0x4900_0000, "multiboot,ramdisk"),
            ] {
                w.node(&format!("module@{at:x}"), |w| {
                    w.strs("compatible", &[kind, "multiboot,module"]);
                    w.u64s("reg", &[at, 0x100_0000]);
                });
            }
        });
    })
}

/// Raspberry Pi 4: 1 size cell at the root, the GIC-400 and UARTs under
/// `/soc` (bus addresses 0x7e..., CPU addresses 0xfe...), spin-table CPUs,
/// a clock tree through the CPRMAN and the aux block, GENET under `/scb`.
pub fn rpi4() -> Vec<u8> {
    Writer::tree(|w| {
        w.strs("compatible", &["raspberrypi,4-model-b", "brcm,bcm2711"]);
        w.str("model", "Raspberry Pi 4 Model B");
        w.u32("#address-cells", 2);
        w.u32("#size-cells", 1);
        w.u32("interrupt-parent", RPI4_GIC);
        w.node("aliases", |w| {
            w.str("serial0", "/soc/serial@7e201000");
            w.str("serial1", "/soc/serial@7e215040");
            w.str("ethernet0", "/scb/ethernet@7d580000");
        });
        w.node("chosen", |w| w.str("stdout-path", "serial1:115200n8"));
        w.node("reserved-memory", |w| {
            w.u32("#address-cells", 2);
            w.u32("#size-cells", 1);
            w.empty("ranges");
            w.node("linux,cma", |w| {
                w.str("compatible", "shared-dma-pool");
                w.u32("size", 0x400_0000);
                w.empty("reusable");
            });
        });
        w.node("memory@0", |w| {
            w.str("device_type", "memory");
            w.u32s("reg", &[0, 0, 0x3b40_0000, 0, 0x4000_0000, 0xbc00_0000]);
        });
        w.node("soc", |w| {
            w.str("compatible", "simple-bus");
            w.u32("#address-cells", 1);
            w.u32("#size-cells", 1);
            w.u32s(
                "ranges",
                &[
                    0x7e00_0000,
                    0,
                    0xfe00_0000,
                    0x180_0000, //
                    0x7c00_0000,
                    0,
                    0xfc00_0000,
                    0x200_0000, //
                    0x4000_0000,
                    0,
                    0xff80_0000,
                    0x80_0000,
                ],
            );
            w.u32s("dma-ranges", &[0xc000_0000, 0, 0, 0x4000_0000]);
            w.node("cprman@7e101000", |w| {
                w.str("compatible", "brcm,bcm2711-cprman");
                w.u32("#clock-cells", 1);
                w.u32s("reg", &[0x7e10_1000, 0x2000]);
                w.u32("clocks", RPI4_OSC);
                w.phandle(RPI4_CPRMAN);
            });
            w.node("gpio@7e200000", |w| {
                w.str("compatible", "brcm,bcm2711-gpio");
                w.u32s("reg", &[0x7e20_0000, 0xb4]);
                w.u32s("interrupts", &[SPI, 0x71, LEVEL_HIGH]);
                w.empty("gpio-controller");
                w.u32("#gpio-cells", 2);
                w.node("uart1_gpio14", |w| {
                    w.u32s("brcm,pins", &[14, 15]);
                    w.u32("brcm,function", 2);
                    w.phandle(RPI4_UART1_PINS);
                });
            });
            w.node("serial@7e201000", |w| {
                w.strs("compatible", &["arm,pl011", "arm,primecell"]);
                w.u32s("reg", &[0x7e20_1000, 0x200]);
                w.u32s("interrupts", &[SPI, 0x79, LEVEL_HIGH]);
                w.u32s("clocks", &[RPI4_CPRMAN, 0x13, RPI4_CPRMAN, 0x14]);
                w.strs("clock-names", &["uartclk", "apb_pclk"]);
            });
            w.node("aux@7e215000", |w| {
                w.str("compatible", "brcm,bcm2835-aux");
                w.u32("#clock-cells", 1);
                w.u32s("reg", &[0x7e21_5000, 8]);
                w.u32s("clocks", &[RPI4_CPRMAN, 0x14]);
                w.phandle(RPI4_AUX);
            });
            w.node("serial@7e215040", |w| {
                w.str("compatible", "brcm,bcm2835-aux-uart");
                w.u32s("reg", &[0x7e21_5040, 0x40]);
                w.u32s("interrupts", &[SPI, 0x5d, LEVEL_HIGH]);
                w.u32s("clocks", &[RPI4_AUX, 0]);
                w.str("status", "okay");
                w.str("pinctrl-names", "default");
                w.u32("pinctrl-0", RPI4_UART1_PINS);
            });
            w.node("spi@7e215080", |w| {
                w.str("compatible", "brcm,bcm2835-aux-spi");
                w.u32s("reg", &[0x7e21_5080, 0x40]);
                w.u32s("interrupts", &[SPI, 0x5d, LEVEL_HIGH]);
                w.u32s("clocks", &[RPI4_AUX, 1]);
                w.str("status", "disabled");
            });
            w.node("interrupt-controller@40041000", |w| {
                w.empty("interrupt-controller");
                w.u32("#interrupt-cells", 3);
                w.str("compatible", "arm,gic-400");
                w.u32s(
                    "reg",
                    &[
                        0x4004_1000,
                        0x1000,
                        0x4004_2000,
                        0x2000,
                        0x4004_4000,
                        0x2000,
                        0x4004_6000,
                        0x2000,
                    ],
                );
                w.u32s("interrupts", &[PPI, 9, FOUR_CPUS_LEVEL_HIGH]);
                w.phandle(RPI4_GIC);
            });
        });
        w.node("clocks", |w| {
            w.u32("#address-cells", 1);
            w.u32("#size-cells", 0);
            w.node("clk-osc", |w| fixed_clock(w, RPI4_OSC, 54_000_000, "osc"));
        });
        w.node("scb", |w| {
            w.str("compatible", "simple-bus");
            w.u32("#address-cells", 2);
            w.u32("#size-cells", 1);
            w.u32s("ranges", &[0, 0x7c00_0000, 0, 0xfc00_0000, 0x380_0000]);
            w.node("ethernet@7d580000", |w| {
                w.str("compatible", "brcm,bcm2711-genet-v5");
                w.u32s("reg", &[0, 0x7d58_0000, 0x1_0000]);
                w.u32("#address-cells", 1);
                w.u32("#size-cells", 1);
                w.u32s(
                    "interrupts",
                    &[SPI, 0x9d, LEVEL_HIGH, SPI, 0x9e, LEVEL_HIGH],
                );
                w.u32("phy-handle", RPI4_PHY);
                w.str("phy-mode", "rgmii-rxid");
                w.node("mdio@e14", |w| {
                    w.str("compatible", "brcm,genet-mdio-v5");
                    w.u32s("reg", &[0xe14, 8]);
                    w.u32("#address-cells", 1);
                    w.u32("#size-cells", 0);
                    w.node("ethernet-phy@1", |w| {
                        w.u32("reg", 1);
                        w.phandle(RPI4_PHY);
                    });
                });
            });
        });
        // A top-level device: its reg has the root's 2 + 1 cells.
        w.node("watchdog@fe100000", |w| {
            w.str("compatible", "brcm,bcm2835-pm-wdt");
            w.u32s("reg", &[0, 0xfe10_0000, 0x114]);
        });
        w.node("timer", |w| {
            w.str("compatible", "arm,armv8-timer");
            let mut interrupts = Vec::new();
            for ppi in [13, 14, 11, 10] {
                interrupts.extend([PPI, ppi, FOUR_CPUS_LEVEL_LOW]);
            }
            w.u32s("interrupts", &interrupts);
        });
        w.node("arm-pmu", |w| {
            w.str("compatible", "arm,cortex-a72-pmu");
            w.u32s("interrupts", &[SPI, 0x10, LEVEL_HIGH]);
        });
        w.node("cpus", |w| {
            w.u32("#address-cells", 1);
            w.u32("#size-cells", 0);
            w.str("enable-method", "brcm,bcm2836-smp");
            for n in 0..4u32 {
                w.node(&format!("cpu@{n}"), |w| {
                    w.str("device_type", "cpu");
                    w.str("compatible", "arm,cortex-a72");
                    w.u32("reg", n);
                    w.str("enable-method", "spin-table");
                    w.u32s("cpu-release-addr", &[0, 0xd8 + 8 * n]);
                    w.u32("d-cache-size", 0x8000);
                    w.u32("next-level-cache", RPI4_L2);
                });
            }
            w.node("l2-cache0", |w| {
                w.str("compatible", "cache");
                w.u32("cache-level", 2);
                w.phandle(RPI4_L2);
            });
        });
    })
}
