//! Passed-through devices: in the board's device tree, with registers, and
//! not one of the nodes cordon keeps.

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
                Some(_) => match facts.owner(path) {
                    Some(owner) => Problem::Owned {
                        path: path.clone(),
                        owner,
                    },
                    None => continue,
                },
            };
            errors.vm(vm, VmField::Devices, problem);
        }
    }
}
