//! Passed-through devices: full paths, each given to one VM once.

use crate::error::{Problem, VmField};
use crate::model::Config;

use super::{Errors, earlier};

pub fn check(config: &Config, errors: &mut Errors) {
    for (index, vm) in config.vms.iter().enumerate() {
        for (at, path) in vm.devices.iter().enumerate() {
            let problem = if !path.starts_with('/') {
                Problem::NotAPath { path: path.clone() }
            } else if vm.devices[..at].contains(path) {
                Problem::DeviceListedTwice { path: path.clone() }
            } else if let Some(other) = earlier(&config.vms, index, |o| o.devices.contains(path)) {
                Problem::DeviceTaken {
                    path: path.clone(),
                    by: other.name.clone(),
                }
            } else {
                continue;
            };
            errors.vm(vm, VmField::Devices, problem);
        }
    }
}
