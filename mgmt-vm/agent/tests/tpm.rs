//! The device key in a TPM, against a software TPM (`swtpm`): what it signs
//! verifies with its certificate, it comes back from its stored blobs in
//! the same TPM only, and the identity keeps to the key it was made with.

mod support;

use std::time::Duration;

use cordon_agent::identity::{Identity, IdentityError, KeyHolder};
use cordon_agent::store::StateDir;
use cordon_agent::tpm::{TpmError, TpmKey};
use cordon_eve::envelope::{EnvelopeError, Signer, open, seal};
use cordon_eve::issue::{Issuer, Role, issue};
use cordon_eve::signing::Sign;
use eve_test_controller::provisioning::OnboardingFiles;
use support::swtpm::Swtpm;

const PAYLOAD: &[u8] = b"a config request";
const SERIAL: &str = "tpm-node";
const LIFETIME: Duration = Duration::from_secs(3600);
/// The TCG vendor code of swtpm's libtpms.
const SWTPM_MANUFACTURER: &str = "IBM";

#[test]
fn tpm_key_signs_envelopes_its_certificate_verifies() {
    let swtpm = Swtpm::start("signs");
    let (key, _) = TpmKey::create(swtpm.connect()).expect("key made in the TPM");
    let cert = issue(SERIAL, &key, Role::Authority, Issuer::SelfSigned, LIFETIME)
        .expect("certificate signed by the TPM");
    assert!(cert.is_for(&key.public_key()));
    cert.check_issued_by(&cert)
        .expect("the TPM's certificate signature verifies");

    let sealed = seal(PAYLOAD.to_vec(), &key, &cert, Signer::Device).expect("the TPM signs");
    assert_eq!(
        open(&sealed, &cert, Signer::Device).expect("envelope opens"),
        PAYLOAD
    );

    let mut tampered = sealed.clone();
    tampered
        .protected_payload
        .as_mut()
        .expect("payload")
        .payload[0] ^= 1;
    assert!(matches!(
        open(&tampered, &cert, Signer::Device),
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

/// More keys than a TPM holds loaded at once (libtpms: 3 objects), made
/// one after another.
const KEYS_IN_TURN: usize = 5;

#[test]
fn dropped_tpm_keys_leave_the_tpm() {
    // swtpm has no resource manager, like /dev/tpm0: an object a closed
    // connection left loaded would stay.
    let swtpm = Swtpm::start("slots");
    for _ in 0..KEYS_IN_TURN {
        let (key, _) = TpmKey::create(swtpm.connect()).expect("room for one more key");
        drop(key);
    }
}

/// A node's provisioned onboarding files and its state directory.
fn provisioned(test: &str) -> (OnboardingFiles, StateDir) {
    let files = OnboardingFiles::create(&format!("tpm-{test}"));
    let state = StateDir::open(&files.dir.join("state")).expect("state");
    (files, state)
}

fn identity(
    files: &OnboardingFiles,
    state: &StateDir,
    tpm: Option<cordon_agent::tpm::Tpm>,
) -> Result<Identity, IdentityError> {
    Identity::load_or_create(&files.cert_path(), &files.key_path(), SERIAL, state, tpm)
}

#[test]
fn identity_made_with_a_tpm_keeps_its_key_there() {
    let swtpm = Swtpm::start("identity");
    let (files, state) = provisioned("identity");
    let first = identity(&files, &state, Some(swtpm.connect())).expect("identity");
    assert_eq!(
        first.device_key,
        KeyHolder::Tpm {
            device: "swtpm".to_owned(),
            manufacturer: SWTPM_MANUFACTURER.to_owned(),
        }
    );
    assert!(!state.exists("device.key.pem"), "no software device key");
    first
        .ecdh
        .cert
        .check_issued_by(&first.device.cert)
        .expect("the TPM key certifies the ECDH key");
    let first_cert = first.device.cert.pem().to_owned();
    drop(first);

    let again = identity(&files, &state, Some(swtpm.connect())).expect("identity again");
    assert_eq!(again.device.cert.pem(), first_cert);
    let sealed = seal(
        PAYLOAD.to_vec(),
        again.device.key.as_ref(),
        &again.device.cert,
        Signer::Device,
    )
    .expect("the TPM signs");
    assert_eq!(
        open(&sealed, &again.device.cert, Signer::Device).expect("opens"),
        PAYLOAD
    );
    drop(again);

    assert!(matches!(
        identity(&files, &state, None),
        Err(IdentityError::NoTpm { .. })
    ));
    let _ = std::fs::remove_dir_all(&files.dir);
}

#[test]
fn software_key_made_before_the_tpm_stays_the_devices() {
    let (files, state) = provisioned("software-first");
    let first = identity(&files, &state, None).expect("identity");
    assert_eq!(first.device_key, KeyHolder::Software { unused_tpm: None });

    let swtpm = Swtpm::start("software-first");
    let again = identity(&files, &state, Some(swtpm.connect())).expect("identity again");
    assert_eq!(again.device.cert.pem(), first.device.cert.pem());
    assert_eq!(
        again.device_key,
        KeyHolder::Software {
            unused_tpm: Some("swtpm".to_owned())
        }
    );
    let _ = std::fs::remove_dir_all(&files.dir);
}

/// A nonce as the controller gives one.
const NONCE: [u8; 32] = [7; 32];

#[test]
fn identity_with_a_tpm_has_an_attestation_key_that_quotes() {
    let swtpm = Swtpm::start("attest");
    let (files, state) = provisioned("attest");
    let first = identity(&files, &state, Some(swtpm.connect())).expect("identity");
    let attestation = first.attestation.clone().expect("an attestation key");
    attestation
        .cert
        .check_issued_by(&first.device.cert)
        .expect("the device key certifies the attestation key");
    let quote = attestation.quote(&NONCE).expect("a quote");
    assert_eq!(quote.pcr_values.len(), 16, "PCRs 0-15");
    assert!(!quote.attest_data.is_empty() && !quote.signature.is_empty());
    assert!(attestation.quote(&NONCE[..8]).is_err(), "a short nonce");
    let first_cert = attestation.cert.pem().to_owned();
    drop((first, attestation));

    let again = identity(&files, &state, Some(swtpm.connect())).expect("identity again");
    let attestation = again.attestation.expect("the attestation key again");
    assert_eq!(attestation.cert.pem(), first_cert, "the key is kept");
    attestation.quote(&NONCE).expect("the kept key quotes");
}

#[test]
fn identity_without_a_tpm_has_no_attestation_key() {
    let (files, state) = provisioned("no-attest");
    let identity = identity(&files, &state, None).expect("identity");
    assert!(identity.attestation.is_none());
}
