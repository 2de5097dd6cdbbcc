//! LF Edge's EVE API, the protocol between an edge node and its controller,
//! for cordon's controller-facing agent and its test controller.
//!
//! [`proto`] holds the messages, generated from the vendored `.proto` files
//! (`proto/UPSTREAM.md` names their upstream commits).

pub mod proto;
