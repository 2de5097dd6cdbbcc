//! An ECDSA P-256 signing key, as the device (and the test controller)
//! holds one: generated from the operating system's randomness, stored as
//! PKCS#8 PEM, signing envelopes as raw `r || s` over SHA-256. [`Sign`] is
//! what envelopes and certificates need of any key, this one or one held
//! where its private part cannot be read (a TPM).

use std::fmt;

use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey as EcdsaKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use zeroize::Zeroizing;

/// Bytes of a P-256 private scalar.
const SCALAR_LEN: usize = 32;
/// Random scalars tried before giving up: one out of range (zero or at
/// least the group order) happens with a chance of about 2^-32 per try.
const GENERATE_ATTEMPTS: usize = 4;

/// What went wrong making, reading or writing a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The operating system gave no random bytes.
    NoRandomness(String),
    /// Every random scalar was out of range.
    GenerationFailed,
    /// The text is not a PKCS#8 PEM P-256 private key.
    NotPkcs8Pem(String),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoRandomness(error) => write!(f, "no randomness for a new key: {error}"),
            Self::GenerationFailed => {
                write!(
                    f,
                    "no valid P-256 key after {GENERATE_ATTEMPTS} random tries"
                )
            }
            Self::NotPkcs8Pem(error) => write!(f, "not a PKCS#8 PEM P-256 private key: {error}"),
        }
    }
}

impl std::error::Error for KeyError {}

/// Why a key did not sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignError {
    /// The device holding the key failed or refused; what it said.
    Holder(String),
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Holder(error) => write!(f, "the key's holder did not sign: {error}"),
        }
    }
}

impl std::error::Error for SignError {}

/// A P-256 key that signs SHA-256(`message`) as raw `r || s`, wherever its
/// private part is kept.
pub trait Sign: fmt::Debug + Send + Sync {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError>;

    fn public_key(&self) -> VerifyingKey;
}

/// A P-256 private key.
#[derive(Clone)]
pub struct SigningKey(EcdsaKey);

impl SigningKey {
    /// A new key from the operating system's randomness.
    pub fn generate() -> Result<Self, KeyError> {
        for _ in 0..GENERATE_ATTEMPTS {
            let mut scalar = Zeroizing::new([0u8; SCALAR_LEN]);
            getrandom::fill(scalar.as_mut())
                .map_err(|error| KeyError::NoRandomness(error.to_string()))?;
            if let Ok(key) = EcdsaKey::from_slice(scalar.as_ref()) {
                return Ok(Self(key));
            }
        }
        Err(KeyError::GenerationFailed)
    }

    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        EcdsaKey::from_pkcs8_pem(pem)
            .map(Self)
            .map_err(|error| KeyError::NotPkcs8Pem(error.to_string()))
    }

    /// The key as PKCS#8 PEM, in memory that is wiped when dropped.
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        self.0
            .to_pkcs8_pem(LineEnding::LF)
            .expect("a valid P-256 key always encodes as PKCS#8")
    }

    /// Signs SHA-256(`message`); the signature as raw `r || s`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature: Signature = self.0.sign(message);
        signature.to_bytes().to_vec()
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        *self.0.verifying_key()
    }
}

impl Sign for SigningKey {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        Ok(self.sign(message))
    }

    fn public_key(&self) -> VerifyingKey {
        self.verifying_key()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(P-256, private)")
    }
}
