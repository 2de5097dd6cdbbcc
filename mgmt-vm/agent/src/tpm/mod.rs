//! The device key in a TPM 2.0: found at [`DEVICES`], spoken to in the TPM's
//! own command format ([`channel`], marshalled by the `tpm2-protocol`
//! crate), and an ECDSA P-256 signing key made in it under the owner
//! hierarchy's storage key ([`key`]), with a restricted attestation key
//! beside it that quotes the TPM's PCRs ([`quote`]); [`info`] asks it who
//! made it. The private keys never leave the
//! TPM: what the agent stores is the key's public area and its private
//! area wrapped by the TPM's storage key, which only that TPM can load.

pub mod channel;
pub mod info;
pub mod key;
pub mod quote;

use std::fmt;
use std::path::{Path, PathBuf};

use tpm2_protocol::TpmError as WireError;
use tpm2_protocol::data::{TpmCc, TpmRc};

pub use channel::Tpm;
pub use key::{KeyBlobs, Purpose, SharedTpm, TpmKey};
pub use quote::{QUOTED_PCRS, Quote, quote};

/// Where Linux offers a TPM: its resource manager first (which flushes a
/// client's objects when it closes), then the raw device.
pub const DEVICES: [&str; 2] = ["/dev/tpmrm0", "/dev/tpm0"];

/// The first TPM device of [`DEVICES`] that exists.
pub fn find() -> Option<PathBuf> {
    DEVICES
        .iter()
        .map(Path::new)
        .find(|path| path.exists())
        .map(Path::to_path_buf)
}

/// What went wrong talking to the TPM or with its key.
#[derive(Debug)]
pub enum TpmError {
    /// The device cannot be opened, written or read.
    Io {
        device: String,
        error: std::io::Error,
    },
    /// A command cannot be put in the TPM's format (a bug of the agent).
    Marshal { command: TpmCc, error: WireError },
    /// The TPM's answer is not in its format, or not the one expected.
    Unmarshal { command: TpmCc, error: WireError },
    /// The TPM's answer claims a size no TPM message has.
    BadSize { command: TpmCc, size: usize },
    /// The TPM refused the command.
    Refused { command: TpmCc, rc: TpmRc },
    /// The TPM's answer leaves out what was asked.
    Unanswered { command: TpmCc, what: &'static str },
    /// A stored key blob is not a TPM public or private area.
    BadBlob(WireError),
    /// The TPM's key is not an ECC P-256 point, or its signature not an
    /// ECDSA one of P-256's size.
    UnexpectedKey(String),
}

impl fmt::Display for TpmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { device, error } => write!(f, "TPM {device}: {error}"),
            Self::Marshal { command, error } => {
                write!(f, "cannot encode TPM command {command:?}: {error}")
            }
            Self::Unmarshal { command, error } => {
                write!(f, "TPM answer to {command:?} is malformed: {error}")
            }
            Self::BadSize { command, size } => {
                write!(
                    f,
                    "TPM answer to {command:?} claims to be {size} bytes long"
                )
            }
            Self::Refused { command, rc } => write!(f, "TPM refused {command:?}: {rc}"),
            Self::Unanswered { command, what } => {
                write!(f, "TPM answer to {command:?} does not give {what}")
            }
            Self::BadBlob(error) => write!(f, "stored TPM key blob is malformed: {error}"),
            Self::UnexpectedKey(what) => write!(f, "TPM key: {what}"),
        }
    }
}

impl std::error::Error for TpmError {}
