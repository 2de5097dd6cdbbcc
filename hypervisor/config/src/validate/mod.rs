//! Level 1: what can be checked without the board's device tree.

mod channels;
mod cpus;
mod devices;
mod memory;
pub(crate) mod modules;
mod names;

use alloc::vec::Vec;

use crate::error::{ChannelField, ConfigError, Problem, VmField};
use crate::model::{ChannelConfig, Config, VmConfig};

pub(crate) use memory::fixed as fixed_memory;

impl Config {
    /// The first problem [`Config::errors`] finds.
    pub fn validate(&self) -> Result<(), ConfigError> {
        first(self.errors())
    }

    /// Every problem found without the board's device tree: names, roles,
    /// CPUs given twice, memory sizes and fixed regions, devices given
    /// twice, boot-module addresses, and channels.
    pub fn errors(&self) -> Vec<ConfigError> {
        let mut errors = Errors::default();
        names::check(self, &mut errors);
        cpus::check(self, &mut errors);
        memory::check(self, &mut errors);
        devices::check(self, &mut errors);
        modules::check(self, &mut errors);
        channels::check(self, &mut errors);
        errors.0
    }
}

/// `Ok` if `errors` is empty, else its first error.
pub(crate) fn first(errors: Vec<ConfigError>) -> Result<(), ConfigError> {
    errors.into_iter().next().map_or(Ok(()), Err)
}

/// The problems found so far.
#[derive(Default)]
pub(crate) struct Errors(pub Vec<ConfigError>);

impl Errors {
    pub fn vm(&mut self, vm: &VmConfig, field: VmField, problem: Problem) {
        self.0.push(ConfigError::Vm {
            vm: vm.name.clone(),
            field,
            problem,
        });
    }

    pub fn channel(&mut self, channel: &ChannelConfig, field: ChannelField, problem: Problem) {
        self.0.push(ConfigError::Channel {
            channel: channel.name.clone(),
            field,
            problem,
        });
    }

    pub fn other(&mut self, error: ConfigError) {
        self.0.push(error);
    }
}

/// The name of the first VM before `index` for which `has` holds.
pub(crate) fn earlier(
    vms: &[VmConfig],
    index: usize,
    has: impl Fn(&VmConfig) -> bool,
) -> Option<&VmConfig> {
    vms[..index].iter().find(|vm| has(vm))
}
