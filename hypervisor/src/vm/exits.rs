//! Counting VM exits by reason.

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

/// Why a guest stopped running: the management ABI's classification, so
/// counters reach cordonctl as they are.
pub use cordon_abi::ExitReason;

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
