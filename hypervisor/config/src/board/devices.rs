//! Passed-through devices: in the board's device tree, with registers, not
//! one of the nodes cordon keeps, and in a VM trusted with DMA if a bus above
//! them translates DMA.

use fdt::Fdt;

use super::facts::Facts;
use super::tree;
use crate::error::{Problem, VmField};
use crate::model::Config;
use crate::validate::Errors;

pub fn check(config: &Config, dt: &Fdt, facts: &Facts, errors: &mut Errors) {
    for vm in &config.vms {
        for path in vm.devices.iter().filter(|path| path.starts_with('/')) {
            let problem = match tree::find_exact(dt, path) {
                None => Problem::NoSuchDevice { path: path.clone() },
                Some(node) if !tree::has_registers(node) => {
                    Problem::NoRegisters { path: path.clone() }
                }
                Some(_) => match (facts.owner(path), tree::dma_bus(dt, path)) {
                    (Some(owner), _) => Problem::Owned {
                        path: path.clone(),
                        owner,
                    },
                    (None, Some(bus)) if !vm.dma_trusted => Problem::DmaNotTrusted {
                        path: path.clone(),
                        bus,
                    },
                    (None, _) => continue,
                },
            };
            errors.vm(vm, VmField::Devices, problem);
        }
    }
}
