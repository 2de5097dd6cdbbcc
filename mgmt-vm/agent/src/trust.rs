//! The controller's certificates (`certs` endpoint): accepted only when
//! the signing certificate chains to the root CA provisioned on the node
//! and signs the list itself.

use std::fmt;
use std::time::SystemTime;

use cordon_eve::cert::{Cert, CertError, check_chain, hex_sha256};
use cordon_eve::envelope::{EnvelopeError, Signer, open};
use cordon_eve::proto::auth::AuthContainer;
use cordon_eve::proto::certs::{ZCertType, ZControllerCert};
use cordon_eve::proto::config::EdgeDevConfig;
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

/// Whether `config` names a certificate list other than `certs`; a
/// controller that names none is taken to keep its certificates.
pub fn certs_changed(config: &EdgeDevConfig, certs: &ControllerCerts) -> bool {
    !config.controllercert_confighash.is_empty()
        && config.controllercert_confighash != certs.list_hash
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
    open(&envelope, &signing, Signer::Controller).map_err(TrustError::Envelope)?;
    Ok(ControllerCerts {
        list_hash: hex_sha256(payload),
        signing,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use cordon_eve::envelope::seal;
    use cordon_eve::issue::{Issuer, Role, issue};
    use cordon_eve::signing::SigningKey;

    use super::*;

    fn certs(list_hash: &str) -> ControllerCerts {
        let key = SigningKey::generate().expect("key");
        let lifetime = Duration::from_secs(60);
        let signing = issue(
            "signing",
            &key,
            Role::EndEntity,
            Issuer::SelfSigned,
            lifetime,
        )
        .expect("cert");
        ControllerCerts {
            signing,
            list_hash: list_hash.to_owned(),
        }
    }

    fn naming(hash: &str) -> EdgeDevConfig {
        EdgeDevConfig {
            controllercert_confighash: hash.to_owned(),
            ..EdgeDevConfig::default()
        }
    }

    #[test]
    fn another_list_hash_means_new_certificates() {
        assert!(certs_changed(&naming("new"), &certs("old")));
        assert!(!certs_changed(&naming("old"), &certs("old")));
    }

    #[test]
    fn config_naming_no_list_keeps_the_certificates() {
        assert!(!certs_changed(&naming(""), &certs("old")));
    }

    /// A root, a signing certificate it issued, and the signing key.
    fn chain() -> (Cert, Cert, SigningKey) {
        let lifetime = Duration::from_secs(60);
        let root_key = SigningKey::generate().expect("key");
        let root = issue(
            "root",
            &root_key,
            Role::Authority,
            Issuer::SelfSigned,
            lifetime,
        )
        .expect("root");
        let key = SigningKey::generate().expect("key");
        let by_root = Issuer::Authority {
            cert: &root,
            key: &root_key,
        };
        let signing = issue("signing", &key, Role::EndEntity, by_root, lifetime).expect("cert");
        (root, signing, key)
    }

    fn list(signing: &Cert, r#type: ZCertType) -> Vec<u8> {
        ZControllerCert {
            certs: vec![cordon_eve::proto::certs::ZCert {
                r#type: r#type as i32,
                cert: signing.pem().as_bytes().to_vec(),
                ..Default::default()
            }],
        }
        .encode_to_vec()
    }

    #[test]
    fn list_signed_by_its_signing_certificate_is_trusted() {
        let (root, signing, key) = chain();
        let payload = list(&signing, ZCertType::CertTypeControllerSigning);
        let body = seal(payload.clone(), &key, &signing, Signer::Controller)
            .expect("a software key signs")
            .encode_to_vec();
        let certs = verify_certs(&body, &root, SystemTime::now()).expect("trusted");
        assert_eq!(certs.list_hash, hex_sha256(&payload));
    }

    #[test]
    fn list_signed_by_another_key_is_refused() {
        let (root, signing, _) = chain();
        let other = SigningKey::generate().expect("key");
        let payload = list(&signing, ZCertType::CertTypeControllerSigning);
        let body = seal(payload, &other, &signing, Signer::Controller)
            .expect("a software key signs")
            .encode_to_vec();
        let result = verify_certs(&body, &root, SystemTime::now());
        assert!(
            matches!(
                result,
                Err(TrustError::Envelope(EnvelopeError::BadSignature { .. }))
            ),
            "{result:?}"
        );
    }

    #[test]
    fn list_without_a_signing_certificate_is_refused() {
        let (root, signing, key) = chain();
        let payload = list(&signing, ZCertType::CertTypeControllerIntermediate);
        let body = seal(payload, &key, &signing, Signer::Controller)
            .expect("a software key signs")
            .encode_to_vec();
        let result = verify_certs(&body, &root, SystemTime::now());
        assert_eq!(result.map(|_| ()), Err(TrustError::NoSigningCert));
    }

    #[test]
    fn answer_that_is_no_envelope_is_malformed() {
        let root = certs("").signing;
        let result = verify_certs(b"\xff\xff", &root, SystemTime::now());
        assert!(
            matches!(result, Err(TrustError::Malformed(_))),
            "{result:?}"
        );
    }
}
