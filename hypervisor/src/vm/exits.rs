//! Counting VM exits by reason.

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ExitReason {
    Hvc,
    Smc,
    /// Emulated device register (the distributor).
    Mmio,
    /// Access to guest-physical memory the VM was not given.
    StageTwoFault,
    Wfi,
    Wfe,
    SystemRegister,
    Irq,
    Other,
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

    fn name(self) -> &'static str {
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

pub struct ExitCounters([AtomicU64; ExitReason::ALL.len()]);

impl ExitCounters {
    pub const fn new() -> Self {
        Self([const { AtomicU64::new(0) }; ExitReason::ALL.len()])
    }

    pub fn count(&self, reason: ExitReason) {
        self.0[reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self, reason: ExitReason) -> u64 {
        self.0[reason as usize].load(Ordering::Relaxed)
    }
}

impl Default for ExitCounters {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ExitCounters {
    /// `hvc=3 smc=0 ...`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, reason) in ExitReason::ALL.iter().enumerate() {
            let separator = if n == 0 { "" } else { " " };
            write!(f, "{separator}{}={}", reason.name(), self.get(*reason))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_prints_every_reason() {
        let exits = ExitCounters::new();
        exits.count(ExitReason::Hvc);
        exits.count(ExitReason::Hvc);
        exits.count(ExitReason::Irq);
        assert_eq!(exits.get(ExitReason::Hvc), 2);
        assert_eq!(
            exits.to_string(),
            "hvc=2 smc=0 mmio=0 stage2-fault=0 wfi=0 wfe=0 sysreg=0 irq=1 other=0"
        );
    }
}
