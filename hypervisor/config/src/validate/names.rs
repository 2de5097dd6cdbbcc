//! VM and channel names, and the one management VM.

use crate::MAX_NAME_LEN;
use crate::error::{ChannelField, ConfigError, Problem, VmField};
use crate::model::{Config, Role};

use super::{Errors, earlier};

/// 1 to [`MAX_NAME_LEN`] of `a-z`, `0-9` and `-`.
pub fn is_valid(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

pub fn check(config: &Config, errors: &mut Errors) {
    for (index, vm) in config.vms.iter().enumerate() {
        if !is_valid(&vm.name) {
            errors.vm(vm, VmField::Name, Problem::BadName);
        } else if earlier(&config.vms, index, |other| other.name == vm.name).is_some() {
            errors.vm(vm, VmField::Name, Problem::NameTaken);
        }
        if vm.role == Role::Management
            && let Some(first) = earlier(&config.vms, index, |o| o.role == Role::Management)
        {
            let first = first.name.clone();
            errors.vm(vm, VmField::Role, Problem::SecondManagement { first });
        }
    }
    if config.management().is_none() {
        errors.other(ConfigError::NoManagementVm);
    }
    for (index, channel) in config.channels.iter().enumerate() {
        if !is_valid(&channel.name) {
            errors.channel(channel, ChannelField::Name, Problem::BadName);
        } else if config.channels[..index]
            .iter()
            .any(|other| other.name == channel.name)
        {
            errors.channel(channel, ChannelField::Name, Problem::NameTaken);
        }
    }
}
