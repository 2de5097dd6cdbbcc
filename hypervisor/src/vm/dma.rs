//! DMA without an IOMMU: a VM trusted with DMA gets its RAM within the reach
//! of its devices' masters, and its buses' `dma-ranges` recomposed with its
//! stage-2 map (see `cordon_guest_loader::device_tree::BusDma`).
//!
//! `cordon.dma-ranges=as-on-host` on cordon's command line leaves the boot
//! tree's `dma-ranges` unchanged in every VM: wrong for a VM that is not
//! mapped 1:1, which is what the DMA test's negative twin shows.

use core::sync::atomic::{AtomicBool, Ordering};

use cordon_guest_loader::device_tree::{self, BusDma, RamMapping};
use fdt::Fdt;
use log::{info, warn};

use super::spec::VmSpec;
use crate::dt::BootInfo;

/// The command-line option, and its value that turns the rewrite off.
const OPTION: &str = "dma-ranges";
const AS_ON_HOST: &str = "as-on-host";

static AS_ON_HOST_CHOSEN: AtomicBool = AtomicBool::new(false);

/// Reads `cordon.dma-ranges=` from the command line.
pub fn configure(info: &BootInfo) {
    match info.option(OPTION) {
        None => {}
        Some(AS_ON_HOST) => {
            warn!(
                "cordon.{OPTION}={AS_ON_HOST}: VMs see the board's dma-ranges unchanged; \
                 DMA of VMs not mapped 1:1 goes to the wrong addresses"
            );
            AS_ON_HOST_CHOSEN.store(true, Ordering::Relaxed);
        }
        Some(other) => warn!("unknown cordon.{OPTION}={other}; expected {AS_ON_HOST}"),
    }
}

/// Narrows where a VM trusted with DMA may have its RAM to what its
/// devices' masters reach, and says what the VM is trusted with.
pub fn confine(spec: &mut VmSpec, fdt: &Fdt) -> Result<(), device_tree::GuestDtError> {
    if !spec.dma_trusted {
        return Ok(());
    }
    let devices: alloc::vec::Vec<&str> = spec.devices.iter().map(|d| d.as_str()).collect();
    match device_tree::dma_limit(fdt, &devices)? {
        Some(limit) => {
            spec.memory.below = Some(spec.memory.below.map_or(limit, |below| below.min(limit)));
            info!(
                "VM {} is trusted with DMA: with no IOMMU its devices reach all memory below \
                 {limit:#x}, cordon's and other VMs' included; its RAM goes there",
                spec.name
            );
        }
        None => info!(
            "VM {} is trusted with DMA: with no IOMMU its devices reach all memory",
            spec.name
        ),
    }
    Ok(())
}

/// What the buses in the VM's device tree say about DMA, for RAM `ram`.
pub fn bus_view<'a>(spec: &VmSpec, ram: &'a [RamMapping]) -> BusDma<'a> {
    if AS_ON_HOST_CHOSEN.load(Ordering::Relaxed) {
        BusDma::AsOnHost
    } else {
        BusDma::Composed {
            ram,
            trusted: spec.dma_trusted,
        }
    }
}
