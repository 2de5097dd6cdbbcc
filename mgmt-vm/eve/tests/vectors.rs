//! Envelopes and certificate chains made by OpenSSL (`tests/vectors/`,
//! `tests/vectors/README.md` says how), checked by this crate.

use std::time::SystemTime;

use cordon_eve::cert::{Cert, CertError, check_chain};
use cordon_eve::envelope::{EnvelopeError, open};
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

fn envelope(sender: &Cert, signature: Vec<u8>) -> AuthContainer {
    AuthContainer {
        protected_payload: Some(AuthBody {
            payload: PAYLOAD.to_vec(),
        }),
        algo: HashAlgorithm::Sha25632bytes as i32,
        sender_cert_hash: sender.hash().to_vec(),
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
    assert_eq!(open(&sealed, &sender), Ok(PAYLOAD));
}

#[test]
fn rsa_envelope_from_openssl_opens() {
    let sender = cert(RSA_SIGNING);
    let sealed = envelope(&sender, RSA_SIGNATURE.to_vec());
    assert_eq!(open(&sealed, &sender), Ok(PAYLOAD));
}

#[test]
fn ecdsa_signature_in_der_form_is_refused() {
    let sender = cert(EC_SIGNING);
    let sealed = envelope(&sender, EC_SIGNATURE_DER.to_vec());
    assert!(matches!(
        open(&sealed, &sender),
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
        open(&sealed, &sender),
        Err(EnvelopeError::BadSignature { .. })
    ));
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
