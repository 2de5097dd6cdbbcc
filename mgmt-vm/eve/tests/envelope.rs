//! Sealing and opening envelopes with keys and certificates made by this
//! crate, and each reason an envelope or a chain is refused.

use std::time::{Duration, SystemTime};

use cordon_eve::cert::{Cert, CertError, check_chain};
use cordon_eve::envelope::{EnvelopeError, Signer, open, seal, sender_hash};
use cordon_eve::issue::{Issuer, Role, issue};
use cordon_eve::proto::common::{CipherBlock, HashAlgorithm};
use cordon_eve::signing::{KeyError, SigningKey};

const LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
const PAYLOAD: &[u8] = b"a marshalled message";

fn key() -> SigningKey {
    SigningKey::generate().expect("a key")
}

fn self_signed(name: &str, key: &SigningKey, role: Role) -> Cert {
    issue(name, key, role, Issuer::SelfSigned, LIFETIME).expect("a certificate")
}

fn issued(name: &str, key: &SigningKey, role: Role, by: (&Cert, &SigningKey)) -> Cert {
    let issuer = Issuer::Authority {
        cert: by.0,
        key: by.1,
    };
    issue(name, key, role, issuer, LIFETIME).expect("a certificate")
}

#[test]
fn sealed_envelope_opens_with_its_sender() {
    let device_key = key();
    let device = self_signed("device", &device_key, Role::EndEntity);
    let sealed =
        seal(PAYLOAD.to_vec(), &device_key, &device, Signer::Device).expect("a software key signs");
    assert_eq!(sender_hash(&sealed), device.der_hash());
    assert_eq!(open(&sealed, &device, Signer::Device), Ok(PAYLOAD));
}

#[test]
fn envelope_with_other_hash_algorithm_is_refused() {
    let device_key = key();
    let device = self_signed("device", &device_key, Role::EndEntity);
    let mut sealed =
        seal(PAYLOAD.to_vec(), &device_key, &device, Signer::Device).expect("a software key signs");
    sealed.algo = HashAlgorithm::Sha25616bytes as i32;
    assert_eq!(
        open(&sealed, &device, Signer::Device),
        Err(EnvelopeError::UnsupportedHashAlgorithm(
            HashAlgorithm::Sha25616bytes as i32
        ))
    );
}

#[test]
fn controller_envelope_names_the_pem_and_may_carry_half_the_hash() {
    let signing_key = key();
    let signing = self_signed("controller signing", &signing_key, Role::EndEntity);
    let mut sealed = seal(PAYLOAD.to_vec(), &signing_key, &signing, Signer::Controller)
        .expect("a software key signs");
    assert_eq!(sender_hash(&sealed), signing.pem_hash());
    assert_eq!(open(&sealed, &signing, Signer::Controller), Ok(PAYLOAD));
    // The hash of the DER does not name a controller's certificate.
    assert!(matches!(
        open(&sealed, &signing, Signer::Device),
        Err(EnvelopeError::UnknownSender { .. })
    ));
    sealed.algo = HashAlgorithm::Sha25616bytes as i32;
    sealed.sender_cert_hash.truncate(16);
    assert_eq!(open(&sealed, &signing, Signer::Controller), Ok(PAYLOAD));
    sealed.sender_cert_hash[0] ^= 1;
    assert!(matches!(
        open(&sealed, &signing, Signer::Controller),
        Err(EnvelopeError::UnknownSender { .. })
    ));
}

#[test]
fn device_envelope_named_by_its_pem_is_refused() {
    let device_key = key();
    let device = self_signed("device", &device_key, Role::EndEntity);
    let mut sealed =
        seal(PAYLOAD.to_vec(), &device_key, &device, Signer::Device).expect("a software key signs");
    sealed.sender_cert_hash = device.pem_hash().to_vec();
    assert!(matches!(
        open(&sealed, &device, Signer::Device),
        Err(EnvelopeError::UnknownSender { .. })
    ));
}

#[test]
fn envelope_without_payload_is_refused() {
    let device_key = key();
    let device = self_signed("device", &device_key, Role::EndEntity);
    let mut sealed =
        seal(PAYLOAD.to_vec(), &device_key, &device, Signer::Device).expect("a software key signs");
    sealed.protected_payload = None;
    assert_eq!(
        open(&sealed, &device, Signer::Device),
        Err(EnvelopeError::MissingPayload)
    );
}

#[test]
fn encrypted_envelope_is_refused() {
    let device_key = key();
    let device = self_signed("device", &device_key, Role::EndEntity);
    let mut sealed =
        seal(PAYLOAD.to_vec(), &device_key, &device, Signer::Device).expect("a software key signs");
    sealed.cipher_data = Some(CipherBlock::default());
    assert_eq!(
        open(&sealed, &device, Signer::Device),
        Err(EnvelopeError::EncryptedPayload)
    );
}

#[test]
fn envelope_from_another_sender_is_refused() {
    let device_key = key();
    let device = self_signed("device", &device_key, Role::EndEntity);
    let other = self_signed("other", &key(), Role::EndEntity);
    let sealed =
        seal(PAYLOAD.to_vec(), &device_key, &device, Signer::Device).expect("a software key signs");
    assert_eq!(
        open(&sealed, &other, Signer::Device),
        Err(EnvelopeError::UnknownSender {
            hash: device.der_hash().to_vec()
        })
    );
}

#[test]
fn envelope_with_truncated_sender_hash_is_refused() {
    let device_key = key();
    let device = self_signed("device", &device_key, Role::EndEntity);
    let mut sealed =
        seal(PAYLOAD.to_vec(), &device_key, &device, Signer::Device).expect("a software key signs");
    sealed.sender_cert_hash.truncate(16);
    assert!(matches!(
        open(&sealed, &device, Signer::Device),
        Err(EnvelopeError::UnknownSender { .. })
    ));
}

#[test]
fn tampered_payload_is_refused() {
    let device_key = key();
    let device = self_signed("device", &device_key, Role::EndEntity);
    let mut sealed =
        seal(PAYLOAD.to_vec(), &device_key, &device, Signer::Device).expect("a software key signs");
    if let Some(body) = sealed.protected_payload.as_mut() {
        body.payload[0] ^= 1;
    }
    assert_eq!(
        open(&sealed, &device, Signer::Device),
        Err(EnvelopeError::BadSignature {
            sender: device.subject()
        })
    );
}

#[test]
fn signature_by_another_key_under_the_right_hash_is_refused() {
    let device = self_signed("device", &key(), Role::EndEntity);
    let sealed =
        seal(PAYLOAD.to_vec(), &key(), &device, Signer::Device).expect("a software key signs");
    assert!(matches!(
        open(&sealed, &device, Signer::Device),
        Err(EnvelopeError::BadSignature { .. })
    ));
}

#[test]
fn key_survives_pkcs8_round_trip() {
    let original = key();
    let device = self_signed("device", &original, Role::EndEntity);
    let reread = SigningKey::from_pkcs8_pem(&original.to_pkcs8_pem()).expect("key reads back");
    let sealed =
        seal(PAYLOAD.to_vec(), &reread, &device, Signer::Device).expect("a software key signs");
    assert_eq!(open(&sealed, &device, Signer::Device), Ok(PAYLOAD));
}

#[test]
fn text_that_is_no_key_is_refused() {
    assert!(matches!(
        SigningKey::from_pkcs8_pem("not a key"),
        Err(KeyError::NotPkcs8Pem(_))
    ));
}

#[test]
fn chain_through_an_intermediate_reaches_the_root() {
    let root_key = key();
    let root = self_signed("root", &root_key, Role::Authority);
    let intermediate_key = key();
    let intermediate = issued(
        "intermediate",
        &intermediate_key,
        Role::Authority,
        (&root, &root_key),
    );
    let leaf = issued(
        "signing",
        &key(),
        Role::EndEntity,
        (&intermediate, &intermediate_key),
    );
    let now = SystemTime::now();
    assert_eq!(check_chain(&leaf, &[intermediate], &root, now), Ok(()));
    assert!(matches!(
        check_chain(&leaf, &[], &root, now),
        Err(CertError::NoPathToRoot { .. })
    ));
}

#[test]
fn root_of_the_same_name_but_another_key_is_refused() {
    let root_key = key();
    let root = self_signed("root", &root_key, Role::Authority);
    let impostor = self_signed("root", &key(), Role::Authority);
    let leaf = issued("signing", &key(), Role::EndEntity, (&root, &root_key));
    assert_eq!(
        leaf.check_issued_by(&impostor),
        Err(CertError::NotIssuedBy {
            subject: leaf.subject(),
            issuer: impostor.subject()
        })
    );
}

#[test]
fn certificate_issued_by_an_end_entity_is_refused() {
    let signer_key = key();
    let signer = self_signed("signer", &signer_key, Role::EndEntity);
    let leaf = issued("leaf", &key(), Role::EndEntity, (&signer, &signer_key));
    assert_eq!(
        leaf.check_issued_by(&signer),
        Err(CertError::NotAnAuthority {
            subject: signer.subject()
        })
    );
}

#[test]
fn expired_certificate_is_refused() {
    let root_key = key();
    let root = self_signed("root", &root_key, Role::Authority);
    let leaf = issued("signing", &key(), Role::EndEntity, (&root, &root_key));
    let after_expiry = SystemTime::now() + 2 * LIFETIME;
    assert_eq!(
        check_chain(&leaf, &[], &root, after_expiry),
        Err(CertError::OutsideValidity {
            subject: leaf.subject()
        })
    );
}
