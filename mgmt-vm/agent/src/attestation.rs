//! The TPM's attestation key and what it tells the controller, as EVE does:
//! a restricted ECC P-256 signing key in the TPM beside the device key
//! (its blobs in the state directory like the device key's), certified by
//! the device key, the certificate sent in attestation as
//! `CERT_TYPE_DEVICE_RESTRICTED_SIGNING`; and its quote of PCRs 0-15 for
//! the controller's nonce, with the PCR values, as a `ZAttestQuote`.

use std::fmt;
use std::ops::RangeInclusive;
use std::sync::Arc;

use cordon_eve::cert::Cert;
use cordon_eve::issue::{Issuer, Role, issue};
use cordon_eve::proto::attest::{TpmHashAlgo, TpmPcrValue, ZAttestQuote};
use cordon_eve::proto::certs::{ZCert, ZCertType};
use cordon_eve::proto::common::HashAlgorithm;

use crate::identity::{Credential, DEVICE_CERT_LIFETIME, IdentityError, check_pair, parse_cert};
use crate::store::{Access, StateDir};
use crate::tpm::{KeyBlobs, Purpose, QUOTED_PCRS, SharedTpm, TpmError, TpmKey, quote};

const ATTEST_TPM_PUBLIC_FILE: &str = "attest.tpm-public";
const ATTEST_TPM_PRIVATE_FILE: &str = "attest.tpm-private";
const ATTEST_CERT_FILE: &str = "attest.cert.pem";
/// The attestation certificate's common name suffix.
const ATTEST_NAME_SUFFIX: &str = " attestation";
/// The nonce lengths a quote takes, as EVE's: at least 96 bits, at most a
/// SHA-256 digest.
pub const NONCE_LENGTHS: RangeInclusive<usize> = 12..=32;

/// Why there is no quote.
#[derive(Debug)]
pub enum QuoteError {
    /// The controller's nonce is too short or too long.
    BadNonce(usize),
    Tpm(TpmError),
}

impl fmt::Display for QuoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadNonce(length) => write!(
                f,
                "the controller's nonce is {length} bytes, not {} to {}",
                NONCE_LENGTHS.start(),
                NONCE_LENGTHS.end()
            ),
            Self::Tpm(error) => write!(f, "no quote: {error}"),
        }
    }
}

impl std::error::Error for QuoteError {}

/// The attestation key with its certificate.
#[derive(Debug, Clone)]
pub struct AttestationKey {
    key: Arc<TpmKey>,
    pub cert: Cert,
}

impl AttestationKey {
    /// The stored attestation key, loaded in `tpm`, or a new one made there
    /// and certified by `device`; its blobs stored before its certificate.
    pub fn load_or_create(
        state: &StateDir,
        tpm: SharedTpm,
        device: &Credential,
        serial: &str,
    ) -> Result<Self, IdentityError> {
        let stored = [
            ATTEST_TPM_PUBLIC_FILE,
            ATTEST_TPM_PRIVATE_FILE,
            ATTEST_CERT_FILE,
        ]
        .iter()
        .all(|file| state.exists(file));
        if stored {
            let read = |file| -> Result<Vec<u8>, IdentityError> {
                Ok(state.read(file)?.unwrap_or_default())
            };
            let blobs = KeyBlobs {
                public: read(ATTEST_TPM_PUBLIC_FILE)?,
                private: read(ATTEST_TPM_PRIVATE_FILE)?,
            };
            let key = TpmKey::load_in(tpm, &blobs)?;
            let cert_text = String::from_utf8_lossy(&read(ATTEST_CERT_FILE)?).into_owned();
            let cert = parse_cert(&cert_text, &state.path(ATTEST_CERT_FILE))?;
            check_pair(&key, &cert, state, ATTEST_CERT_FILE)?;
            return Ok(Self {
                key: Arc::new(key),
                cert,
            });
        }
        let (key, blobs) = TpmKey::create_in(tpm, Purpose::Attestation)?;
        let issuer = Issuer::Authority {
            cert: &device.cert,
            key: device.key.as_ref(),
        };
        let cert = issue(
            &format!("{serial}{ATTEST_NAME_SUFFIX}"),
            &key,
            Role::EndEntity,
            issuer,
            DEVICE_CERT_LIFETIME,
        )
        .map_err(IdentityError::Issue)?;
        state.write(ATTEST_TPM_PUBLIC_FILE, &blobs.public, Access::Public)?;
        state.write(ATTEST_TPM_PRIVATE_FILE, &blobs.private, Access::Private)?;
        state.write(ATTEST_CERT_FILE, cert.pem().as_bytes(), Access::Public)?;
        Ok(Self {
            key: Arc::new(key),
            cert,
        })
    }

    /// The certificate as attestation sends it.
    pub fn zcert(&self) -> ZCert {
        ZCert {
            hash_algo: HashAlgorithm::Sha25632bytes as i32,
            cert_hash: self.cert.pem_hash().to_vec(),
            r#type: ZCertType::CertTypeDeviceRestrictedSigning as i32,
            cert: self.cert.pem().as_bytes().to_vec(),
            ..ZCert::default()
        }
    }

    /// The quote of PCRs 0-15 for the controller's `nonce`.
    pub fn quote(&self, nonce: &[u8]) -> Result<ZAttestQuote, QuoteError> {
        if !NONCE_LENGTHS.contains(&nonce.len()) {
            return Err(QuoteError::BadNonce(nonce.len()));
        }
        let quote = quote(&self.key, nonce).map_err(QuoteError::Tpm)?;
        let pcr_values = QUOTED_PCRS
            .zip(quote.pcrs)
            .map(|(index, value)| TpmPcrValue {
                index: u32::from(index),
                hash_algo: TpmHashAlgo::Sha256 as i32,
                value: value.to_vec(),
            })
            .collect();
        Ok(ZAttestQuote {
            attest_data: quote.attest_data,
            signature: quote.signature,
            pcr_values,
            ..ZAttestQuote::default()
        })
    }
}
