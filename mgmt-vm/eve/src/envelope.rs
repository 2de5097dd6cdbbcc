//! The signed envelope every EVE API v2 body travels in
//! (`org.lfedge.eve.auth.AuthContainer`): the payload, the SHA-256 of the
//! sender's certificate, and the sender's signature over SHA-256(payload).
//! [`seal`] makes one; [`open`] checks one and gives its payload.
//!
//! What `senderCertHash` hashes depends on who signs ([`Signer`]), as EVE
//! and its reference controller (Adam) do it: a device names its device or
//! onboarding certificate by the SHA-256 of its DER encoding; a controller
//! names its signing certificate by the SHA-256 of the PEM text it sends in
//! its `certs` answer, in full (`SHA256_32BYTES`) or its first 16 bytes
//! (`SHA256_16BYTES`), both of which EVE accepts from a controller.

use std::fmt;

use crate::cert::{CERT_HASH_LEN, Cert};
use crate::proto::auth::{AuthBody, AuthContainer};
use crate::proto::common::HashAlgorithm;
use crate::signing::{Sign, SignError};

/// Bytes of a `senderCertHash` under `SHA256_16BYTES`.
const SHORT_HASH_LEN: usize = 16;

/// Who signs an envelope, which says how `senderCertHash` names the
/// signer's certificate (see the module's description).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signer {
    Device,
    Controller,
}

impl Signer {
    /// The full `senderCertHash` of `cert` when this signer sends it.
    pub fn cert_hash(self, cert: &Cert) -> [u8; CERT_HASH_LEN] {
        match self {
            Self::Device => cert.der_hash(),
            Self::Controller => cert.pem_hash(),
        }
    }

    /// How many bytes of the hash an envelope with hash algorithm `algo`
    /// carries, if this signer may use it.
    fn hash_len(self, algo: i32) -> Option<usize> {
        match (self, HashAlgorithm::try_from(algo)) {
            (_, Ok(HashAlgorithm::Sha25632bytes)) => Some(CERT_HASH_LEN),
            (Self::Controller, Ok(HashAlgorithm::Sha25616bytes)) => Some(SHORT_HASH_LEN),
            _ => None,
        }
    }
}

/// Why an envelope is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeError {
    /// `algo` is not SHA256_32BYTES (or, from a controller,
    /// SHA256_16BYTES).
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
/// `sender`, as `signer` sends it.
pub fn seal(
    payload: Vec<u8>,
    key: &dyn Sign,
    sender: &Cert,
    signer: Signer,
) -> Result<AuthContainer, SignError> {
    Ok(AuthContainer {
        signature_hash: key.try_sign(&payload)?,
        protected_payload: Some(AuthBody { payload }),
        algo: HashAlgorithm::Sha25632bytes as i32,
        sender_cert_hash: signer.cert_hash(sender).to_vec(),
        ..AuthContainer::default()
    })
}

/// The `senderCertHash` of an envelope, to find which certificate to open
/// it with.
pub fn sender_hash(envelope: &AuthContainer) -> &[u8] {
    &envelope.sender_cert_hash
}

/// Checks that `envelope` was signed by `sender`, a `signer`, and gives
/// its payload.
pub fn open<'a>(
    envelope: &'a AuthContainer,
    sender: &Cert,
    signer: Signer,
) -> Result<&'a [u8], EnvelopeError> {
    let hash_len = signer
        .hash_len(envelope.algo)
        .ok_or(EnvelopeError::UnsupportedHashAlgorithm(envelope.algo))?;
    if envelope.cipher_data.is_some() {
        return Err(EnvelopeError::EncryptedPayload);
    }
    let payload = &envelope
        .protected_payload
        .as_ref()
        .ok_or(EnvelopeError::MissingPayload)?
        .payload;
    if envelope.sender_cert_hash.len() != hash_len
        || envelope.sender_cert_hash[..] != signer.cert_hash(sender)[..hash_len]
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
