//! The board's device tree as cordon will boot with it: dumped by QEMU from
//! the very machine that runs the config (rpi4: from the Debian DTB, with
//! the RAM QEMU fills in as the firmware would), then checked against the
//! config, level 2, and for the boot modules the loader describes.

use std::fs;
use std::path::Path;

use cordon_config::{Config, VmField};
use cordon_hypervisor::dt::remove_nops;
use cordon_qemu::Machine;
use fdt::Fdt;
use fdt::node::FdtNode;

use super::load::Loaded;
use crate::error::{Error, Result};
use crate::exec;
use crate::paths::create_parent;

const MODULE_COMPATIBLE: &str = "multiboot,module";
pub const KERNEL_COMPATIBLE: &str = "multiboot,kernel";
pub const RAMDISK_COMPATIBLE: &str = "multiboot,ramdisk";

/// Has QEMU write the device tree `machine` boots with to `output`, and
/// returns it without NOP tokens (which the `fdt` crate misreads).
pub fn dump(machine: &Machine, output: &Path) -> Result<Vec<u8>> {
    create_parent(output)?;
    exec::output(&mut machine.dump_dtb_command(output)?)?;
    let mut blob = fs::read(output)
        .map_err(|error| Error::io(format!("cannot read {}", output.display()), error))?;
    remove_nops(&mut blob).map_err(|error| Error::BadFile {
        path: output.to_owned(),
        problem: format!("not a device tree: {error}"),
    })?;
    Ok(blob)
}

/// Checks `loaded`'s config against the device tree `blob` (from `path`),
/// and that it describes every boot module.
pub fn check(loaded: &Loaded, blob: &[u8], path: &Path) -> Result<()> {
    let fdt = Fdt::new(blob).map_err(|error| Error::BadFile {
        path: path.to_owned(),
        problem: format!("not a device tree: {error:?}"),
    })?;
    super::load::check(loaded, loaded.config.board_errors(&fdt))?;
    let missing = missing_modules(&loaded.config, &fdt);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(loaded.error(missing))
    }
}

/// The config's placed boot modules that the device tree lacks (a
/// `/chosen/module@...` with the right kind at the module's address).
fn missing_modules(config: &Config, fdt: &Fdt) -> Vec<String> {
    let modules: Vec<(u64, &str)> = fdt
        .find_node("/chosen")
        .into_iter()
        .flat_map(|chosen| chosen.children())
        .filter_map(module_node)
        .collect();
    let mut missing = Vec::new();
    for vm in &config.vms {
        let initrd = vm.image.initrd.as_ref();
        let expected = [
            (
                VmField::ImageKernel,
                Some(&vm.image.kernel),
                KERNEL_COMPATIBLE,
            ),
            (VmField::ImageInitrd, initrd, RAMDISK_COMPATIBLE),
        ];
        for (field, module, kind) in expected {
            let Some(address) = module.and_then(|module| module.address) else {
                continue;
            };
            if !modules.contains(&(address, kind)) {
                missing.push(format!(
                    "VM \"{}\": {field}: the device tree QEMU made has no {kind} module at \
                     {address:#x}",
                    vm.name
                ));
            }
        }
    }
    missing
}

/// The address and kind of a boot-module node.
fn module_node(node: FdtNode) -> Option<(u64, &'static str)> {
    let compatible = node.compatible()?;
    if !compatible.all().any(|c| c == MODULE_COMPATIBLE) {
        return None;
    }
    let kind = [KERNEL_COMPATIBLE, RAMDISK_COMPATIBLE]
        .into_iter()
        .find(|kind| compatible.all().any(|c| c == *kind))?;
    let address = node.raw_reg()?.next()?.address;
    let address = match address.len() {
        4 => u32::from_be_bytes(address.try_into().ok()?).into(),
        8 => u64::from_be_bytes(address.try_into().ok()?),
        _ => return None,
    };
    Some((address, kind))
}
