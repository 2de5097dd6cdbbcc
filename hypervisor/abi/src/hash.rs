//! SHA-256 of boot images, for measured launch: cordon hashes the chunks
//! it loads, the client hashes the files it sends.
//!
//! The hashing is RustCrypto's `sha2`: it is maintained by the RustCrypto
//! group, widely used and reviewed, pure Rust, `no_std` without `alloc`
//! when its default features are off, and needs nothing from the platform
//! (without CPU feature detection it falls back to portable code). A hash
//! written here would be code to get subtly wrong in a security check.

use sha2::{Digest as _, Sha256};

use crate::types::Digest;

/// The SHA-256 of an image fed in pieces.
#[derive(Clone, Default)]
pub struct ImageHasher(Sha256);

impl ImageHasher {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn finish(self) -> Digest {
        Digest(self.0.finalize().into())
    }
}
