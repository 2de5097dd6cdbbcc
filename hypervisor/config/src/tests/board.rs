//! Level 2 against a device tree shaped like QEMU `virt`'s: 4 CPUs, 2 GiB
//! of RAM at 0x4000_0000 (the last 2 MiB reserved), a GICv2 with an MSI
//! frame below it, PSCI, the timer, a PL011 console and two virtio-mmio
//! transports.

use alloc::vec::Vec;

use fdt::Fdt;
use vm_fdt::{FdtReserveEntry, FdtWriter};

use super::*;
use crate::{GIB, MIB};

const RAM_BASE: u64 = 0x4000_0000;
const RAM_SIZE: u64 = 2 * GIB;
const CPUS: u32 = 4;
const GIC_PHANDLE: u32 = 0x8001;
const RESERVED: u64 = RAM_BASE + RAM_SIZE - 2 * MIB;

/// Adds a node at the current level with `properties` (written by `fill`).
fn node(
    w: &mut FdtWriter,
    name: &str,
    fill: impl FnOnce(&mut FdtWriter) -> Result<(), vm_fdt::Error>,
) -> Result<(), vm_fdt::Error> {
    let node = w.begin_node(name)?;
    fill(w)?;
    w.end_node(node)
}

fn write_virt(memreserve: &[FdtReserveEntry]) -> Result<Vec<u8>, vm_fdt::Error> {
    let mut w = FdtWriter::new_with_mem_reserv(memreserve)?;
    let root = w.begin_node("")?;
    w.property_u32("#address-cells", 2)?;
    w.property_u32("#size-cells", 2)?;
    w.property_u32("interrupt-parent", GIC_PHANDLE)?;
    node(&mut w, "psci", |w| {
        w.property_string_list(
            "compatible",
            ["arm,psci-1.0".into(), "arm,psci-0.2".into()].into(),
        )?;
        w.property_string("method", "smc")
    })?;
    node(&mut w, "memory@40000000", |w| {
        w.property_string("device_type", "memory")?;
        w.property_array_u64("reg", &[RAM_BASE, RAM_SIZE])
    })?;
    node(&mut w, "reserved-memory", |w| {
        w.property_u32("#address-cells", 2)?;
        w.property_u32("#size-cells", 2)?;
        w.property_null("ranges")?;
        node(w, "firmware@bfe00000", |w| {
            w.property_array_u64("reg", &[RESERVED, 2 * MIB])
        })
    })?;
    for (name, address, spi) in [
        ("virtio_mmio@a000000", 0xa00_0000, 0x10),
        ("virtio_mmio@a003e00", 0xa00_3e00, 0x2f),
    ] {
        node(&mut w, name, |w| {
            w.property_string("compatible", "virtio,mmio")?;
            w.property_array_u64("reg", &[address, 0x200])?;
            w.property_array_u32("interrupts", &[0, spi, 1])
        })?;
    }
    node(&mut w, "pl011@9000000", |w| {
        w.property_string("compatible", "arm,pl011")?;
        w.property_array_u64("reg", &[0x900_0000, 0x1000])
    })?;
    node(&mut w, "pl061@9030000", |w| {
        w.property_string("compatible", "arm,pl061")?;
        w.property_array_u64("reg", &[0x903_0000, 0x1000])
    })?;
    // A bus whose masters see the first GiB of RAM from bus 0xc000_0000
    // (as RPi4's `/soc` sees CPU 0 there).
    node(&mut w, "soc", |w| {
        w.property_u32("#address-cells", 1)?;
        w.property_u32("#size-cells", 1)?;
        w.property_array_u32("ranges", &[0x7e00_0000, 0, 0xc00_0000, 0x10_0000])?;
        w.property_array_u32("dma-ranges", &[0xc000_0000, 0, 0x4000_0000, 0x4000_0000])?;
        node(w, "dma@7e007000", |w| {
            w.property_string("compatible", "brcm,bcm2835-dma")?;
            w.property_array_u32("reg", &[0x7e00_7000, 0x1000])
        })
    })?;
    node(&mut w, "apb-pclk", |w| {
        w.property_string("compatible", "fixed-clock")
    })?;
    node(&mut w, "intc@8000000", |w| {
        w.property_string("compatible", "arm,cortex-a15-gic")?;
        w.property_null("interrupt-controller")?;
        w.property_u32("phandle", GIC_PHANDLE)?;
        w.property_u32("#address-cells", 2)?;
        w.property_u32("#size-cells", 2)?;
        w.property_array_u64("reg", &[0x800_0000, 0x1_0000, 0x801_0000, 0x1_0000])?;
        node(w, "v2m@8020000", |w| {
            w.property_string("compatible", "arm,gic-v2m-frame")?;
            w.property_array_u64("reg", &[0x802_0000, 0x1000])
        })
    })?;
    node(&mut w, "timer", |w| {
        w.property_string_list(
            "compatible",
            ["arm,armv8-timer".into(), "arm,armv7-timer".into()].into(),
        )?;
        w.property_array_u32("interrupts", &[1, 13, 0x104])
    })?;
    node(&mut w, "cpus", |w| {
        w.property_u32("#address-cells", 1)?;
        w.property_u32("#size-cells", 0)?;
        for cpu in 0..CPUS {
            node(w, &alloc::format!("cpu@{cpu}"), |w| {
                w.property_string("device_type", "cpu")?;
                w.property_u32("reg", cpu)
            })?;
        }
        Ok(())
    })?;
    node(&mut w, "aliases", |w| {
        w.property_string("serial0", "/pl011@9000000")
    })?;
    node(&mut w, "chosen", |w| {
        w.property_string("stdout-path", "serial0:115200n8")
    })?;
    w.end_node(root)?;
    w.finish()
}

/// The `virt`-shaped device tree.
pub fn virt_dtb() -> Vec<u8> {
    write_virt(&[]).expect("the test tree is well formed")
}

fn board_errors(config: &Config) -> Vec<ConfigError> {
    let dtb = virt_dtb();
    config.board_errors(&Fdt::new(&dtb).unwrap())
}

#[test]
fn the_two_vms_fit_the_board() {
    let dtb = virt_dtb();
    assert_eq!(
        two_vms().validate_for_board(&Fdt::new(&dtb).unwrap()),
        Ok(())
    );
}

#[test]
fn cpus_exist_on_the_board() {
    let mut config = two_vms();
    config.vms[1].cpus = [3, 4].into();
    assert_only(
        board_errors(&config),
        "VM \"rt\": cpus: CPU 4 does not exist: the board has 4 (0 to 3)",
    );
}

#[test]
fn dma_masters_need_a_vm_trusted_with_dma() {
    let mut config = two_vms();
    config.vms[1].devices = ["/soc/dma@7e007000".into()].into();
    assert_only(
        board_errors(&config),
        "VM \"rt\": devices: /soc/dma@7e007000 may master DMA (its bus /soc has dma-ranges) \
         and there is no IOMMU: set dma-trusted = true to trust the VM with all memory the bus \
         reaches",
    );
    config.vms[1].dma_trusted = true;
    assert_eq!(board_errors(&config), []);
}

/// The bus's masters reach the first GiB of RAM, up to 0x8000_0000.
#[test]
fn memory_of_a_vm_trusted_with_dma_is_within_reach() {
    let mut config = two_vms();
    config.vms[1].devices = ["/soc/dma@7e007000".into()].into();
    config.vms[1].dma_trusted = true;
    config.vms[1].memory.address = Some(0x7e00_0000);
    config.vms[1].memory.size = 64 * MIB;
    assert_only(
        board_errors(&config),
        "VM \"rt\": memory.address: 0x7e000000-0x81ffffff is not all below 0x80000000, where \
         the DMA masters of the VM's devices reach",
    );
    config.vms[1].memory.address = Some(0x7c00_0000);
    assert_eq!(board_errors(&config), []);

    config.vms[1].memory.address = None;
    config.vms[1].memory.size = GIB + 64 * MIB;
    assert_only(
        board_errors(&config),
        "VM \"rt\": memory.size: the board has no 1088 MiB of free RAM below 0x80000000, where \
         the DMA masters of the VM's devices reach",
    );
    config.vms[1].dma_trusted = false;
    config.vms[1].devices.clear();
    assert_eq!(board_errors(&config), [], "untrusted, it may lie anywhere");
}

#[test]
fn memory_fits_in_one_free_piece() {
    let mut config = two_vms();
    config.vms[0].memory.size = RAM_SIZE;
    assert_eq!(
        messages(board_errors(&config)),
        [
            "VM \"mgmt\": memory.size: 2 GiB does not fit: the largest free piece of the \
             board's RAM is 2046 MiB",
            "VM \"mgmt\": memory.size: the VMs and channels up to here need 2 GiB, the board \
             has 2046 MiB of free RAM",
        ]
    );
}

#[test]
fn all_memory_fits_together() {
    let mut config = two_vms();
    config.vms[0].memory.size = 1536 * MIB;
    config.vms[1].memory.size = 508 * MIB;
    assert_eq!(config.validate(), Ok(()));
    assert_eq!(board_errors(&config), []);
    config.channels[0].size = 4 * MIB;
    assert_only(
        board_errors(&config),
        "channel \"mgmt-rt\": size: the VMs and channels up to here need 2 GiB, the board \
         has 2046 MiB of free RAM",
    );
}

#[test]
fn fixed_memory_is_in_a_ram_bank() {
    let mut config = two_vms();
    config.vms[1].memory.address = Some(RAM_BASE - 32 * MIB);
    assert_only(
        board_errors(&config),
        "VM \"rt\": memory.address: 0x3e000000-0x41ffffff is not inside one of the board's \
         RAM banks",
    );
    config.vms[1].memory.address = Some(RAM_BASE);
    assert_eq!(board_errors(&config), []);
}

#[test]
fn fixed_memory_avoids_reserved_ram() {
    let mut config = two_vms();
    config.vms[1].memory.address = Some(RAM_BASE + RAM_SIZE - 64 * MIB);
    assert_only(
        board_errors(&config),
        "VM \"rt\": memory.address: 0xbfe00000-0xbfffffff overlaps RAM the board keeps reserved",
    );
}

#[test]
fn memreserve_entries_are_reserved_too() {
    let reserve = [FdtReserveEntry::new(RAM_BASE, 4096).unwrap()];
    let dtb = write_virt(&reserve).unwrap();
    let mut config = two_vms();
    config.vms[1].memory.address = Some(RAM_BASE);
    assert_only(
        config.board_errors(&Fdt::new(&dtb).unwrap()),
        "VM \"rt\": memory.address: 0x40000000-0x40000fff overlaps RAM the board keeps reserved",
    );
}

#[test]
fn below_must_be_satisfiable() {
    let mut config = two_vms();
    config.vms[0].memory.below = Some(RAM_BASE + 256 * MIB);
    assert_only(
        board_errors(&config),
        "VM \"mgmt\": memory.below: the board has no 512 MiB of free RAM below 0x50000000",
    );
    config.vms[0].memory.below = Some(RAM_BASE + GIB);
    assert_eq!(board_errors(&config), []);
}

#[test]
fn modules_are_in_ram() {
    let mut config = two_vms();
    config.vms[0].image.kernel.address = Some(0x6000_0000);
    config.vms[0].image.initrd.as_mut().unwrap().address = Some(0x6400_0000);
    config.vms[1].image.kernel.address = Some(0x2000_0000);
    assert_only(
        board_errors(&config),
        "VM \"rt\": image.kernel: 0x20000000 is not in the board's RAM",
    );
}

#[test]
fn devices_exist_at_their_exact_path() {
    for path in ["/virtio_mmio@a000400", "/virtio_mmio", "/serial0"] {
        let mut config = two_vms();
        config.vms[1].devices = [path.into()].into();
        let message =
            alloc::format!("VM \"rt\": devices: {path} is not in the board's device tree");
        assert_only(board_errors(&config), &message);
    }
}

#[test]
fn devices_have_registers() {
    let mut config = two_vms();
    config.vms[1].devices = ["/apb-pclk".into()].into();
    assert_only(
        board_errors(&config),
        "VM \"rt\": devices: /apb-pclk has no reg with registers to map",
    );
}

#[test]
fn cordons_own_nodes_are_not_passed_through() {
    for (path, owner) in [
        ("/intc@8000000", "the interrupt controller"),
        ("/intc@8000000/v2m@8020000", "the interrupt controller"),
        ("/memory@40000000", "RAM"),
        ("/reserved-memory/firmware@bfe00000", "RAM"),
        ("/pl011@9000000", "the console UART (stdout-path)"),
    ] {
        let mut config = two_vms();
        config.vms[1].devices = [path.into()].into();
        let message = alloc::format!("VM \"rt\": devices: {path} is {owner}, which cordon keeps");
        assert_only(board_errors(&config), &message);
    }
    // Nodes without registers fail earlier, whoever keeps them.
    for path in ["/cpus/cpu@1", "/psci", "/timer", "/chosen"] {
        let mut config = two_vms();
        config.vms[1].devices = [path.into()].into();
        assert_eq!(board_errors(&config).len(), 1, "{path}");
    }
    let mut config = two_vms();
    config.vms[1].devices = ["/pl061@9030000".into()].into();
    assert_eq!(board_errors(&config), []);
}

#[test]
fn a_tree_without_ram_is_a_board_error() {
    let mut w = FdtWriter::new().unwrap();
    let root = w.begin_node("").unwrap();
    node(&mut w, "cpus", |w| {
        node(w, "cpu@0", |w| w.property_string("device_type", "cpu"))
    })
    .unwrap();
    w.end_node(root).unwrap();
    let dtb = w.finish().unwrap();
    assert_only(
        two_vms().board_errors(&Fdt::new(&dtb).unwrap()),
        "board: device tree: no memory node with RAM in its reg",
    );
}
