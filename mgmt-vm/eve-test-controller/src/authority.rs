//! The test controller's keys: a root CA (the one a node is provisioned
//! with), the signing certificate it issues, which signs every answer, and
//! the TLS server certificate it issues when the controller serves HTTPS.

use std::net::IpAddr;
use std::time::Duration;

use cordon_eve::cert::{Cert, hex_sha256};
use cordon_eve::envelope::{Signer, seal};
use cordon_eve::issue::{IssueError, Issuer, Role, issue};
use cordon_eve::proto::certs::{ZCert, ZCertType, ZControllerCert};
use cordon_eve::proto::common::HashAlgorithm;
use cordon_eve::signing::{KeyError, SigningKey};
use prost::Message;

/// How long the test certificates are valid.
const LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
const ROOT_NAME: &str = "cordon test controller root";
const SIGNING_NAME: &str = "cordon test controller signing";
const TLS_NAME: &str = "cordon test controller";

#[derive(Debug)]
pub enum AuthorityError {
    Key(KeyError),
    Issue(IssueError),
}

impl std::fmt::Display for AuthorityError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Key(error) => write!(f, "test controller key: {error}"),
            Self::Issue(error) => write!(f, "test controller certificate: {error}"),
        }
    }
}

impl std::error::Error for AuthorityError {}

#[derive(Debug, Clone)]
pub struct Authority {
    pub root: Cert,
    root_key: SigningKey,
    pub signing: Cert,
    signing_key: SigningKey,
}

impl Authority {
    /// New keys and certificates.
    pub fn generate() -> Result<Self, AuthorityError> {
        let root_key = SigningKey::generate().map_err(AuthorityError::Key)?;
        let root = issue(
            ROOT_NAME,
            &root_key,
            Role::Authority,
            Issuer::SelfSigned,
            LIFETIME,
        )
        .map_err(AuthorityError::Issue)?;
        let signing_key = SigningKey::generate().map_err(AuthorityError::Key)?;
        let by_root = Issuer::Authority {
            cert: &root,
            key: &root_key,
        };
        let signing = issue(
            SIGNING_NAME,
            &signing_key,
            Role::EndEntity,
            by_root,
            LIFETIME,
        )
        .map_err(AuthorityError::Issue)?;
        Ok(Self {
            root,
            root_key,
            signing,
            signing_key,
        })
    }

    /// A TLS server certificate for `address`, issued by the root, and its
    /// key.
    pub fn tls_server(&self, address: IpAddr) -> Result<(Cert, SigningKey), AuthorityError> {
        let key = SigningKey::generate().map_err(AuthorityError::Key)?;
        let by_root = Issuer::Authority {
            cert: &self.root,
            key: &self.root_key,
        };
        let cert = issue(TLS_NAME, &key, Role::TlsServer(address), by_root, LIFETIME)
            .map_err(AuthorityError::Issue)?;
        Ok((cert, key))
    }

    /// `message` in an envelope signed with the signing key, encoded.
    pub fn seal(&self, message: &impl Message) -> Vec<u8> {
        seal(
            message.encode_to_vec(),
            &self.signing_key,
            &self.signing,
            Signer::Controller,
        )
        .expect("a software key signs")
        .encode_to_vec()
    }

    /// The certificate list's payload (`certs` endpoint).
    pub fn certs_payload(&self) -> ZControllerCert {
        ZControllerCert {
            certs: vec![ZCert {
                hash_algo: HashAlgorithm::Sha25632bytes as i32,
                cert_hash: self.signing.pem_hash().to_vec(),
                r#type: ZCertType::CertTypeControllerSigning as i32,
                cert: self.signing.pem().as_bytes().to_vec(),
                ..ZCert::default()
            }],
        }
    }

    /// What configs name as `controllercert_confighash`: the hex SHA-256
    /// of the certificate list's payload.
    pub fn certs_hash(&self) -> String {
        hex_sha256(&self.certs_payload().encode_to_vec())
    }
}
