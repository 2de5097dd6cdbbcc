//! The Raspberry Pi 4 device tree that cordon boots with under QEMU
//! `raspi4b`, made by the tools as firmware would: Debian's
//! `bcm2711-rpi-4-b.dtb` with the boot modules of a partition config
//! described, and what only QEMU needs. Nothing here is for a real Pi.
//!
//! - `/chosen/module@<address>` nodes (the Multiboot for Arm binding) for
//!   the kernels and initrds QEMU's generic `loader` puts in RAM, with
//!   `/chosen`'s own cells: QEMU `raspi4b` loads the tree from its file at
//!   reset, so its `guest-loader` device's nodes would not survive.
//! - Nodes of devices QEMU does not model are disabled, so that a kernel
//!   given them does not wait for them forever: the HDMI interrupt
//!   controller, the HDMI encoders and their I2C buses.

use std::fs;
use std::path::Path;

use cordon_config::Config;
use cordon_hypervisor::dt::remove_nops;
use fdt::Fdt;
use fdt::node::FdtNode;
use vm_fdt::{FdtReserveEntry, FdtWriter};

use super::board_dt::{KERNEL_COMPATIBLE, RAMDISK_COMPATIBLE};
use super::files::VmFiles;
use crate::error::{Error, Result};
use crate::paths::create_parent;

/// Nodes of devices QEMU `raspi4b` does not model.
const UNMODELLED: &[&str] = &[
    "/soc/interrupt-controller@7ef00100",
    "/soc/hdmi@7ef00700",
    "/soc/i2c@7ef04500",
    "/soc/hdmi@7ef05700",
    "/soc/i2c@7ef09500",
];
/// The cells of `/chosen`, so of its module `reg`s.
const MODULE_ADDRESS_CELLS: u32 = 2;
const MODULE_SIZE_CELLS: u32 = 2;
const MODULE_COMPATIBLE: &str = "multiboot,module";
const CHOSEN: &str = "/chosen";
const STATUS: &str = "status";
const DISABLED: &str = "disabled";

/// Writes to `output` the device tree QEMU gives cordon for `config`
/// (placed, its files `files`), from Debian's at `debian`.
pub fn write(debian: &Path, config: &Config, files: &[VmFiles], output: &Path) -> Result<()> {
    let mut modules = Vec::new();
    for (vm, files) in config.vms.iter().zip(files) {
        let placed = [
            (
                Some(&vm.image.kernel),
                Some(&files.kernel),
                KERNEL_COMPATIBLE,
            ),
            (
                vm.image.initrd.as_ref(),
                files.initrd.as_ref(),
                RAMDISK_COMPATIBLE,
            ),
        ];
        for (module, file, kind) in placed {
            let (Some(module), Some(file)) = (module, file) else {
                continue;
            };
            modules.push(Module {
                address: module.address.expect("the modules were placed"),
                size: file.size,
                kind,
                bootargs: (kind == KERNEL_COMPATIBLE).then(|| vm.image.bootargs.clone()),
            });
        }
    }
    let blob = fs::read(debian)
        .map_err(|error| Error::io(format!("cannot read {}", debian.display()), error))?;
    let made = for_qemu(&blob, &modules).map_err(|problem| Error::BadFile {
        path: debian.to_owned(),
        problem,
    })?;
    create_parent(output)?;
    fs::write(output, made)
        .map_err(|error| Error::io(format!("cannot write {}", output.display()), error))
}

/// A boot module: a file QEMU puts in RAM for cordon.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Module {
    address: u64,
    size: u64,
    /// [`KERNEL_COMPATIBLE`] or [`RAMDISK_COMPATIBLE`].
    kind: &'static str,
    /// A kernel's command line.
    bootargs: Option<String>,
}

/// `debian` (a DTB) as QEMU `raspi4b` needs it, with `modules` described;
/// an error says what is wrong with the input.
fn for_qemu(debian: &[u8], modules: &[Module]) -> std::result::Result<Vec<u8>, String> {
    let mut blob = debian.to_vec();
    remove_nops(&mut blob).map_err(|error| format!("not a device tree: {error}"))?;
    let fdt = Fdt::new(&blob).map_err(|error| format!("not a device tree: {error:?}"))?;
    for path in UNMODELLED.iter().chain([&CHOSEN]) {
        if fdt.find_node(path).is_none() {
            return Err(format!("no {path} node"));
        }
    }
    let reservations: Vec<FdtReserveEntry> = fdt
        .memory_reservations()
        .map(|r| FdtReserveEntry::new(r.address() as u64, r.size() as u64))
        .collect::<Result<_, _>>()
        .map_err(|error| format!("memory reservations: {error}"))?;
    let mut writer = FdtWriter::new_with_mem_reserv(&reservations).map_err(write_error)?;
    let root = fdt.find_node("/").ok_or("no root node")?;
    copy(&mut writer, root, "/", modules).map_err(write_error)?;
    writer.finish().map_err(write_error)
}

fn write_error(error: vm_fdt::Error) -> String {
    format!("writing the device tree: {error}")
}

/// Writes `node` (at `path`) and everything below it, changed as the
/// module documentation says.
fn copy(
    writer: &mut FdtWriter,
    node: FdtNode,
    path: &str,
    modules: &[Module],
) -> Result<(), vm_fdt::Error> {
    let name = if path == "/" { "" } else { node.name };
    let handle = writer.begin_node(name)?;
    let disable = UNMODELLED.contains(&path);
    for property in node.properties() {
        match property.name {
            STATUS if disable => {}
            "#address-cells" | "#size-cells" if path == CHOSEN => {}
            _ => writer.property(property.name, property.value)?,
        }
    }
    if disable {
        writer.property_string(STATUS, DISABLED)?;
    }
    if path == CHOSEN {
        writer.property_u32("#address-cells", MODULE_ADDRESS_CELLS)?;
        writer.property_u32("#size-cells", MODULE_SIZE_CELLS)?;
        for module in modules {
            let node = writer.begin_node(&format!("module@{:x}", module.address))?;
            writer.property_string_list(
                "compatible",
                vec![MODULE_COMPATIBLE.to_owned(), module.kind.to_owned()],
            )?;
            writer.property_array_u64("reg", &[module.address, module.size])?;
            if let Some(bootargs) = &module.bootargs {
                writer.property_string("bootargs", bootargs)?;
            }
            writer.end_node(node)?;
        }
    }
    let prefix = if path == "/" { "" } else { path };
    for child in node.children() {
        copy(writer, child, &format!("{prefix}/{}", child.name), modules)?;
    }
    writer.end_node(handle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn debian_dtb() -> Vec<u8> {
        let path = crate::paths::Workspace::locate()
            .cache()
            .join("bcm2711-rpi-4-b.dtb");
        std::fs::read(&path).unwrap_or_else(|error| {
            panic!(
                "{}: {error} (`cargo xtask test` fetches Debian's DTB first)",
                path.display()
            )
        })
    }

    #[test]
    fn disables_what_qemu_lacks_and_describes_the_modules() {
        let debian = debian_dtb();
        let kernel = Module {
            address: 0x3000_0000,
            size: 0x1234,
            kind: KERNEL_COMPATIBLE,
            bootargs: Some("hostile.dma-copy".to_owned()),
        };
        let qemu = for_qemu(&debian, &[kernel]).unwrap();
        let fdt = Fdt::new(&qemu).unwrap();
        for path in UNMODELLED {
            let status = fdt.find_node(path).unwrap().property(STATUS).unwrap();
            assert_eq!(status.as_str(), Some(DISABLED), "{path}");
        }
        let chosen = fdt.find_node(CHOSEN).unwrap();
        assert_eq!(chosen.cell_sizes().size_cells, 2);
        let module = fdt.find_node("/chosen/module@30000000").unwrap();
        let reg = module.property("reg").unwrap().value;
        assert_eq!(
            reg,
            [0, 0, 0, 0, 0x30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34]
        );
        assert_eq!(
            module.property("bootargs").unwrap().as_str(),
            Some("hostile.dma-copy")
        );
        let mmc = fdt.find_node("/emmc2bus/mmc@7e340000").unwrap();
        assert_eq!(mmc.property(STATUS).unwrap().as_str(), Some("okay"));

        let mut original = debian.clone();
        remove_nops(&mut original).unwrap();
        let original = Fdt::new(&original).unwrap();
        assert_eq!(
            original.all_nodes().count(),
            fdt.all_nodes().count() - 1,
            "no node lost, the module added"
        );
        assert_eq!(
            original.memory_reservations().count(),
            fdt.memory_reservations().count()
        );
    }

    #[test]
    fn a_tree_without_the_nodes_is_refused() {
        let mut writer = FdtWriter::new().unwrap();
        let root = writer.begin_node("").unwrap();
        writer.end_node(root).unwrap();
        let empty = writer.finish().unwrap();
        assert_eq!(
            for_qemu(&empty, &[]),
            Err("no /soc/interrupt-controller@7ef00100 node".to_owned())
        );
    }
}
