//! What a VM is given: the description cordon builds a VM from, whether it
//! comes from the embedded partition config or the built-in default.

use alloc::string::String;
use alloc::vec::Vec;

use crate::mm::PhysRange;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    /// Runs the controller-facing agent; when it powers off for good, so
    /// does the machine.
    Management,
    Workload,
}

/// What happens when a VM stops.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RestartPolicy {
    Never,
    Always,
    /// Only after a crash (not after a power-off).
    OnFailure,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StopReason {
    /// PSCI SYSTEM_OFF.
    PowerOff,
    /// PSCI SYSTEM_RESET: the guest wants to start again.
    Reset,
    /// The guest did something cordon cannot let it go on from.
    Crash,
}

impl core::fmt::Display for StopReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::PowerOff => "powered off",
            Self::Reset => "asked for a reset",
            Self::Crash => "crashed",
        })
    }
}

impl RestartPolicy {
    /// Whether a VM stopped for `reason` starts again.
    pub fn restarts_after(self, reason: StopReason) -> bool {
        matches!(
            (reason, self),
            (StopReason::Reset, _)
                | (_, RestartPolicy::Always)
                | (StopReason::Crash, RestartPolicy::OnFailure)
        )
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MemorySpec {
    pub size: u64,
    /// A fixed physical address.
    pub address: Option<u64>,
    /// Guest-physical == physical.
    pub identity: bool,
    /// The whole region must lie below this physical address.
    pub below: Option<u64>,
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VmSpec {
    pub name: String,
    pub role: Role,
    /// Physical CPUs, one per vCPU (vCPU n runs on `cpus[n]`).
    pub cpus: Vec<usize>,
    pub memory: MemorySpec,
    /// Device-tree paths of devices passed through.
    pub devices: Vec<String>,
    /// An emulated PL011 at the console UART's address.
    pub console: bool,
    /// Boot modules holding the kernel (or bare-metal image) and initrd.
    pub kernel: PhysRange,
    pub initrd: Option<PhysRange>,
    pub bootargs: String,
    pub restart: RestartPolicy,
    /// Trap WFI/WFE (HCR_EL2.TWI/TWE).
    pub trap_wait: bool,
    /// The VM programs DMA masters: its RAM must lie in their reach.
    pub dma_trusted: bool,
}

/// A shared-memory channel between two VMs, with a doorbell each way.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ChannelSpec {
    pub name: String,
    /// The two VMs, by name.
    pub vms: [String; 2],
    /// Bytes of shared memory (a multiple of 4 KiB).
    pub size: u64,
}

/// One VM's end of a channel, once its shared memory is placed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ChannelEndSpec {
    pub name: String,
    pub peer: String,
    pub shared: PhysRange,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policy() {
        use RestartPolicy::*;
        use StopReason::*;
        assert!(Never.restarts_after(Reset), "a reset is a restart");
        assert!(!Never.restarts_after(PowerOff));
        assert!(!Never.restarts_after(Crash));
        assert!(Always.restarts_after(PowerOff));
        assert!(!OnFailure.restarts_after(PowerOff));
        assert!(OnFailure.restarts_after(Crash));
    }
}
