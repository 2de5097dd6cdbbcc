//! Level 2 for the x86-pc board, which has no device tree: its CPUs and RAM
//! as the tools assume them for the emulated PC (cordon: as ACPI and
//! multiboot2 report them at boot), and its fixed legacy devices.

mod checks;
mod devices;

use alloc::vec::Vec;
use core::ops::Range;

use super::facts::Facts;
use super::memory;
use crate::error::{BoardError, ConfigError};
use crate::model::Config;
use crate::region::Region;
use crate::validate::{Errors, first};

pub use devices::{PC_DEVICES, PIC, PcDevice, pc_device, pc_device_paths};

/// What the checks need to know about a PC.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PcFacts {
    /// CPUs, numbered as cordon does (the boot CPU is 0).
    pub cpus: usize,
    /// RAM free for VMs.
    pub ram: Vec<Range<u64>>,
}

impl Config {
    /// The first problem [`Config::pc_errors`] finds.
    pub fn validate_for_pc(&self, pc: &PcFacts) -> Result<(), ConfigError> {
        first(self.pc_errors(pc))
    }

    /// Every problem found against the PC `pc`: CPUs it lacks, memory
    /// that does not fit its free RAM, devices it lacks, I/O ports or
    /// interrupt lines in two VMs, and what x86-pc VMs cannot have. Level
    /// 1 ([`Config::errors`]) is not repeated here.
    pub fn pc_errors(&self, pc: &PcFacts) -> Vec<ConfigError> {
        let ram: Vec<Region> = pc
            .ram
            .iter()
            .filter_map(|range| Region::new(range.start, range.end.saturating_sub(range.start)))
            .collect();
        if pc.cpus == 0 {
            return alloc::vec![ConfigError::Board(BoardError::NoPcCpus)];
        }
        if ram.is_empty() {
            return alloc::vec![ConfigError::Board(BoardError::NoPcRam)];
        }
        let facts = Facts {
            cpus: pc.cpus,
            ram,
            reserved: Vec::new(),
            owned: Vec::new(),
        };
        let mut errors = Errors::default();
        self.check_cpus(&facts, &mut errors);
        memory::check(self, |_| None, &facts, &mut errors);
        checks::check_devices(self, &mut errors);
        checks::check_features(self, &mut errors);
        errors.0
    }
}
