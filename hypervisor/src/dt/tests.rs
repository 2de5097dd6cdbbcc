//! Device trees shaped like the boards' (built with vm-fdt) and what cordon
//! reads from them.

use fdt::Fdt;
use vm_fdt::{FdtReserveEntry, FdtWriter};

use super::*;

/// A QEMU `virt`-like tree: 1 GiB at 0x4000_0000, PSCI over SMC, 4 CPUs, an initrd.
pub(crate) fn virt_like_dtb() -> std::vec::Vec<u8> {
    let mut w = FdtWriter::new().unwrap();
    let root = w.begin_node("").unwrap();
    w.property_u32("#address-cells", 2).unwrap();
    w.property_u32("#size-cells", 2).unwrap();

    let chosen = w.begin_node("chosen").unwrap();
    w.property_string("bootargs", "console=ttyAMA0 cordon.selftest=fault")
        .unwrap();
    w.property_string("stdout-path", "/pl011@9000000").unwrap();
    w.property_u64("linux,initrd-start", 0x4800_0000).unwrap();
    w.property_u64("linux,initrd-end", 0x4810_0000).unwrap();
    // As QEMU's guest-loader writes them: no cells in /chosen, root's apply.
    let kernel = w.begin_node("module@0x60000000").unwrap();
    w.property_string_list(
        "compatible",
        vec!["multiboot,module".into(), "multiboot,kernel".into()],
    )
    .unwrap();
    w.property_array_u64("reg", &[0x6000_0000, 0x1a0_0000])
        .unwrap();
    w.property_string("bootargs", "console=ttyAMA0").unwrap();
    w.end_node(kernel).unwrap();
    let ramdisk = w.begin_node("module@0x64000000").unwrap();
    w.property_string_list(
        "compatible",
        vec!["multiboot,module".into(), "multiboot,ramdisk".into()],
    )
    .unwrap();
    w.property_array_u64("reg", &[0x6400_0000, 0x40_0000])
        .unwrap();
    w.end_node(ramdisk).unwrap();
    w.end_node(chosen).unwrap();

    let memory = w.begin_node("memory@40000000").unwrap();
    w.property_string("device_type", "memory").unwrap();
    w.property_array_u64("reg", &[0x4000_0000, 0x4000_0000])
        .unwrap();
    w.end_node(memory).unwrap();

    let psci = w.begin_node("psci").unwrap();
    w.property_string_list(
        "compatible",
        vec!["arm,psci-1.0".into(), "arm,psci-0.2".into()],
    )
    .unwrap();
    w.property_string("method", "smc").unwrap();
    w.end_node(psci).unwrap();

    let cpus = w.begin_node("cpus").unwrap();
    w.property_u32("#address-cells", 1).unwrap();
    w.property_u32("#size-cells", 0).unwrap();
    for n in 0..4u32 {
        let cpu = w.begin_node(&format!("cpu@{n}")).unwrap();
        w.property_string("device_type", "cpu").unwrap();
        w.property_u32("reg", n).unwrap();
        w.property_string("enable-method", "psci").unwrap();
        w.end_node(cpu).unwrap();
    }
    w.end_node(cpus).unwrap();

    let uart = w.begin_node("pl011@9000000").unwrap();
    w.property_string("compatible", "arm,pl011").unwrap();
    w.property_array_u64("reg", &[0x900_0000, 0x1000]).unwrap();
    w.end_node(uart).unwrap();

    w.end_node(root).unwrap();
    w.finish().unwrap()
}

/// An RPi4-like tree: a memreserve for the spin tables, firmware
/// reserved-memory, spin-table CPUs, and UARTs behind `/soc` ranges.
pub(crate) fn rpi4_like_dtb() -> std::vec::Vec<u8> {
    let mut w =
        FdtWriter::new_with_mem_reserv(&[FdtReserveEntry::new(0, 0x1000).unwrap()]).unwrap();
    let root = w.begin_node("").unwrap();
    w.property_u32("#address-cells", 2).unwrap();
    w.property_u32("#size-cells", 1).unwrap();

    let aliases = w.begin_node("aliases").unwrap();
    w.property_string("serial0", "/soc/serial@7e201000")
        .unwrap();
    w.property_string("serial1", "/soc/serial@7e215040")
        .unwrap();
    w.end_node(aliases).unwrap();

    let chosen = w.begin_node("chosen").unwrap();
    w.property_string("stdout-path", "serial1:115200n8")
        .unwrap();
    w.end_node(chosen).unwrap();

    let memory = w.begin_node("memory@0").unwrap();
    w.property_string("device_type", "memory").unwrap();
    // Two banks: below the 1 GiB legacy DMA limit and above it.
    w.property_array_u32("reg", &[0, 0, 0x3c00_0000, 0, 0x4000_0000, 0xbc00_0000])
        .unwrap();
    w.end_node(memory).unwrap();

    let reserved = w.begin_node("reserved-memory").unwrap();
    w.property_u32("#address-cells", 2).unwrap();
    w.property_u32("#size-cells", 1).unwrap();
    w.property_null("ranges").unwrap();
    let linux_cma = w.begin_node("linux,cma").unwrap();
    w.property_u32("size", 0x400_0000).unwrap();
    w.end_node(linux_cma).unwrap();
    let nvram = w.begin_node("nvram@3b000000").unwrap();
    w.property_array_u32("reg", &[0, 0x3b00_0000, 0x10_0000])
        .unwrap();
    w.end_node(nvram).unwrap();
    w.end_node(reserved).unwrap();

    let cpus = w.begin_node("cpus").unwrap();
    w.property_u32("#address-cells", 1).unwrap();
    w.property_u32("#size-cells", 0).unwrap();
    for n in 0..4u32 {
        let cpu = w.begin_node(&format!("cpu@{n}")).unwrap();
        w.property_string("device_type", "cpu").unwrap();
        w.property_u32("reg", n).unwrap();
        w.property_string("enable-method", "spin-table").unwrap();
        w.property_array_u32("cpu-release-addr", &[0, 0xd8 + 8 * n])
            .unwrap();
        w.end_node(cpu).unwrap();
    }
    w.end_node(cpus).unwrap();

    let soc = w.begin_node("soc").unwrap();
    w.property_u32("#address-cells", 1).unwrap();
    w.property_u32("#size-cells", 1).unwrap();
    w.property_array_u32(
        "ranges",
        &[
            0x7e00_0000,
            0,
            0xfe00_0000,
            0x180_0000,
            0x7c00_0000,
            0,
            0xfc00_0000,
            0x200_0000,
        ],
    )
    .unwrap();
    for (name, addr, compatible) in [
        ("serial@7e201000", 0x7e20_1000u32, "arm,pl011"),
        ("serial@7e215040", 0x7e21_5040, "brcm,bcm2835-aux-uart"),
    ] {
        let uart = w.begin_node(name).unwrap();
        w.property_string("compatible", compatible).unwrap();
        w.property_array_u32("reg", &[addr, 0x40]).unwrap();
        w.end_node(uart).unwrap();
    }
    w.end_node(soc).unwrap();

    w.end_node(root).unwrap();
    w.finish().unwrap()
}

#[test]
fn virt_memory_cpus_psci_initrd_and_options() {
    let blob = virt_like_dtb();
    let fdt = Fdt::new(&blob).unwrap();
    let info = BootInfo::parse(&fdt).unwrap();

    let banks: std::vec::Vec<_> = info.memory.iter().copied().collect();
    assert_eq!(
        banks,
        [PhysRange::from_base_size(0x4000_0000, 0x4000_0000).unwrap()]
    );
    assert_eq!(info.psci, Some(PsciConduit::Smc));
    assert_eq!(info.cpus.len(), 4);
    assert!(
        info.cpus
            .iter()
            .all(|cpu| cpu.enable_method == Some(EnableMethod::Psci))
    );
    assert_eq!(
        info.cpu_index(0x8000_0002),
        Some(2),
        "MPIDR bit 31 is ignored"
    );
    let reserved: std::vec::Vec<_> = info
        .reserved
        .iter()
        .map(|r| (r.range.start, r.kind))
        .collect();
    assert_eq!(
        reserved,
        [
            (0x4800_0000, ReservedKind::Initrd),
            (0x6000_0000, ReservedKind::Module),
            (0x6400_0000, ReservedKind::Module)
        ]
    );
    let kernel = info.module(ModuleKind::Kernel).unwrap();
    assert_eq!(
        kernel.range,
        PhysRange::from_base_size(0x6000_0000, 0x1a0_0000).unwrap()
    );
    assert_eq!(kernel.bootargs, Some("console=ttyAMA0"));
    let ramdisk = info.module(ModuleKind::Ramdisk).unwrap();
    assert_eq!(ramdisk.range.size(), 0x40_0000);
    assert_eq!(ramdisk.bootargs, None);
    assert_eq!(info.option("selftest"), Some("fault"));
    assert_eq!(info.option("console"), None);
    assert_eq!(info.stdout_path, Some("/pl011@9000000"));
    assert_eq!(
        translate_to_cpu(&fdt, "/pl011@9000000"),
        Ok((0x900_0000, 0x1000))
    );
}

#[test]
fn rpi4_spin_tables_reservations_and_soc_addresses() {
    let blob = rpi4_like_dtb();
    let fdt = Fdt::new(&blob).unwrap();
    let info = BootInfo::parse(&fdt).unwrap();

    let banks: std::vec::Vec<_> = info.memory.iter().map(|r| (r.start, r.end)).collect();
    assert_eq!(banks, [(0, 0x3c00_0000), (0x4000_0000, 0xfc00_0000)]);
    assert_eq!(info.psci, None);
    let release: std::vec::Vec<_> = info.cpus.iter().map(|c| c.enable_method).collect();
    assert_eq!(
        release[3],
        Some(EnableMethod::SpinTable { release_addr: 0xf0 })
    );
    let kinds: std::vec::Vec<_> = info.reserved.iter().map(|r| (r.range, r.kind)).collect();
    assert_eq!(
        kinds,
        [
            (
                PhysRange {
                    start: 0,
                    end: 0x1000
                },
                ReservedKind::MemReserve
            ),
            (
                PhysRange::from_base_size(0x3b00_0000, 0x10_0000).unwrap(),
                ReservedKind::ReservedMemory("nvram@3b000000")
            ),
        ],
        "size-only reserved-memory nodes pin nothing"
    );

    let stdout = resolve_path(&fdt, info.stdout_path.unwrap()).unwrap();
    assert_eq!(stdout, "/soc/serial@7e215040");
    assert_eq!(translate_to_cpu(&fdt, stdout), Ok((0xfe21_5040, 0x40)));
    assert_eq!(
        translate_to_cpu(&fdt, "/soc/serial@7e201000"),
        Ok((0xfe20_1000, 0x40))
    );
}

#[test]
fn malformed_trees_are_named() {
    assert!(matches!(
        Fdt::new(&[0u8; 64]).map(|_| ()),
        Err(fdt::FdtError::BadMagic)
    ));

    // A cpu whose spin-table has no release address.
    let mut w = FdtWriter::new().unwrap();
    let root = w.begin_node("").unwrap();
    let memory = w.begin_node("memory@0").unwrap();
    w.property_string("device_type", "memory").unwrap();
    w.property_array_u32("reg", &[0, 0, 0x1000_0000]).unwrap();
    w.end_node(memory).unwrap();
    let cpus = w.begin_node("cpus").unwrap();
    w.property_u32("#address-cells", 1).unwrap();
    w.property_u32("#size-cells", 0).unwrap();
    let cpu = w.begin_node("cpu@0").unwrap();
    w.property_string("device_type", "cpu").unwrap();
    w.property_u32("reg", 0).unwrap();
    w.property_string("enable-method", "spin-table").unwrap();
    w.end_node(cpu).unwrap();
    w.end_node(cpus).unwrap();
    w.end_node(root).unwrap();
    let blob = w.finish().unwrap();
    let fdt = Fdt::new(&blob).unwrap();
    let err = BootInfo::parse(&fdt).unwrap_err();
    assert_eq!(
        err,
        DtError::BadProperty {
            node: "cpu@0",
            property: "cpu-release-addr"
        }
    );
    assert_eq!(
        err.to_string(),
        "node cpu@0: malformed property cpu-release-addr"
    );
}

#[test]
fn a_tree_without_memory_is_refused() {
    let mut w = FdtWriter::new().unwrap();
    let root = w.begin_node("").unwrap();
    let cpus = w.begin_node("cpus").unwrap();
    w.end_node(cpus).unwrap();
    w.end_node(root).unwrap();
    let blob = w.finish().unwrap();
    let fdt = Fdt::new(&blob).unwrap();
    assert_eq!(BootInfo::parse(&fdt).unwrap_err(), DtError::NoMemory);
}
