//! X.509 certificates as the EVE API carries them (PEM text): the hash by
//! which an envelope names its sender, the public key that checks the
//! sender's signatures, and whether a certificate chains to a trusted root.

use std::fmt;
use std::time::SystemTime;

use p256::ecdsa::{DerSignature, Signature as EcdsaSignature, VerifyingKey as EcdsaKey};
use p256::pkcs8::DecodePublicKey;
use rsa::PublicKey as RsaPublicKey;
use rsa::pkcs1v15::{Signature as RsaSignature, VerifyingKey as RsaKey};
use rsa::signature::Verifier;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::{DecodePem, Encode};
use x509_cert::ext::pkix::BasicConstraints;

/// `id-ecPublicKey` (RFC 5480): an elliptic-curve public key.
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `rsaEncryption` (RFC 8017): an RSA public key.
const RSA_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// `ecdsa-with-SHA256` (RFC 5758): a certificate signed with ECDSA.
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// `sha256WithRSAEncryption` (RFC 8017): a certificate signed with RSA.
const RSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");

/// The length of a certificate's hash in an envelope's `senderCertHash`.
pub const CERT_HASH_LEN: usize = 32;

/// What is wrong with a certificate or a chain of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertError {
    /// The text is not a PEM X.509 certificate.
    NotPem(String),
    /// The certificate's key is neither ECDSA P-256 nor RSA.
    UnsupportedKey(String),
    /// The certificate is signed with neither ECDSA-SHA256 nor RSA-SHA256.
    UnsupportedSignatureAlgorithm(String),
    /// `subject`'s issuer is not `issuer`, or its signature does not check
    /// out with `issuer`'s key.
    NotIssuedBy { subject: String, issuer: String },
    /// `subject` signs a certificate but is not a certificate authority.
    NotAnAuthority { subject: String },
    /// `subject` is not valid now (expired or not yet valid).
    OutsideValidity { subject: String },
    /// No certificate of the chain was issued by the trusted root.
    NoPathToRoot { subject: String, root: String },
}

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotPem(error) => write!(f, "not a PEM X.509 certificate: {error}"),
            Self::UnsupportedKey(oid) => {
                write!(
                    f,
                    "certificate key algorithm {oid} is neither ECDSA P-256 nor RSA"
                )
            }
            Self::UnsupportedSignatureAlgorithm(oid) => write!(
                f,
                "certificate signature algorithm {oid} is neither ECDSA-SHA256 nor RSA-SHA256"
            ),
            Self::NotIssuedBy { subject, issuer } => {
                write!(f, "certificate '{subject}' is not signed by '{issuer}'")
            }
            Self::NotAnAuthority { subject } => {
                write!(f, "certificate '{subject}' signs others but is not a CA")
            }
            Self::OutsideValidity { subject } => {
                write!(f, "certificate '{subject}' is expired or not yet valid")
            }
            Self::NoPathToRoot { subject, root } => {
                write!(
                    f,
                    "certificate '{subject}' does not chain to the root '{root}'"
                )
            }
        }
    }
}

impl std::error::Error for CertError {}

/// A public key that checks signatures.
#[derive(Debug, Clone)]
pub enum PublicKey {
    EcdsaP256(EcdsaKey),
    Rsa(RsaPublicKey),
}

/// A signature in one of the encodings the protocol uses.
pub enum Signature<'a> {
    /// ECDSA, `r || s` as two big-endian 32-byte numbers (envelopes).
    EcdsaRaw(&'a [u8]),
    /// ECDSA as an ASN.1 DER sequence (certificates).
    EcdsaDer(&'a [u8]),
    /// RSA PKCS#1 v1.5.
    Rsa(&'a [u8]),
}

impl PublicKey {
    /// Whether `signature` is this key's over SHA-256(`message`).
    pub fn verifies(&self, message: &[u8], signature: Signature<'_>) -> bool {
        match (self, signature) {
            (Self::EcdsaP256(key), Signature::EcdsaRaw(bytes)) => EcdsaSignature::from_slice(bytes)
                .is_ok_and(|signature| key.verify(message, &signature).is_ok()),
            (Self::EcdsaP256(key), Signature::EcdsaDer(bytes)) => DerSignature::from_bytes(bytes)
                .is_ok_and(|signature| key.verify(message, &signature).is_ok()),
            (Self::Rsa(key), Signature::Rsa(bytes)) => {
                RsaSignature::try_from(bytes).is_ok_and(|signature| {
                    RsaKey::<Sha256>::new(key.clone())
                        .verify(message, &signature)
                        .is_ok()
                })
            }
            _ => false,
        }
    }

    /// The signature encoding this key's envelopes use.
    pub fn envelope_signature<'a>(&self, bytes: &'a [u8]) -> Signature<'a> {
        match self {
            Self::EcdsaP256(_) => Signature::EcdsaRaw(bytes),
            Self::Rsa(_) => Signature::Rsa(bytes),
        }
    }
}

/// A parsed certificate with the PEM text it came as.
#[derive(Debug, Clone)]
pub struct Cert {
    pem: String,
    der: Vec<u8>,
    x509: Certificate,
    key: PublicKey,
}

impl Cert {
    pub fn from_pem(pem: &str) -> Result<Self, CertError> {
        let x509 =
            Certificate::from_pem(pem).map_err(|error| CertError::NotPem(error.to_string()))?;
        let spki = x509.tbs_certificate().subject_public_key_info();
        let spki_der = spki
            .to_der()
            .map_err(|error| CertError::NotPem(error.to_string()))?;
        let algorithm = spki.algorithm.oid;
        let unsupported = || CertError::UnsupportedKey(algorithm.to_string());
        let key = if algorithm == EC_PUBLIC_KEY {
            PublicKey::EcdsaP256(
                EcdsaKey::from_public_key_der(&spki_der).map_err(|_| unsupported())?,
            )
        } else if algorithm == RSA_PUBLIC_KEY {
            PublicKey::Rsa(RsaPublicKey::from_public_key_der(&spki_der).map_err(|_| unsupported())?)
        } else {
            return Err(unsupported());
        };
        let der = x509
            .to_der()
            .map_err(|error| CertError::NotPem(error.to_string()))?;
        Ok(Self {
            pem: pem.to_owned(),
            der,
            x509,
            key,
        })
    }

    /// The PEM text, as received or stored.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// SHA-256 of the PEM text as received: how a controller names its
    /// certificates (see [`crate::envelope::Signer`]).
    pub fn pem_hash(&self) -> [u8; CERT_HASH_LEN] {
        Sha256::digest(self.pem.as_bytes()).into()
    }

    /// SHA-256 of the certificate's DER encoding: how a device names its
    /// own certificates (see [`crate::envelope::Signer`]).
    pub fn der_hash(&self) -> [u8; CERT_HASH_LEN] {
        Sha256::digest(&self.der).into()
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }

    /// Whether the certificate is for this P-256 key.
    pub fn is_for(&self, key: &EcdsaKey) -> bool {
        matches!(&self.key, PublicKey::EcdsaP256(own) if own == key)
    }

    /// The subject's distinguished name, for messages.
    pub fn subject(&self) -> String {
        self.x509.tbs_certificate().subject().to_string()
    }

    /// Checks that `issuer` signed this certificate and may sign
    /// certificates.
    pub fn check_issued_by(&self, issuer: &Cert) -> Result<(), CertError> {
        let not_issued = || CertError::NotIssuedBy {
            subject: self.subject(),
            issuer: issuer.subject(),
        };
        if self.x509.tbs_certificate().issuer() != issuer.x509.tbs_certificate().subject() {
            return Err(not_issued());
        }
        if !issuer.is_authority() {
            return Err(CertError::NotAnAuthority {
                subject: issuer.subject(),
            });
        }
        let algorithm = self.x509.signature_algorithm().oid;
        let bytes = self.x509.signature().raw_bytes();
        let signature = if algorithm == ECDSA_WITH_SHA256 {
            Signature::EcdsaDer(bytes)
        } else if algorithm == RSA_WITH_SHA256 {
            Signature::Rsa(bytes)
        } else {
            return Err(CertError::UnsupportedSignatureAlgorithm(
                algorithm.to_string(),
            ));
        };
        let signed = self
            .x509
            .tbs_certificate()
            .to_der()
            .map_err(|error| CertError::NotPem(error.to_string()))?;
        if issuer.key.verifies(&signed, signature) {
            Ok(())
        } else {
            Err(not_issued())
        }
    }

    /// Checks that the certificate is valid at `now`.
    pub fn check_validity(&self, now: SystemTime) -> Result<(), CertError> {
        let validity = self.x509.tbs_certificate().validity();
        if validity.not_before.to_system_time() <= now && now <= validity.not_after.to_system_time()
        {
            Ok(())
        } else {
            Err(CertError::OutsideValidity {
                subject: self.subject(),
            })
        }
    }

    fn is_authority(&self) -> bool {
        matches!(
            self.x509.tbs_certificate().get_extension::<BasicConstraints>(),
            Ok(Some((_, constraints))) if constraints.ca
        )
    }
}

/// Lower-case hex SHA-256 of `bytes`, as the protocol's string hashes
/// (config hash, `controllercert_confighash`) are written.
pub fn hex_sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hexadecimal of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Checks that `leaf` chains to `root` through some of `intermediates`,
/// every certificate on the way valid at `now`.
pub fn check_chain(
    leaf: &Cert,
    intermediates: &[Cert],
    root: &Cert,
    now: SystemTime,
) -> Result<(), CertError> {
    let mut current = leaf;
    // Each step moves one certificate up; a chain cannot be longer than
    // the certificates there are, which also ends issuer loops.
    for _ in 0..=intermediates.len() {
        current.check_validity(now)?;
        if current.check_issued_by(root).is_ok() {
            return root.check_validity(now);
        }
        match intermediates
            .iter()
            .find(|candidate| current.check_issued_by(candidate).is_ok())
        {
            Some(issuer) => current = issuer,
            None => break,
        }
    }
    Err(CertError::NoPathToRoot {
        subject: leaf.subject(),
        root: root.subject(),
    })
}
