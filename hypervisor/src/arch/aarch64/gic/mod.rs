//! The physical GICv2 (GIC-400): distributor, CPU interface and the
//! virtual interface control that cordon uses to give guests interrupts.
//!
//! cordon runs the CPU interface with split priority drop and deactivation
//! (EOImode = 1): it acknowledges and drops priority at EL2; a guest's
//! deactivation of a hardware-backed virtual interrupt deactivates the
//! physical one.

pub mod cpu_interface;
pub mod distributor;
pub mod hyp_interface;

use core::sync::atomic::{AtomicU8, Ordering};

use spin::Once;

use crate::board::GicV2;
use crate::dt::MAX_CPUS;

/// Interrupt IDs below this are SGIs.
pub const SGI_COUNT: u32 = 16;
/// Interrupt IDs below this are private to a CPU (SGIs and PPIs).
pub const PRIVATE_COUNT: u32 = 32;
/// IDs from this one up are special (1020-1023): nothing to acknowledge.
pub const SPECIAL_ID_START: u32 = 1020;
/// Most interrupt IDs a GICv2 has.
pub const MAX_IRQS: u32 = 1020;
/// The SGI cordon sends between physical CPUs ("look at your vCPU").
pub const CORDON_IPI: u32 = 7;
/// The PPI of the EL1 virtual timer.
pub const VIRTUAL_TIMER_PPI: u32 = 27;
/// Priority cordon gives every physical interrupt (all are equal).
const DEFAULT_PRIORITY: u8 = 0xa0;

/// GIC CPU interface number of each CPU, read from the hardware.
static INTERFACE_MASKS: [AtomicU8; MAX_CPUS] = [const { AtomicU8::new(0) }; MAX_CPUS];

/// The GIC's register frames, from the board.
static FRAMES: Once<GicV2> = Once::new();

fn frames() -> &'static GicV2 {
    FRAMES.get().expect("GIC used before init_distributor")
}

/// Sets up the distributor (boot CPU, once): every SPI disabled, equal
/// priority, routed nowhere until a VM takes it.
pub fn init_distributor(gic: GicV2) {
    FRAMES.call_once(|| gic);
    distributor::get().init(DEFAULT_PRIORITY);
}

/// Sets up this CPU's interface and its banked distributor registers, and
/// records its CPU interface number.
pub fn init_this_cpu(cpu: usize) {
    let mask = distributor::get().init_private(DEFAULT_PRIORITY);
    INTERFACE_MASKS[cpu].store(mask, Ordering::Release);
    cpu_interface::get().init();
    hyp_interface::get().init();
}

/// The interrupt ID of the virtual interface's maintenance interrupt.
pub fn maintenance_interrupt() -> u32 {
    SGI_COUNT + frames().maintenance_ppi
}

/// The GIC CPU interface bit of logical CPU `cpu` (for targets and SGIs).
pub fn interface_mask(cpu: usize) -> u8 {
    INTERFACE_MASKS[cpu].load(Ordering::Acquire)
}
