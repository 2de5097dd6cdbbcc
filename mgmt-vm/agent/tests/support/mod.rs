//! What the agent's integration tests share.

pub mod swtpm;
