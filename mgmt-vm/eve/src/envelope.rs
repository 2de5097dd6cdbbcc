//! The signed envelope every EVE API v2 body travels in
//! (`org.lfedge.eve.auth.AuthContainer`): the payload, the SHA-256 of the
//! sender's certificate, and the sender's signature over SHA-256(payload).
//! [`seal`] makes one; [`open`] checks one and gives its payload.

use std::fmt;

use crate::cert::{CERT_HASH_LEN, Cert};
use crate::proto::auth::{AuthBody, AuthContainer};
use crate::proto::common::HashAlgorithm;
use crate::signing::{Sign, SignError};

/// Why an envelope is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeError {
    /// `algo` is not SHA256_32BYTES, the only one v2 uses.
    UnsupportedHashAlgorithm(i32),
    /// There is no `protectedPayload`.
    MissingPayload,
    /// The payload is encrypted (`cipherData`), which this node does not
    /// support.
    EncryptedPayload,
    /// `senderCertHash` is not the hash of the certificate expected.
    UnknownSender { hash: Vec<u8> },
    /// The signature does not check out with the sender's key.
    BadSignature { sender: String },
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedHashAlgorithm(algo) => write!(
                f,
                "envelope hash algorithm {algo} is not SHA256_32BYTES ({})",
                HashAlgorithm::Sha25632bytes as i32
            ),
            Self::MissingPayload => write!(f, "envelope has no protectedPayload"),
            Self::EncryptedPayload => write!(f, "envelope payload is encrypted; not supported"),
            Self::UnknownSender { hash } => {
                write!(f, "envelope sender certificate hash ")?;
                for byte in hash {
                    write!(f, "{byte:02x}")?;
                }
                write!(f, " is not the expected sender's")
            }
            Self::BadSignature { sender } => {
                write!(f, "envelope signature does not verify with '{sender}' key")
            }
        }
    }
}

impl std::error::Error for EnvelopeError {}

/// Wraps `payload` in an envelope signed with `key`, whose certificate is
/// `sender`.
pub fn seal(payload: Vec<u8>, key: &dyn Sign, sender: &Cert) -> Result<AuthContainer, SignError> {
    Ok(AuthContainer {
        signature_hash: key.try_sign(&payload)?,
        protected_payload: Some(AuthBody { payload }),
        algo: HashAlgorithm::Sha25632bytes as i32,
        sender_cert_hash: sender.hash().to_vec(),
        ..AuthContainer::default()
    })
}

/// The `senderCertHash` of an envelope, to find which certificate to open
/// it with.
pub fn sender_hash(envelope: &AuthContainer) -> &[u8] {
    &envelope.sender_cert_hash
}

/// Checks that `envelope` was signed by `sender` and gives its payload.
pub fn open<'a>(envelope: &'a AuthContainer, sender: &Cert) -> Result<&'a [u8], EnvelopeError> {
    if envelope.algo != HashAlgorithm::Sha25632bytes as i32 {
        return Err(EnvelopeError::UnsupportedHashAlgorithm(envelope.algo));
    }
    if envelope.cipher_data.is_some() {
        return Err(EnvelopeError::EncryptedPayload);
    }
    let payload = &envelope
        .protected_payload
        .as_ref()
        .ok_or(EnvelopeError::MissingPayload)?
        .payload;
    if envelope.sender_cert_hash.len() != CERT_HASH_LEN
        || envelope.sender_cert_hash != sender.hash()
    {
        return Err(EnvelopeError::UnknownSender {
            hash: envelope.sender_cert_hash.clone(),
        });
    }
    let signature = sender
        .public_key()
        .envelope_signature(&envelope.signature_hash);
    if sender.public_key().verifies(payload, signature) {
        Ok(payload)
    } else {
        Err(EnvelopeError::BadSignature {
            sender: sender.subject(),
        })
    }
}
