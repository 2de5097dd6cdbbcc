//! VM memory, channels and boot modules against the board's RAM: fixed
//! regions inside a bank and clear of reserved RAM, every region in one
//! free piece (below its limit, if it has one, and for a VM trusted with
//! DMA where its devices' masters reach), and all of them together within
//! the free RAM.

use alloc::vec::Vec;

use cordon_guest_loader::device_tree::dma_limit;
use fdt::Fdt;

use super::facts::Facts;
use crate::MEMORY_ALIGNMENT;
use crate::error::{ChannelField, Problem, VmField};
use crate::model::{Config, VmConfig};
use crate::region::Region;
use crate::validate::{Errors, fixed_memory, modules};

/// Checks every VM's memory against the board's RAM; `dma_reach` says
/// below where a VM's DMA masters reach, if it matters.
pub fn check(
    config: &Config,
    dma_reach: impl Fn(&VmConfig) -> Option<u64>,
    facts: &Facts,
    errors: &mut Errors,
) {
    let free = free_pieces(facts);
    let available: u64 = free.iter().map(|piece| piece.size()).sum();
    let mut needed: u64 = 0;
    let mut reported = false;
    for vm in &config.vms {
        check_placement(vm, dma_reach(vm), facts, &free, errors);
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

/// Below where the DMA masters of a VM trusted with DMA reach, if they do
/// not reach everywhere. Devices the tree lacks are reported elsewhere.
pub fn dma_reach(vm: &VmConfig, dt: &Fdt) -> Option<u64> {
    if !vm.dma_trusted {
        return None;
    }
    let devices: Vec<&str> = vm.devices.iter().map(|d| d.as_str()).collect();
    dma_limit(dt, &devices).ok().flatten()
}

/// Whether `vm`'s memory can be placed (below `dma_reach`, if any).
fn check_placement(
    vm: &VmConfig,
    dma_reach: Option<u64>,
    facts: &Facts,
    free: &[Region],
    errors: &mut Errors,
) {
    let memory = &vm.memory;
    if let Some(region) = fixed_memory(vm) {
        let (start, end) = (region.start, region.end);
        if let Some(reach) = dma_reach.filter(|&reach| end > reach) {
            let problem = Problem::BeyondDmaReach { start, end, reach };
            errors.vm(vm, VmField::MemoryAddress, problem);
        } else if !facts.ram.iter().any(|bank| bank.contains(region)) {
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
    if let Some(reach) = dma_reach.filter(|&reach| memory.below.is_none_or(|b| reach < b))
        && largest(Some(reach)) < size
    {
        errors.vm(
            vm,
            VmField::MemorySize,
            Problem::NothingInDmaReach { size, reach },
        );
    } else if let Some(below) = memory.below
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
