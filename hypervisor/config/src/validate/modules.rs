//! Boot-module addresses: absent everywhere (as written in a TOML file) or
//! present everywhere (once the tools placed the modules), page aligned and
//! distinct.

use alloc::vec::Vec;

use crate::MODULE_ALIGNMENT;
use crate::error::{Problem, VmField};
use crate::model::{Config, ModuleRef, VmConfig};

use super::Errors;

pub fn check(config: &Config, errors: &mut Errors) {
    let any_placed = all(config).any(|(_, _, module)| module.address.is_some());
    let mut placed: Vec<(u64, &VmConfig)> = Vec::new();
    for (vm, field, module) in all(config) {
        let Some(address) = module.address else {
            if any_placed {
                errors.vm(vm, field, Problem::AddressMissing);
            }
            continue;
        };
        if !address.is_multiple_of(MODULE_ALIGNMENT) {
            let alignment = MODULE_ALIGNMENT;
            errors.vm(vm, field, Problem::NotAligned { address, alignment });
        } else if let Some((_, other)) = placed.iter().find(|(at, _)| *at == address) {
            let by = other.name.clone();
            errors.vm(vm, field, Problem::AddressTaken { address, by });
        }
        placed.push((address, vm));
    }
}

/// Every boot module: its VM, its field, and the module.
pub fn all(config: &Config) -> impl Iterator<Item = (&VmConfig, VmField, &ModuleRef)> {
    config.vms.iter().flat_map(|vm| {
        let kernel = (vm, VmField::ImageKernel, &vm.image.kernel);
        let initrd = vm
            .image
            .initrd
            .as_ref()
            .map(|initrd| (vm, VmField::ImageInitrd, initrd));
        core::iter::once(kernel).chain(initrd)
    })
}
