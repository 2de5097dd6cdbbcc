//! Envelopes and certificate chains made by OpenSSL (`tests/vectors/`,
//! `tests/vectors/README.md` says how), checked by this crate.

use std::time::SystemTime;

use cordon_eve::cert::hex;
use cordon_eve::cert::{Cert, CertError, check_chain};
use cordon_eve::envelope::{EnvelopeError, Signer, open};
use cordon_eve::proto::auth::{AuthBody, AuthContainer};
use cordon_eve::proto::common::HashAlgorithm;

const EC_ROOT: &str = include_str!("vectors/ec-root.pem");
const EC_SIGNING: &str = include_str!("vectors/ec-signing.pem");
const RSA_ROOT: &str = include_str!("vectors/rsa-root.pem");
const RSA_SIGNING: &str = include_str!("vectors/rsa-signing.pem");
const PAYLOAD: &[u8] = include_bytes!("vectors/payload.bin");
const EC_SIGNATURE_DER: &[u8] = include_bytes!("vectors/payload.ec-signing.der-sig");
const RSA_SIGNATURE: &[u8] = include_bytes!("vectors/payload.rsa-signing.sig");

fn cert(pem: &str) -> Cert {
    Cert::from_pem(pem).expect("vector certificate reads")
}

/// SHA-256 of `ec-signing.pem` as a file (`sha256sum`), and of its DER
/// encoding (`openssl x509 -outform DER | sha256sum`); the same DER hash
/// for `rsa-signing.pem`.
const EC_SIGNING_PEM_SHA256: &str =
    "358e7941604a5eafc78ede03d579bc22b671edd1921fe0d0955c6c78a0509c8a";
const EC_SIGNING_DER_SHA256: &str =
    "f6f666af61cad22c0c568cd6268e181aade7f51a0ab1c497698573c576003b6e";
const RSA_SIGNING_DER_SHA256: &str =
    "0e5e91b88a374859e2dac132896fc61670dd664534ebd046b853f9a4aad15760";

/// A controller's envelope (the vectors' certificates are a controller's).
fn envelope(sender: &Cert, signature: Vec<u8>) -> AuthContainer {
    AuthContainer {
        protected_payload: Some(AuthBody {
            payload: PAYLOAD.to_vec(),
        }),
        algo: HashAlgorithm::Sha25632bytes as i32,
        sender_cert_hash: sender.pem_hash().to_vec(),
        signature_hash: signature,
        ..AuthContainer::default()
    }
}

/// OpenSSL writes ECDSA signatures as DER; envelopes carry raw `r || s`.
fn raw_ecdsa(der: &[u8]) -> Vec<u8> {
    p256::ecdsa::Signature::from_der(der)
        .expect("vector signature is DER")
        .to_bytes()
        .to_vec()
}

#[test]
fn ecdsa_envelope_from_openssl_opens() {
    let sender = cert(EC_SIGNING);
    let sealed = envelope(&sender, raw_ecdsa(EC_SIGNATURE_DER));
    assert_eq!(open(&sealed, &sender, Signer::Controller), Ok(PAYLOAD));
}

#[test]
fn rsa_envelope_from_openssl_opens() {
    let sender = cert(RSA_SIGNING);
    let sealed = envelope(&sender, RSA_SIGNATURE.to_vec());
    assert_eq!(open(&sealed, &sender, Signer::Controller), Ok(PAYLOAD));
}

#[test]
fn ecdsa_signature_in_der_form_is_refused() {
    let sender = cert(EC_SIGNING);
    let sealed = envelope(&sender, EC_SIGNATURE_DER.to_vec());
    assert!(matches!(
        open(&sealed, &sender, Signer::Controller),
        Err(EnvelopeError::BadSignature { .. })
    ));
}

#[test]
fn rsa_signature_over_other_payload_is_refused() {
    let sender = cert(RSA_SIGNING);
    let mut sealed = envelope(&sender, RSA_SIGNATURE.to_vec());
    sealed.protected_payload = Some(AuthBody {
        payload: b"something else".to_vec(),
    });
    assert!(matches!(
        open(&sealed, &sender, Signer::Controller),
        Err(EnvelopeError::BadSignature { .. })
    ));
}

#[test]
fn certificate_hashes_are_openssls() {
    assert_eq!(hex(&cert(EC_SIGNING).pem_hash()), EC_SIGNING_PEM_SHA256);
    assert_eq!(hex(&cert(EC_SIGNING).der_hash()), EC_SIGNING_DER_SHA256);
    assert_eq!(hex(&cert(RSA_SIGNING).der_hash()), RSA_SIGNING_DER_SHA256);
    assert_eq!(
        hex(&Signer::Device.cert_hash(&cert(EC_SIGNING))),
        EC_SIGNING_DER_SHA256
    );
    assert_eq!(
        hex(&Signer::Controller.cert_hash(&cert(EC_SIGNING))),
        EC_SIGNING_PEM_SHA256
    );
}

#[test]
fn openssl_chains_reach_their_roots() {
    let now = SystemTime::now();
    assert_eq!(
        check_chain(&cert(EC_SIGNING), &[], &cert(EC_ROOT), now),
        Ok(())
    );
    assert_eq!(
        check_chain(&cert(RSA_SIGNING), &[], &cert(RSA_ROOT), now),
        Ok(())
    );
}

#[test]
fn chain_to_another_root_is_refused() {
    let result = check_chain(&cert(EC_SIGNING), &[], &cert(RSA_ROOT), SystemTime::now());
    assert!(matches!(result, Err(CertError::NoPathToRoot { .. })));
}

#[test]
fn text_that_is_no_certificate_is_refused() {
    assert!(matches!(
        Cert::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        Err(CertError::NotPem(_))
    ));
}
