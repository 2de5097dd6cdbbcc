//! The values messages carry: opcodes, image slots, VM states, exit
//! reasons and digests, with their wire numbers.

use core::fmt;

use crate::wire::DIGEST_SIZE;

/// What a request asks for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum Opcode {
    Info = 1,
    ListVms = 2,
    Start = 3,
    Stop = 4,
    Restart = 5,
    ReadConsole = 6,
    ReadLog = 7,
    LoadBegin = 8,
    LoadChunk = 9,
    LoadEnd = 10,
    /// Reboots or powers off the whole machine (added in ABI 1.2).
    ResetDevice = 11,
}

impl Opcode {
    pub const ALL: [Opcode; 11] = [
        Self::Info,
        Self::ListVms,
        Self::Start,
        Self::Stop,
        Self::Restart,
        Self::ReadConsole,
        Self::ReadLog,
        Self::LoadBegin,
        Self::LoadChunk,
        Self::LoadEnd,
        Self::ResetDevice,
    ];

    /// The opcode numbered `value`, if there is one.
    pub fn from_wire(value: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|op| *op as u32 == value)
    }
}

/// Which of a VM's boot images a load writes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum ImageSlot {
    /// The kernel, or the program of a bare-metal VM.
    Kernel = 1,
    Initrd = 2,
}

impl ImageSlot {
    pub fn from_wire(value: u32) -> Option<Self> {
        [Self::Kernel, Self::Initrd]
            .into_iter()
            .find(|slot| *slot as u32 == value)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Kernel => "kernel",
            Self::Initrd => "initrd",
        }
    }
}

/// What a `ResetDevice` does to the machine.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum ResetKind {
    /// Resets the machine: firmware, cordon and every VM start again.
    Reboot = 1,
    /// Powers the machine off.
    PowerOff = 2,
}

impl ResetKind {
    pub const ALL: [ResetKind; 2] = [Self::Reboot, Self::PowerOff];

    pub fn from_wire(value: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| *kind as u32 == value)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Reboot => "reboot",
            Self::PowerOff => "poweroff",
        }
    }
}

/// Where a VM is in its life.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum VmState {
    Running = 1,
    /// Its vCPUs are being stopped.
    Stopping = 2,
    Stopped = 3,
}

impl VmState {
    pub fn from_wire(value: u32) -> Option<Self> {
        [Self::Running, Self::Stopping, Self::Stopped]
            .into_iter()
            .find(|state| *state as u32 == value)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
        }
    }
}

/// Why a guest stopped running and entered cordon; the number is the
/// counter's slot in a VM entry.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(usize)]
pub enum ExitReason {
    Hvc = 0,
    Smc = 1,
    /// An emulated device register.
    Mmio = 2,
    /// Guest-physical memory the VM was not given.
    StageTwoFault = 3,
    Wfi = 4,
    Wfe = 5,
    SystemRegister = 6,
    Irq = 7,
    Other = 8,
}

impl ExitReason {
    pub const ALL: [ExitReason; 9] = [
        Self::Hvc,
        Self::Smc,
        Self::Mmio,
        Self::StageTwoFault,
        Self::Wfi,
        Self::Wfe,
        Self::SystemRegister,
        Self::Irq,
        Self::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Hvc => "hvc",
            Self::Smc => "smc",
            Self::Mmio => "mmio",
            Self::StageTwoFault => "stage2-fault",
            Self::Wfi => "wfi",
            Self::Wfe => "wfe",
            Self::SystemRegister => "sysreg",
            Self::Irq => "irq",
            Self::Other => "other",
        }
    }
}

/// A VM's exit counters, by [`ExitReason`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct ExitCounts(pub [u64; ExitReason::ALL.len()]);

impl ExitCounts {
    pub fn get(&self, reason: ExitReason) -> u64 {
        self.0[reason as usize]
    }

    pub fn set(&mut self, reason: ExitReason, count: u64) {
        self.0[reason as usize] = count;
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

/// A SHA-256 digest; printed as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Digest(pub [u8; DIGEST_SIZE]);

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}
