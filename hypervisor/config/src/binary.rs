//! The binary form embedded in cordon's image: [`MAGIC`], the format
//! version (little-endian u16), then the config in postcard. Reading never
//! panics, whatever the bytes: it is written to be fed to a fuzzer.

use alloc::vec::Vec;

use crate::error::{BinaryError, ConfigError};
use crate::model::Config;

/// The first bytes of every binary config.
pub const MAGIC: [u8; 4] = *b"CDNC";
/// Bumped whenever the data model changes.
pub const FORMAT_VERSION: u16 = 1;
const VERSION_SIZE: usize = size_of::<u16>();

impl Config {
    /// The binary form of this config.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::from(MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        postcard::to_extend(self, bytes)
            .expect("a config serializes: it has only sized sequences and plain values")
    }

    /// Reads the binary form written by [`Config::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Config, ConfigError> {
        read(bytes).map_err(ConfigError::Binary)
    }
}

fn read(bytes: &[u8]) -> Result<Config, BinaryError> {
    let (magic, rest) = bytes
        .split_first_chunk::<{ MAGIC.len() }>()
        .ok_or(BinaryError::Truncated)?;
    if *magic != MAGIC {
        return Err(BinaryError::BadMagic { found: *magic });
    }
    let (version, body) = rest
        .split_first_chunk::<VERSION_SIZE>()
        .ok_or(BinaryError::Truncated)?;
    let version = u16::from_le_bytes(*version);
    if version != FORMAT_VERSION {
        return Err(BinaryError::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let (config, rest) = postcard::take_from_bytes(body).map_err(|error| match error {
        postcard::Error::DeserializeUnexpectedEnd => BinaryError::Truncated,
        other => BinaryError::Malformed(other),
    })?;
    if !rest.is_empty() {
        return Err(BinaryError::TrailingBytes { count: rest.len() });
    }
    Ok(config)
}
