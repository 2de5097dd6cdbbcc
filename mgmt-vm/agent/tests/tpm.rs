//! The device key in a TPM, against a software TPM (`swtpm`): what it signs
//! verifies with its certificate, and it comes back from its stored blobs
//! in the same TPM only.

mod support;

use std::time::Duration;

use cordon_agent::tpm::{TpmError, TpmKey};
use cordon_eve::envelope::{EnvelopeError, open, seal};
use cordon_eve::issue::{Issuer, Role, issue};
use cordon_eve::signing::Sign;
use support::swtpm::Swtpm;

const PAYLOAD: &[u8] = b"a config request";
const SERIAL: &str = "tpm-node";
const LIFETIME: Duration = Duration::from_secs(3600);

#[test]
fn tpm_key_signs_envelopes_its_certificate_verifies() {
    let swtpm = Swtpm::start("signs");
    let (key, _) = TpmKey::create(swtpm.connect()).expect("key made in the TPM");
    let cert = issue(SERIAL, &key, Role::Authority, Issuer::SelfSigned, LIFETIME)
        .expect("certificate signed by the TPM");
    assert!(cert.is_for(&key.public_key()));
    cert.check_issued_by(&cert)
        .expect("the TPM's certificate signature verifies");

    let sealed = seal(PAYLOAD.to_vec(), &key, &cert).expect("the TPM signs");
    assert_eq!(open(&sealed, &cert).expect("envelope opens"), PAYLOAD);

    let mut tampered = sealed.clone();
    tampered
        .protected_payload
        .as_mut()
        .expect("payload")
        .payload[0] ^= 1;
    assert!(matches!(
        open(&tampered, &cert),
        Err(EnvelopeError::BadSignature { .. })
    ));
}

#[test]
fn tpm_key_comes_back_from_its_blobs_in_its_own_tpm_only() {
    let swtpm = Swtpm::start("blobs");
    let (key, blobs) = TpmKey::create(swtpm.connect()).expect("key made in the TPM");
    let public = key.public_key();
    drop(key);

    let again = TpmKey::load(swtpm.connect(), &blobs).expect("key loaded again");
    assert_eq!(again.public_key(), public);
    let signature = again.try_sign(PAYLOAD).expect("the TPM signs");
    let signature = p256::ecdsa::Signature::from_slice(&signature).expect("r || s");
    use p256::ecdsa::signature::Verifier;
    public
        .verify(PAYLOAD, &signature)
        .expect("signature verifies with the key's public point");

    let other = Swtpm::start("blobs-other");
    assert!(matches!(
        TpmKey::load(other.connect(), &blobs),
        Err(TpmError::Refused { .. })
    ));
}
