//! Who the node is to the controller: the onboarding certificate and key
//! provisioned in the image, and the device's own key and certificate,
//! made on first boot and kept from then on: a P-256 key in the TPM when
//! there is one (its blobs in the state directory, see [`crate::tpm`]),
//! otherwise a software P-256 key stored owner-only. A key made once stays
//! the device's: a software key made before a TPM was there is kept. A
//! second key (software), certified by the device key, is the one the
//! controller may use for key exchange (ECDH). With the device key in a
//! TPM, a third, the TPM's attestation key, certified by the device key
//! too, quotes the TPM's PCRs ([`crate::attestation`]).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cordon_eve::cert::{Cert, CertError};
use cordon_eve::issue::{IssueError, Issuer, Role, issue};
use cordon_eve::signing::{KeyError, Sign, SigningKey};

use crate::attestation::AttestationKey;
use crate::store::{Access, StateDir, StoreError};
use crate::tpm::{KeyBlobs, SharedTpm, Tpm, TpmError, TpmKey, info};

/// How long the device's certificates are valid: the life of a node.
pub(crate) const DEVICE_CERT_LIFETIME: Duration = Duration::from_secs(20 * 365 * 24 * 60 * 60);

const DEVICE_KEY_FILE: &str = "device.key.pem";
const DEVICE_CERT_FILE: &str = "device.cert.pem";
/// The TPM-held device key's public area and wrapped private area.
const DEVICE_TPM_PUBLIC_FILE: &str = "device.tpm-public";
const DEVICE_TPM_PRIVATE_FILE: &str = "device.tpm-private";
const ECDH_KEY_FILE: &str = "ecdh.key.pem";
const ECDH_CERT_FILE: &str = "ecdh.cert.pem";
/// The key-exchange certificate's common name suffix.
const ECDH_NAME_SUFFIX: &str = " ecdh";

#[derive(Debug)]
pub enum IdentityError {
    /// A provisioned file cannot be read.
    Provisioned {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A stored or provisioned key is not a P-256 PKCS#8 PEM key.
    Key {
        file: String,
        error: KeyError,
    },
    /// A stored or provisioned certificate cannot be used.
    Cert {
        file: String,
        error: CertError,
    },
    /// A key and the certificate stored with it do not belong together.
    Mismatch {
        file: String,
    },
    Issue(IssueError),
    Store(StoreError),
    /// The device key is in a TPM, and there is none now.
    NoTpm {
        file: String,
    },
    Tpm(TpmError),
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Provisioned { path, error } => {
                write!(f, "cannot read provisioned {}: {error}", path.display())
            }
            Self::Key { file, error } => write!(f, "key {file}: {error}"),
            Self::Cert { file, error } => write!(f, "certificate {file}: {error}"),
            Self::Mismatch { file } => {
                write!(f, "certificate {file} is not for the key stored with it")
            }
            Self::Issue(error) => write!(f, "cannot make the device certificate: {error}"),
            Self::Store(error) => error.fmt(f),
            Self::NoTpm { file } => {
                write!(f, "the device key ({file}) is in a TPM, and none is found")
            }
            Self::Tpm(error) => write!(f, "device key: {error}"),
        }
    }
}

impl std::error::Error for IdentityError {}

impl From<StoreError> for IdentityError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

impl From<TpmError> for IdentityError {
    fn from(error: TpmError) -> Self {
        Self::Tpm(error)
    }
}

/// A key with its certificate.
#[derive(Debug, Clone)]
pub struct Credential {
    pub key: Arc<dyn Sign>,
    pub cert: Cert,
}

/// Where the device key is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyHolder {
    /// In the TPM at `device`, made by `manufacturer` (its TCG vendor
    /// code).
    Tpm {
        device: String,
        manufacturer: String,
    },
    /// In the state directory; `unused_tpm` is a TPM found but not used,
    /// since the key was made before it was there.
    Software { unused_tpm: Option<String> },
}

impl fmt::Display for KeyHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tpm {
                device,
                manufacturer,
            } => write!(f, "TPM 2.0 ({device}, made by {manufacturer})"),
            Self::Software { unused_tpm: None } => write!(f, "software (no TPM)"),
            Self::Software {
                unused_tpm: Some(device),
            } => write!(
                f,
                "software (the TPM {device} is not used: the key was made before it was there)"
            ),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Identity {
    pub onboarding: Credential,
    pub device: Credential,
    pub device_key: KeyHolder,
    pub ecdh: Credential,
    /// The TPM's attestation key, when the device key is in a TPM.
    pub attestation: Option<AttestationKey>,
}

impl Identity {
    /// Reads the provisioned onboarding credential and the device's, making
    /// the device's on first boot, in `tpm` if there is one.
    pub fn load_or_create(
        onboarding_cert: &Path,
        onboarding_key: &Path,
        serial: &str,
        state: &StateDir,
        tpm: Option<Tpm>,
    ) -> Result<Self, IdentityError> {
        let onboarding = Credential {
            key: Arc::new(parse_key(
                &read_provisioned(onboarding_key)?,
                onboarding_key,
            )?),
            cert: parse_cert(&read_provisioned(onboarding_cert)?, onboarding_cert)?,
        };
        let certify_device = |key: &dyn Sign| {
            issue(
                serial,
                key,
                Role::Authority,
                Issuer::SelfSigned,
                DEVICE_CERT_LIFETIME,
            )
        };
        let (device, device_key, tpm) = device_credential(state, tpm, certify_device)?;
        let attestation = tpm
            .map(|tpm| AttestationKey::load_or_create(state, tpm, &device, serial))
            .transpose()?;
        let ecdh_name = format!("{serial}{ECDH_NAME_SUFFIX}");
        let ecdh = stored_or_new(state, ECDH_KEY_FILE, ECDH_CERT_FILE, |key| {
            let issuer = Issuer::Authority {
                cert: &device.cert,
                key: device.key.as_ref(),
            };
            issue(
                &ecdh_name,
                key,
                Role::EndEntity,
                issuer,
                DEVICE_CERT_LIFETIME,
            )
        })?;
        Ok(Self {
            onboarding,
            device,
            device_key,
            ecdh,
            attestation,
        })
    }
}

fn read_provisioned(path: &Path) -> Result<String, IdentityError> {
    std::fs::read_to_string(path).map_err(|error| IdentityError::Provisioned {
        path: path.to_owned(),
        error,
    })
}

fn parse_key(pem: &str, file: &Path) -> Result<SigningKey, IdentityError> {
    SigningKey::from_pkcs8_pem(pem).map_err(|error| IdentityError::Key {
        file: file.display().to_string(),
        error,
    })
}

pub(crate) fn parse_cert(pem: &str, file: &Path) -> Result<Cert, IdentityError> {
    Cert::from_pem(pem).map_err(|error| IdentityError::Cert {
        file: file.display().to_string(),
        error,
    })
}

/// The key and certificate stored under these names, or new ones, stored
/// (the key owner-only) before they are used.
fn stored_or_new(
    state: &StateDir,
    key_file: &str,
    cert_file: &str,
    certify: impl FnOnce(&SigningKey) -> Result<Cert, IssueError>,
) -> Result<Credential, IdentityError> {
    let key_text = state.read(key_file)?;
    let cert_text = state.read(cert_file)?;
    if let (Some(key_text), Some(cert_text)) = (key_text, cert_text) {
        let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
        let key = parse_key(&text(key_text), &state.path(key_file))?;
        let cert = parse_cert(&text(cert_text), &state.path(cert_file))?;
        check_pair(&key, &cert, state, cert_file)?;
        return Ok(Credential {
            key: Arc::new(key),
            cert,
        });
    }
    let key = SigningKey::generate().map_err(|error| IdentityError::Key {
        file: state.path(key_file).display().to_string(),
        error,
    })?;
    let cert = certify(&key).map_err(IdentityError::Issue)?;
    state.write(key_file, key.to_pkcs8_pem().as_bytes(), Access::Private)?;
    state.write(cert_file, cert.pem().as_bytes(), Access::Public)?;
    Ok(Credential {
        key: Arc::new(key),
        cert,
    })
}

/// The device's credential and where its key is: the one stored (software
/// or in `tpm`), or a new one, in `tpm` if there is one; with the TPM's
/// connection when the key is there.
fn device_credential(
    state: &StateDir,
    tpm: Option<Tpm>,
    certify: impl FnOnce(&dyn Sign) -> Result<Cert, IssueError>,
) -> Result<(Credential, KeyHolder, Option<SharedTpm>), IdentityError> {
    let tpm_stored = state.exists(DEVICE_TPM_PUBLIC_FILE)
        && state.exists(DEVICE_TPM_PRIVATE_FILE)
        && state.exists(DEVICE_CERT_FILE);
    let software_stored = state.exists(DEVICE_KEY_FILE) && state.exists(DEVICE_CERT_FILE);
    match tpm {
        None if tpm_stored && !software_stored => Err(IdentityError::NoTpm {
            file: state.path(DEVICE_TPM_PRIVATE_FILE).display().to_string(),
        }),
        Some(mut tpm) if !software_stored => {
            let holder = KeyHolder::Tpm {
                device: tpm.name().to_owned(),
                manufacturer: info::manufacturer(&mut tpm)?,
            };
            let key = if tpm_stored {
                stored_tpm_key(state, tpm)?
            } else {
                new_tpm_key(state, tpm, certify)?
            };
            let connection = key.key.connection();
            let credential = Credential {
                key: key.key,
                cert: key.cert,
            };
            Ok((credential, holder, Some(connection)))
        }
        tpm => {
            let unused_tpm = tpm.map(|tpm| tpm.name().to_owned());
            let credential =
                stored_or_new(state, DEVICE_KEY_FILE, DEVICE_CERT_FILE, |key| certify(key))?;
            Ok((credential, KeyHolder::Software { unused_tpm }, None))
        }
    }
}

/// A key in a TPM with its certificate.
struct TpmCredential {
    key: Arc<TpmKey>,
    cert: Cert,
}

fn stored_tpm_key(state: &StateDir, tpm: Tpm) -> Result<TpmCredential, IdentityError> {
    let read =
        |file| -> Result<Vec<u8>, IdentityError> { Ok(state.read(file)?.unwrap_or_default()) };
    let blobs = KeyBlobs {
        public: read(DEVICE_TPM_PUBLIC_FILE)?,
        private: read(DEVICE_TPM_PRIVATE_FILE)?,
    };
    let key = TpmKey::load(tpm, &blobs)?;
    let cert_text = String::from_utf8_lossy(&read(DEVICE_CERT_FILE)?).into_owned();
    let cert = parse_cert(&cert_text, &state.path(DEVICE_CERT_FILE))?;
    check_pair(&key, &cert, state, DEVICE_CERT_FILE)?;
    Ok(TpmCredential {
        key: Arc::new(key),
        cert,
    })
}

/// A new key in `tpm`, certified; its blobs stored before its certificate.
fn new_tpm_key(
    state: &StateDir,
    tpm: Tpm,
    certify: impl FnOnce(&dyn Sign) -> Result<Cert, IssueError>,
) -> Result<TpmCredential, IdentityError> {
    let (key, blobs) = TpmKey::create(tpm)?;
    let cert = certify(&key).map_err(IdentityError::Issue)?;
    state.write(DEVICE_TPM_PUBLIC_FILE, &blobs.public, Access::Public)?;
    state.write(DEVICE_TPM_PRIVATE_FILE, &blobs.private, Access::Private)?;
    state.write(DEVICE_CERT_FILE, cert.pem().as_bytes(), Access::Public)?;
    Ok(TpmCredential {
        key: Arc::new(key),
        cert,
    })
}

/// Checks that the certificate stored in `cert_file` is `key`'s.
pub(crate) fn check_pair(
    key: &dyn Sign,
    cert: &Cert,
    state: &StateDir,
    cert_file: &str,
) -> Result<(), IdentityError> {
    if cert.is_for(&key.public_key()) {
        Ok(())
    } else {
        Err(IdentityError::Mismatch {
            file: state.path(cert_file).display().to_string(),
        })
    }
}
