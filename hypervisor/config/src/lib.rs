//! cordon's partition config: which VMs a setup has, what each is given
//! (CPUs, memory, devices, a console, what it boots, what happens when it
//! stops) and the channels between them.
//!
//! The tools read it from a TOML file ([`Config::from_toml`], feature
//! `std`), check it ([`Config::validate`], then [`Config::validate_for_board`]
//! against the board's device tree, or for x86-pc, which has none,
//! [`Config::validate_for_pc`] against a PC's CPUs, RAM and legacy devices),
//! fill in where the boot modules go and embed [`Config::to_bytes`] in
//! cordon's image. cordon reads it back with [`Config::from_bytes`] and
//! checks it again against the device tree it boots with (x86-pc: the CPUs
//! and free RAM it finds); without `std` the crate is `no_std` with
//! `alloc`.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod binary;
mod board;
mod error;
mod model;
mod module_ref;
mod region;
mod size;
#[cfg(feature = "std")]
mod text;
mod validate;

pub use binary::{FORMAT_VERSION, MAGIC};
pub use board::{PC_DEVICES, PIC, PcDevice, PcFacts, pc_device};
pub use error::{BinaryError, BoardError, ChannelField, ConfigError, Owner, Problem, VmField};
pub use model::{
    ChannelConfig, Config, ImageConfig, ImageKind, MemoryConfig, ModuleRef, RestartPolicy, Role,
    VmConfig,
};
pub use size::{Bytes, GIB, KIB, MIB};

/// Longest VM or channel name.
pub const MAX_NAME_LEN: usize = 15;
/// VM memory sizes and fixed addresses are multiples of this (one stage-2
/// block).
pub const MEMORY_ALIGNMENT: u64 = 2 * MIB;
/// Channel sizes are multiples of this (one page).
pub const CHANNEL_GRANULE: u64 = 4 * KIB;
/// Boot-module addresses are multiples of this (one page).
pub const MODULE_ALIGNMENT: u64 = 4 * KIB;

#[cfg(test)]
mod tests;
