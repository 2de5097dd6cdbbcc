//! The controller's certificates (`certs` endpoint): accepted only when
//! the signing certificate chains to the root CA provisioned on the node
//! and signs the list itself.

use std::fmt;
use std::time::SystemTime;

use cordon_eve::cert::{Cert, CertError, check_chain, hex_sha256};
use cordon_eve::envelope::{EnvelopeError, open};
use cordon_eve::proto::auth::AuthContainer;
use cordon_eve::proto::certs::{ZCertType, ZControllerCert};
use prost::Message;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustError {
    /// The answer is not an envelope holding a certificate list.
    Malformed(String),
    /// The list has no controller signing certificate.
    NoSigningCert,
    /// A certificate of the list cannot be read.
    BadCert(CertError),
    /// The signing certificate does not chain to the provisioned root.
    Chain(CertError),
    /// The list is not signed by its own signing certificate.
    Envelope(EnvelopeError),
}

impl fmt::Display for TrustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(error) => write!(f, "controller certificates are malformed: {error}"),
            Self::NoSigningCert => write!(f, "controller sent no signing certificate"),
            Self::BadCert(error) => write!(f, "controller certificate unreadable: {error}"),
            Self::Chain(error) => write!(f, "controller signing certificate untrusted: {error}"),
            Self::Envelope(error) => write!(f, "controller certificate list: {error}"),
        }
    }
}

impl std::error::Error for TrustError {}

/// The controller's certificates, checked.
#[derive(Debug, Clone)]
pub struct ControllerCerts {
    /// Signs everything the controller sends.
    pub signing: Cert,
    /// Hex SHA-256 of the certificate list's payload: the controller
    /// names it in each config (`controllercert_confighash`) so a device
    /// knows when to fetch the list again.
    pub list_hash: String,
}

/// Checks the `certs` answer `body` against `root` at `now`.
pub fn verify_certs(
    body: &[u8],
    root: &Cert,
    now: SystemTime,
) -> Result<ControllerCerts, TrustError> {
    let malformed = |error: prost::DecodeError| TrustError::Malformed(error.to_string());
    let envelope = AuthContainer::decode(body).map_err(malformed)?;
    let payload = envelope
        .protected_payload
        .as_ref()
        .map(|body| body.payload.as_slice())
        .ok_or(TrustError::Envelope(EnvelopeError::MissingPayload))?;
    let list = ZControllerCert::decode(payload).map_err(malformed)?;
    let of_type = |wanted: ZCertType| {
        list.certs
            .iter()
            .filter(move |cert| cert.r#type == wanted as i32)
            .map(|cert| {
                Cert::from_pem(&String::from_utf8_lossy(&cert.cert)).map_err(TrustError::BadCert)
            })
    };
    let signing = of_type(ZCertType::CertTypeControllerSigning)
        .next()
        .ok_or(TrustError::NoSigningCert)??;
    let intermediates =
        of_type(ZCertType::CertTypeControllerIntermediate).collect::<Result<Vec<_>, _>>()?;
    check_chain(&signing, &intermediates, root, now).map_err(TrustError::Chain)?;
    open(&envelope, &signing).map_err(TrustError::Envelope)?;
    Ok(ControllerCerts {
        list_hash: hex_sha256(payload),
        signing,
    })
}
