//! Who the node is to the controller: the onboarding certificate and key
//! provisioned in the image, and the device's own key and certificate,
//! made on first boot (a software P-256 key, stored owner-only) and kept in
//! the state directory from then on. A second key, certified by the device
//! key, is the one the controller may use for key exchange (ECDH).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cordon_eve::cert::{Cert, CertError};
use cordon_eve::issue::{IssueError, Issuer, Role, issue};
use cordon_eve::signing::{KeyError, SigningKey};

use crate::store::{Access, StateDir, StoreError};

/// How long the device's certificates are valid: the life of a node.
const DEVICE_CERT_LIFETIME: Duration = Duration::from_secs(20 * 365 * 24 * 60 * 60);

const DEVICE_KEY_FILE: &str = "device.key.pem";
const DEVICE_CERT_FILE: &str = "device.cert.pem";
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
        }
    }
}

impl std::error::Error for IdentityError {}

impl From<StoreError> for IdentityError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// A key with its certificate.
#[derive(Debug, Clone)]
pub struct Credential {
    pub key: SigningKey,
    pub cert: Cert,
}

#[derive(Debug, Clone)]
pub struct Identity {
    pub onboarding: Credential,
    pub device: Credential,
    pub ecdh: Credential,
}

impl Identity {
    /// Reads the provisioned onboarding credential and the device's, making
    /// the device's on first boot.
    pub fn load_or_create(
        onboarding_cert: &Path,
        onboarding_key: &Path,
        serial: &str,
        state: &StateDir,
    ) -> Result<Self, IdentityError> {
        let onboarding = Credential {
            key: parse_key(&read_provisioned(onboarding_key)?, onboarding_key)?,
            cert: parse_cert(&read_provisioned(onboarding_cert)?, onboarding_cert)?,
        };
        let device = stored_or_new(state, DEVICE_KEY_FILE, DEVICE_CERT_FILE, |key| {
            issue(
                serial,
                key,
                Role::Authority,
                Issuer::SelfSigned,
                DEVICE_CERT_LIFETIME,
            )
        })?;
        let ecdh_name = format!("{serial}{ECDH_NAME_SUFFIX}");
        let ecdh = stored_or_new(state, ECDH_KEY_FILE, ECDH_CERT_FILE, |key| {
            let issuer = Issuer::Authority {
                cert: &device.cert,
                key: &device.key,
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
            ecdh,
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

fn parse_cert(pem: &str, file: &Path) -> Result<Cert, IdentityError> {
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
        if !cert.is_for(&key.verifying_key()) {
            return Err(IdentityError::Mismatch {
                file: state.path(cert_file).display().to_string(),
            });
        }
        return Ok(Credential { key, cert });
    }
    let key = SigningKey::generate().map_err(|error| IdentityError::Key {
        file: state.path(key_file).display().to_string(),
        error,
    })?;
    let cert = certify(&key).map_err(IdentityError::Issue)?;
    state.write(key_file, key.to_pkcs8_pem().as_bytes(), Access::Private)?;
    state.write(cert_file, cert.pem().as_bytes(), Access::Public)?;
    Ok(Credential { key, cert })
}
