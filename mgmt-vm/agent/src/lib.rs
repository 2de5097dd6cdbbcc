//! `cordon-agent`: the management VM's agent for an LF Edge EVE API
//! controller. The node only ever connects out to the controller.
//!
//! [`settings`] says which controller and where the state is kept;
//! [`identity`] holds the onboarding and device credentials, and
//! [`attestation`] the TPM's attestation key and its quotes; [`agent`]
//! runs the rounds with the controller over a [`transport`], each request
//! an [`exchange`], trusting the controller's certificates through
//! [`trust`] and becoming known to it through [`onboarding`]. A received
//! [`config`] is applied to cordon's [`partitions`] (the binding rule is
//! documented there), with [`images`] from the config's datastores, and
//! its [`device_ops`] (reboot, shutdown) carried out;
//! [`reports`] and [`logs`] tell the controller what runs, and
//! [`app_logs`] what the apps print on their [`console`]s. [`store`]
//! writes the state atomically; [`backoff`] spaces retries; [`host`] reads
//! the VM's own storage size.

pub mod agent;
pub mod app_logs;
pub mod attestation;
pub mod backoff;
pub mod config;
pub mod console;
pub mod device_ops;
pub mod exchange;
pub mod host;
pub mod identity;
pub mod images;
pub mod logs;
pub mod onboarding;
pub mod partitions;
pub mod reports;
pub mod settings;
pub mod store;
#[cfg(test)]
mod testing;
pub mod tpm;
pub mod transport;
pub mod trust;
