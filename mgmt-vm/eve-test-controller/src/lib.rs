//! A controller for LF Edge's EVE API, for testing `cordon-agent` on the
//! host: it listens on the loopback address only (HTTP, or HTTPS with a
//! certificate from its own root CA), holds the onboarding
//! certificates it accepts and a config per device, and stores what devices
//! report (each app's logs too). Like a real controller it refuses unknown
//! onboarding and device certificates, bad signatures and logs of apps the
//! device does not have, and it can corrupt a config on the way and stop
//! and resume listening, for the agent's tests.
//!
//! [`authority`] holds its keys, [`registry`] its state, [`handlers`] its
//! answers ([`quote`] checks TPM quotes), [`http`] reads requests and
//! writes answers and [`server`] listens, with or without TLS; [`configs`]
//! makes configs for tests; [`datastore`] serves their images over plain
//! HTTP; [`provisioning`] makes nodes' onboarding identities.

pub mod authority;
pub mod configs;
pub mod datastore;
pub mod handlers;
pub mod http;
pub mod provisioning;
pub mod quote;
pub mod registry;
pub mod server;

pub use authority::Authority;
pub use datastore::TestDatastore;
pub use server::TestController;
