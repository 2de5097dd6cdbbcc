//! Starting secondary CPUs the way the device tree says: PSCI `CPU_ON` or a
//! spin-table release address.

use core::ptr::write_volatile;

use super::cpu;
use super::psci::{self, PsciError};
use super::start::{prepare_secondary_boot, secondary_entry_point};
use crate::dt::{BootInfo, CpuNode, EnableMethod};

/// How long a CPU may take to report in.
const ONLINE_TIMEOUT_MS: u64 = 5000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StartError {
    /// The cpu node has no `enable-method`.
    NoEnableMethod,
    /// `enable-method = "psci"` but there is no usable `/psci` node.
    NoPsciNode,
    Psci(PsciError),
    /// The spin-table release address is not in RAM.
    ReleaseAddressNotInRam(u64),
    /// Started, but did not report in.
    Timeout,
}

impl core::fmt::Display for StartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoEnableMethod => write!(f, "its cpu node has no enable-method"),
            Self::NoPsciNode => write!(f, "enable-method is psci but there is no /psci node"),
            Self::Psci(err) => write!(f, "CPU_ON failed: {err}"),
            Self::ReleaseAddressNotInRam(addr) => {
                write!(f, "spin-table release address {addr:#x} is not in RAM")
            }
            Self::Timeout => write!(f, "it did not report in within {ONLINE_TIMEOUT_MS} ms"),
        }
    }
}

/// Starts the CPU `node` as logical CPU `id` and waits until it is online.
pub fn start_cpu(info: &BootInfo, id: usize, node: &CpuNode) -> Result<(), StartError> {
    prepare_secondary_boot(id);
    let entry = secondary_entry_point();
    match node.enable_method {
        None => return Err(StartError::NoEnableMethod),
        Some(EnableMethod::Psci) => {
            let conduit = info.psci.ok_or(StartError::NoPsciNode)?;
            let code = psci::call(conduit, psci::CPU_ON_64, [node.mpidr, entry, 0]);
            PsciError::check(code).map_err(StartError::Psci)?;
        }
        Some(EnableMethod::SpinTable { release_addr }) => {
            if !info.memory.contains(release_addr) {
                return Err(StartError::ReleaseAddressNotInRam(release_addr));
            }
            // SAFETY: the release address is RAM (mapped by cordon) that the
            // firmware's spin loop for this CPU polls; writing the entry
            // point there is the spin-table protocol.
            unsafe { write_volatile(release_addr as *mut u64, entry) };
            // The waiting CPU reads with its caches off.
            cpu::clean_dcache_range(release_addr as usize, size_of::<u64>());
            cpu::send_event();
        }
    }
    wait_online(id)
}

fn wait_online(id: usize) -> Result<(), StartError> {
    let (start, hz) = cpu::counter();
    let ticks = hz * ONLINE_TIMEOUT_MS / 1000;
    while !crate::cpu::is_online(id) {
        if cpu::counter().0 - start > ticks {
            return Err(StartError::Timeout);
        }
        core::hint::spin_loop();
    }
    Ok(())
}
