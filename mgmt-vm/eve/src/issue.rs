//! Certificates signed with a P-256 key ([`Sign`]): a self-signed one (a
//! root authority, or a device certificate), or one an authority issues
//! (a controller's signing certificate). The key signs the certificate's
//! to-be-signed part itself, so a key whose private part cannot be read (a
//! TPM's) issues certificates too.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use p256::ecdsa::signature::Keypair;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::{EncodePublicKey, LineEnding};
use x509_cert::TbsCertificate;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::der::EncodePem;
use x509_cert::der::asn1::{AnyRef, BitString, OctetString};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, SubjectAltName};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{
    AlgorithmIdentifier, SignatureAlgorithmIdentifier, SubjectPublicKeyInfoOwned,
    SubjectPublicKeyInfoRef,
};
use x509_cert::time::Validity;

use crate::cert::{Cert, CertError};
use crate::signing::{Sign, SignError};

/// Bytes of a random serial number (RFC 5280 allows up to 20).
const SERIAL_LEN: usize = 16;

/// What went wrong making a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueError {
    /// The common name cannot be put in a distinguished name.
    BadCommonName(String),
    /// The operating system gave no random bytes for the serial number.
    NoRandomness(String),
    /// The certificate builder failed.
    Build(String),
    /// The issuer's key did not sign.
    Sign(SignError),
    /// The new certificate does not read back.
    Unreadable(CertError),
}

impl fmt::Display for IssueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadCommonName(name) => write!(f, "'{name}' cannot be a certificate common name"),
            Self::NoRandomness(error) => write!(f, "no randomness for a serial number: {error}"),
            Self::Build(error) => write!(f, "cannot build the certificate: {error}"),
            Self::Sign(error) => write!(f, "cannot sign the certificate: {error}"),
            Self::Unreadable(error) => write!(f, "the new certificate does not read back: {error}"),
        }
    }
}

impl std::error::Error for IssueError {}

/// What a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Signs other certificates.
    Authority,
    /// Signs messages only.
    EndEntity,
    /// A TLS server at this IP address (a test controller's).
    TlsServer(IpAddr),
}

/// Who signs a new certificate.
pub enum Issuer<'a> {
    /// The new certificate's own key.
    SelfSigned,
    /// An authority's key, with the authority's certificate.
    Authority { cert: &'a Cert, key: &'a dyn Sign },
}

/// Makes a certificate for `subject_key` named `common_name`, valid from
/// now for `lifetime`, signed as `issuer` says.
pub fn issue(
    common_name: &str,
    subject_key: &dyn Sign,
    role: Role,
    issuer: Issuer<'_>,
    lifetime: Duration,
) -> Result<Cert, IssueError> {
    let subject = common_name_to_name(common_name)?;
    let (issuer_name, signer) = match issuer {
        Issuer::SelfSigned => (subject.clone(), subject_key),
        Issuer::Authority { cert, key } => (common_name_to_name_of(cert)?, key),
    };
    let profile = Profile {
        subject,
        issuer: issuer_name,
        role,
    };
    let build = |error: &dyn fmt::Display| IssueError::Build(error.to_string());
    let validity = Validity::from_now(lifetime).map_err(|error| build(&error))?;
    let public_key = spki(&subject_key.public_key()).map_err(|error| build(&error))?;
    let mut builder = CertificateBuilder::new(profile, random_serial()?, validity, public_key)
        .map_err(|error| build(&error))?;
    let issuer_key = PublicHalf(signer.public_key());
    let to_be_signed = builder
        .finalize(&issuer_key)
        .map_err(|error| build(&error))?;
    let raw = signer.try_sign(&to_be_signed).map_err(IssueError::Sign)?;
    let der = Signature::from_slice(&raw)
        .map_err(|error| build(&error))?
        .to_der();
    let signature = BitString::from_bytes(der.as_bytes()).map_err(|error| build(&error))?;
    let certificate = builder
        .assemble(signature, &issuer_key)
        .map_err(|error| build(&error))?;
    let pem = certificate
        .to_pem(LineEnding::LF)
        .map_err(|error| build(&error))?;
    Cert::from_pem(&pem).map_err(IssueError::Unreadable)
}

fn common_name_to_name(common_name: &str) -> Result<Name, IssueError> {
    Name::from_str(&format!("CN={common_name}"))
        .map_err(|_| IssueError::BadCommonName(common_name.to_owned()))
}

/// The issuer's subject name, read back from its certificate.
fn common_name_to_name_of(cert: &Cert) -> Result<Name, IssueError> {
    Name::from_str(&cert.subject()).map_err(|_| IssueError::BadCommonName(cert.subject()))
}

fn spki(key: &VerifyingKey) -> Result<SubjectPublicKeyInfoOwned, p256::pkcs8::spki::Error> {
    let der = key.to_public_key_der()?;
    SubjectPublicKeyInfoOwned::try_from(der.as_bytes())
}

fn random_serial() -> Result<SerialNumber, IssueError> {
    let mut bytes = [0u8; SERIAL_LEN];
    getrandom::fill(&mut bytes).map_err(|error| IssueError::NoRandomness(error.to_string()))?;
    // A serial number is a positive integer: clear the sign bit.
    bytes[0] &= 0x7f;
    SerialNumber::new(&bytes).map_err(|error| IssueError::Build(error.to_string()))
}

/// The issuer's public key, which is all the certificate builder needs of
/// the issuer before the signature (made by [`Sign`], outside the builder).
struct PublicHalf(VerifyingKey);

impl Keypair for PublicHalf {
    type VerifyingKey = VerifyingKey;

    fn verifying_key(&self) -> VerifyingKey {
        self.0
    }
}

impl SignatureAlgorithmIdentifier for PublicHalf {
    type Params = AnyRef<'static>;

    const SIGNATURE_ALGORITHM_IDENTIFIER: AlgorithmIdentifier<Self::Params> =
        <VerifyingKey as SignatureAlgorithmIdentifier>::SIGNATURE_ALGORITHM_IDENTIFIER;
}

/// The names and the extensions (basic constraints; a TLS server's
/// address) a new certificate gets.
struct Profile {
    subject: Name,
    issuer: Name,
    role: Role,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let constraints = BasicConstraints {
            ca: self.role == Role::Authority,
            path_len_constraint: None,
        };
        let mut extensions = vec![(true, &constraints).to_extension(tbs.subject(), &[])?];
        if let Role::TlsServer(address) = self.role {
            let octets = match address {
                IpAddr::V4(address) => address.octets().to_vec(),
                IpAddr::V6(address) => address.octets().to_vec(),
            };
            let names = SubjectAltName(vec![GeneralName::IpAddress(OctetString::new(octets)?)]);
            extensions.push((false, &names).to_extension(tbs.subject(), &extensions)?);
        }
        Ok(extensions)
    }
}
