//! Level 2: the config against the board's device tree (the one the tools
//! get from QEMU or the board's DTB, or the one cordon boots with).

mod devices;
mod facts;
mod memory;
mod pc;
mod tree;

pub use pc::{PC_DEVICES, PIC, PcDevice, PcFacts, pc_device, pc_device_paths};

use alloc::vec::Vec;

use fdt::Fdt;

use crate::error::{ConfigError, Problem, VmField};
use crate::model::Config;
use crate::validate::{Errors, first};
use facts::Facts;

impl Config {
    /// The first problem [`Config::board_errors`] finds.
    pub fn validate_for_board(&self, dt: &Fdt) -> Result<(), ConfigError> {
        first(self.board_errors(dt))
    }

    /// Every problem found against the board's device tree `dt`: CPUs it
    /// lacks, memory that does not fit its RAM, devices it lacks or that
    /// cordon keeps. Level 1 ([`Config::errors`]) is not repeated here.
    pub fn board_errors(&self, dt: &Fdt) -> Vec<ConfigError> {
        let facts = match Facts::read(dt) {
            Ok(facts) => facts,
            Err(error) => return alloc::vec![ConfigError::Board(error)],
        };
        let mut errors = Errors::default();
        self.check_cpus(&facts, &mut errors);
        memory::check(self, |vm| memory::dma_reach(vm, dt), &facts, &mut errors);
        devices::check(self, dt, &facts, &mut errors);
        errors.0
    }

    fn check_cpus(&self, facts: &Facts, errors: &mut Errors) {
        for vm in &self.vms {
            for &cpu in &vm.cpus {
                if usize::try_from(cpu).is_ok_and(|cpu| cpu < facts.cpus) {
                    continue;
                }
                let count = facts.cpus;
                errors.vm(vm, VmField::Cpus, Problem::NoSuchCpu { cpu, count });
            }
        }
    }
}
