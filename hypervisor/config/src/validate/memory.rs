//! Each VM's memory: a size in whole 2 MiB blocks, a fixed address that is
//! aligned and clear of other VMs' fixed regions, a `below` it can meet.

use crate::MEMORY_ALIGNMENT;
use crate::error::{Problem, VmField};
use crate::model::{Config, VmConfig};
use crate::region::Region;

use super::{Errors, earlier};

pub fn check(config: &Config, errors: &mut Errors) {
    for (index, vm) in config.vms.iter().enumerate() {
        check_size(vm, errors);
        let Some(region) = fixed_region(vm, errors) else {
            continue;
        };
        let overlapping = earlier(&config.vms, index, |other| {
            fixed(other).is_some_and(|theirs| theirs.overlaps(region))
        });
        if let Some(other) = overlapping {
            let other = other.name.clone();
            errors.vm(vm, VmField::MemoryAddress, Problem::Overlaps { other });
        }
    }
}

/// The fixed region of `vm`, if it has a sound one.
pub fn fixed(vm: &VmConfig) -> Option<Region> {
    let memory = &vm.memory;
    Region::new(memory.address?, memory.size)
}

fn check_size(vm: &VmConfig, errors: &mut Errors) {
    let memory = &vm.memory;
    if memory.size == 0 {
        errors.vm(vm, VmField::MemorySize, Problem::Zero);
    } else if !memory.size.is_multiple_of(MEMORY_ALIGNMENT) {
        let problem = Problem::NotMultipleOf {
            value: memory.size,
            unit: MEMORY_ALIGNMENT,
        };
        errors.vm(vm, VmField::MemorySize, problem);
    }
    if let Some(below) = memory.below
        && below < memory.size
    {
        let problem = Problem::LimitTooLow {
            below,
            size: memory.size,
        };
        errors.vm(vm, VmField::MemoryBelow, problem);
    }
}

/// Checks the fixed address of `vm`; its region if the address is sound.
fn fixed_region(vm: &VmConfig, errors: &mut Errors) -> Option<Region> {
    let memory = &vm.memory;
    let address = memory.address?;
    if !address.is_multiple_of(MEMORY_ALIGNMENT) {
        let problem = Problem::NotAligned {
            address,
            alignment: MEMORY_ALIGNMENT,
        };
        errors.vm(vm, VmField::MemoryAddress, problem);
        return None;
    }
    let Some(end) = address.checked_add(memory.size) else {
        errors.vm(vm, VmField::MemoryAddress, Problem::Wraps);
        return None;
    };
    if let Some(below) = memory.below
        && end > below
    {
        errors.vm(vm, VmField::MemoryBelow, Problem::AboveLimit { end, below });
    }
    fixed(vm)
}
