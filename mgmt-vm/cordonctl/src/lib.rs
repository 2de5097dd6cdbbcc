//! `cordonctl`: controls cordon from its Linux management VM through the
//! management interface (`hypervisor/abi/ABI.md`): a shared region found in
//! the device tree and mapped through `/dev/mem`, and a doorbell.
//!
//! [`cli`] reads the command line, [`commands`] carries a command out with
//! a [`client::Client`] over a [`client::SharedRegion`] (in the VM,
//! [`devmem::DevMem`]; in tests, a fake cordon) and [`output`] prints the
//! result as a table or as JSON.

pub mod cli;
pub mod client;
pub mod commands;
pub mod device_tree;
pub mod devmem;
pub mod error;
pub mod output;

#[cfg(test)]
mod fake;
