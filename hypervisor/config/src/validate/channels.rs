//! Channels: two distinct, existing VMs and a size in whole pages.

use crate::CHANNEL_GRANULE;
use crate::error::{ChannelField, Problem};
use crate::model::Config;

use super::Errors;

/// VMs a channel joins.
const CHANNEL_ENDS: usize = 2;

pub fn check(config: &Config, errors: &mut Errors) {
    for channel in &config.channels {
        if channel.vms.len() != CHANNEL_ENDS {
            let count = channel.vms.len();
            errors.channel(channel, ChannelField::Vms, Problem::VmCount { count });
        }
        for (at, vm) in channel.vms.iter().enumerate() {
            if config.vm(vm).is_none() {
                let problem = Problem::UnknownVm { vm: vm.clone() };
                errors.channel(channel, ChannelField::Vms, problem);
            } else if channel.vms[..at].contains(vm) {
                let problem = Problem::SameVm { vm: vm.clone() };
                errors.channel(channel, ChannelField::Vms, problem);
            }
        }
        if channel.size == 0 {
            errors.channel(channel, ChannelField::Size, Problem::Zero);
        } else if !channel.size.is_multiple_of(CHANNEL_GRANULE) {
            let problem = Problem::NotMultipleOf {
                value: channel.size,
                unit: CHANNEL_GRANULE,
            };
            errors.channel(channel, ChannelField::Size, problem);
        }
    }
}
