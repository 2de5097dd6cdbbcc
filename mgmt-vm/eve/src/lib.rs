//! LF Edge's EVE API, the protocol between an edge node and its controller,
//! for cordon's controller-facing agent and its test controller.
//!
//! [`proto`] holds the messages, generated from the vendored `.proto` files
//! (`proto/UPSTREAM.md` names their upstream commits). Every message travels
//! in a signed [`envelope`]; [`cert`] reads the certificates that name and
//! check senders, [`signing`] holds a P-256 key and [`issue`] makes
//! certificates with one. [`endpoint`] names the paths.

pub mod cert;
pub mod endpoint;
pub mod envelope;
pub mod issue;
pub mod proto;
pub mod signing;
