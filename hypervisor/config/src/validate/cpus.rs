//! Each VM's CPUs: some, each listed once, none shared with another VM.

use crate::error::{Problem, VmField};
use crate::model::Config;

use super::{Errors, earlier};

pub fn check(config: &Config, errors: &mut Errors) {
    for (index, vm) in config.vms.iter().enumerate() {
        if vm.cpus.is_empty() {
            errors.vm(vm, VmField::Cpus, Problem::NoCpus);
        }
        for (at, &cpu) in vm.cpus.iter().enumerate() {
            if vm.cpus[..at].contains(&cpu) {
                errors.vm(vm, VmField::Cpus, Problem::CpuListedTwice { cpu });
            } else if let Some(other) = earlier(&config.vms, index, |o| o.cpus.contains(&cpu)) {
                let by = other.name.clone();
                errors.vm(vm, VmField::Cpus, Problem::CpuTaken { cpu, by });
            }
        }
    }
}
