//! VM memory, channels and boot modules against the board's RAM: fixed
//! regions inside a bank and clear of reserved RAM, every region in one
//! free piece (below its limit, if it has one), and all of them together
//! within the free RAM.

use alloc::vec::Vec;

use super::facts::Facts;
use crate::MEMORY_ALIGNMENT;
use crate::error::{ChannelField, Problem, VmField};
use crate::model::{Config, VmConfig};
use crate::region::Region;
use crate::validate::{Errors, fixed_memory, modules};

pub fn check(config: &Config, facts: &Facts, errors: &mut Errors) {
    let free = free_pieces(facts);
    let available: u64 = free.iter().map(|piece| piece.size()).sum();
    let mut needed: u64 = 0;
    let mut reported = false;
    for vm in &config.vms {
        check_placement(vm, facts, &free, errors);
        needed = needed.saturating_add(vm.memory.size);
        if needed > available && !reported {
            reported = true;
            let problem = Problem::OutOfRam { needed, available };
            errors.vm(vm, VmField::MemorySize, problem);
        }
    }
    for channel in &config.channels {
        needed = needed.saturating_add(channel.size);
        if needed > available && !reported {
            reported = true;
            let problem = Problem::OutOfRam { needed, available };
            errors.channel(channel, ChannelField::Size, problem);
        }
    }
    for (vm, field, module) in modules::all(config) {
        if let Some(address) = module.address
            && !facts.ram.iter().any(|bank| bank.contains_address(address))
        {
            errors.vm(vm, field, Problem::NotInRam { address });
        }
    }
}

/// Whether `vm`'s memory can be placed.
fn check_placement(vm: &VmConfig, facts: &Facts, free: &[Region], errors: &mut Errors) {
    let memory = &vm.memory;
    if let Some(region) = fixed_memory(vm) {
        let (start, end) = (region.start, region.end);
        if !facts.ram.iter().any(|bank| bank.contains(region)) {
            errors.vm(
                vm,
                VmField::MemoryAddress,
                Problem::OutsideRam { start, end },
            );
        } else if let Some(reserved) = facts.reserved.iter().find(|r| r.overlaps(region)) {
            let (start, end) = (reserved.start, reserved.end);
            errors.vm(vm, VmField::MemoryAddress, Problem::Reserved { start, end });
        }
        return;
    }
    let size = memory.size;
    let largest = |limit: Option<u64>| {
        free.iter()
            .filter_map(|piece| match limit {
                Some(limit) => piece.below(limit)?.align_inward(MEMORY_ALIGNMENT),
                None => Some(*piece),
            })
            .map(Region::size)
            .max()
            .unwrap_or(0)
    };
    if let Some(below) = memory.below
        && largest(Some(below)) < size
    {
        errors.vm(
            vm,
            VmField::MemoryBelow,
            Problem::NothingBelow { size, below },
        );
    } else if largest(None) < size {
        let largest = largest(None);
        errors.vm(vm, VmField::MemorySize, Problem::TooLarge { size, largest });
    }
}

/// The board's RAM without reserved regions, in 2 MiB-aligned pieces.
fn free_pieces(facts: &Facts) -> Vec<Region> {
    let mut pieces = facts.ram.clone();
    for &reserved in &facts.reserved {
        pieces = pieces
            .into_iter()
            .flat_map(|piece| piece.minus(reserved))
            .flatten()
            .collect();
    }
    pieces
        .into_iter()
        .filter_map(|piece| piece.align_inward(MEMORY_ALIGNMENT))
        .collect()
}
