//! The controller's check of a TPM quote, against quotes the agent's
//! attestation key makes in a software TPM (`swtpm`): a good one is
//! accepted over PCRs 0-15, and each kind of bad one is refused with its
//! answer code; over HTTPS, the agent's attestation with a TPM is accepted
//! with its quote verified, and an empty quote from a device whose info
//! says it has a TPM is refused.

#[path = "../../agent/tests/support/swtpm.rs"]
mod swtpm;

use std::net::{IpAddr, Ipv4Addr};
use std::time::SystemTime;

use cordon_agent::attestation::AttestationKey;
use cordon_agent::exchange::ExchangeError;
use cordon_agent::identity::Identity;
use cordon_agent::onboarding;
use cordon_agent::store::StateDir;
use cordon_agent::transport::{HttpTransport, Transport};
use cordon_agent::trust::{ControllerCerts, verify_certs};
use cordon_eve::cert::Cert;
use cordon_eve::endpoint::Endpoint;
use cordon_eve::proto::attest::{ZAttestQuote, ZAttestResponseCode};
use cordon_eve::proto::info::z_info_msg::InfoContent;
use cordon_eve::proto::info::{HwSecurityModuleStatus, ZInfoDevice, ZInfoMsg};
use eve_test_controller::provisioning::OnboardingFiles;
use eve_test_controller::quote::{QuoteRefusal, verify};
use eve_test_controller::{Authority, TestController};
use swtpm::Swtpm;

const NONCE: [u8; 32] = [0x5a; 32];
const SERIAL: &str = "quote-node";

/// A device identity with its keys in `swtpm`, in a scratch folder, and
/// its onboarding certificate.
fn onboarding_device(swtpm: &Swtpm, test: &str) -> (Identity, Cert) {
    let files = OnboardingFiles::create(&format!("quote-{test}"));
    let state = StateDir::open(&files.dir.join("state")).expect("state");
    let identity = Identity::load_or_create(
        &files.cert_path(),
        &files.key_path(),
        SERIAL,
        &state,
        Some(swtpm.connect()),
    )
    .expect("identity in the TPM");
    (identity, files.cert)
}

/// A device identity with its keys in `swtpm`.
fn device(swtpm: &Swtpm, test: &str) -> Identity {
    onboarding_device(swtpm, test).0
}

fn attestation(identity: &Identity) -> &AttestationKey {
    identity.attestation.as_ref().expect("an attestation key")
}

fn refused(quote: &ZAttestQuote, nonce: &[u8], key: Option<&AttestationKey>) -> QuoteRefusal {
    verify(quote, nonce, key.map(|key| &key.cert)).expect_err("the quote is refused")
}

#[test]
fn a_good_quote_is_verified_over_pcrs_0_to_15() {
    let swtpm = Swtpm::start("quote-good");
    let identity = device(&swtpm, "good");
    let key = attestation(&identity);
    key.cert
        .check_issued_by(&identity.device.cert)
        .expect("the attestation certificate chains to the device's");
    let quote = key.quote(&NONCE).expect("a quote");
    let pcrs = verify(&quote, &NONCE, Some(&key.cert)).expect("the quote verifies");
    assert_eq!(pcrs, (0..16).collect::<Vec<u32>>());
}

#[test]
fn a_quote_for_another_nonce_is_a_nonce_mismatch() {
    let swtpm = Swtpm::start("quote-nonce");
    let identity = device(&swtpm, "nonce");
    let key = attestation(&identity);
    let quote = key.quote(&NONCE).expect("a quote");
    let refusal = refused(&quote, &[0xa5; 32], Some(key));
    assert_eq!(refusal, QuoteRefusal::NonceMismatch);
    assert_eq!(refusal.code(), ZAttestResponseCode::NonceMismatch);
}

#[test]
fn tampered_attest_data_fails_the_signature() {
    let swtpm = Swtpm::start("quote-tamper");
    let identity = device(&swtpm, "tamper");
    let key = attestation(&identity);
    let mut quote = key.quote(&NONCE).expect("a quote");
    let last = quote.attest_data.len() - 1;
    quote.attest_data[last] ^= 1;
    let refusal = refused(&quote, &NONCE, Some(key));
    assert_eq!(refusal, QuoteRefusal::BadSignature);
    assert_eq!(refusal.code(), ZAttestResponseCode::QuoteFailed);
}

#[test]
fn reported_pcr_values_other_than_the_quoted_ones_are_refused() {
    let swtpm = Swtpm::start("quote-pcrs");
    let identity = device(&swtpm, "pcrs");
    let key = attestation(&identity);
    let good = key.quote(&NONCE).expect("a quote");

    let mut changed = good.clone();
    changed.pcr_values[7].value[0] ^= 1;
    let refusal = refused(&changed, &NONCE, Some(key));
    assert_eq!(refusal, QuoteRefusal::PcrDigestMismatch);
    assert_eq!(refusal.code(), ZAttestResponseCode::QuoteFailed);

    let mut missing = good;
    missing.pcr_values.pop();
    assert!(matches!(
        refused(&missing, &NONCE, Some(key)),
        QuoteRefusal::PcrsMissing(_)
    ));
}

#[test]
fn a_quote_without_a_known_attestation_certificate_is_refused() {
    let swtpm = Swtpm::start("quote-cert");
    let identity = device(&swtpm, "cert");
    let quote = attestation(&identity).quote(&NONCE).expect("a quote");
    let refusal = refused(&quote, &NONCE, None);
    assert_eq!(refusal, QuoteRefusal::NoCert);
    assert_eq!(refusal.code(), ZAttestResponseCode::NoCertFound);
    drop(identity);

    // Another TPM's attestation key: its certificate does not verify it.
    let other_tpm = Swtpm::start("quote-cert-other");
    let other = device(&other_tpm, "cert-other");
    assert_eq!(
        refused(&quote, &NONCE, Some(attestation(&other))),
        QuoteRefusal::BadSignature
    );
}

/// A controller serving HTTPS that accepts `onboarding`, the device
/// registered with it over HTTPS: the transport, the controller's
/// certificates and the device UUID.
fn registered(
    identity: &Identity,
    onboarding: Cert,
) -> (TestController, HttpTransport, ControllerCerts, String) {
    let authority = Authority::generate().expect("authority");
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let controller =
        TestController::start_https(authority, vec![onboarding], loopback).expect("controller");
    let root = controller.authority().root.clone();
    let transport =
        HttpTransport::new(&controller.url(), root.pem().as_bytes()).expect("transport");
    let reply = transport
        .exchange(&Endpoint::Certs.path(""), None)
        .expect("certs");
    let certs = verify_certs(&reply.body, &root, SystemTime::now()).expect("certs verify");
    let uuid = onboarding::register(&transport, identity, SERIAL, &certs).expect("registered");
    (controller, transport, certs, uuid)
}

#[test]
fn the_controller_verifies_the_agents_quote_over_pcrs_0_to_15() {
    let swtpm = Swtpm::start("quote-flow");
    let (identity, onboarding_cert) = onboarding_device(&swtpm, "flow");
    let (controller, transport, certs, uuid) = registered(&identity, onboarding_cert);
    let token =
        onboarding::attest(&transport, &identity, &certs, &uuid).expect("attestation accepted");
    let registry = controller.registry();
    let device = &registry.devices[0];
    assert_eq!(device.integrity_token.as_deref(), Some(token.as_slice()));
    assert_eq!(
        device.attestation.as_ref().map(Cert::pem),
        Some(attestation(&identity).cert.pem())
    );
    assert_eq!(device.quoted_pcrs, Some((0..16).collect::<Vec<u32>>()));
    assert!(registry.refusals.is_empty(), "{:?}", registry.refusals);
}

#[test]
fn an_empty_quote_is_refused_from_a_device_whose_info_says_it_has_a_tpm() {
    let swtpm = Swtpm::start("quote-empty");
    let (identity, onboarding_cert) = onboarding_device(&swtpm, "empty");
    let (controller, transport, certs, uuid) = registered(&identity, onboarding_cert);
    // The same device without its attestation key: it sends no
    // attestation certificate and an empty quote, as without a TPM.
    let without_tpm = Identity {
        attestation: None,
        ..identity.clone()
    };
    onboarding::attest(&transport, &without_tpm, &certs, &uuid)
        .expect("an empty quote from a device that said nothing of a TPM");
    assert_eq!(controller.registry().devices[0].quoted_pcrs, None);

    let info = ZInfoMsg {
        info_content: Some(InfoContent::Dinfo(ZInfoDevice {
            hsm_status: HwSecurityModuleStatus::Enabled as i32,
            ..ZInfoDevice::default()
        })),
        ..ZInfoMsg::default()
    };
    controller
        .registry()
        .reports
        .entry(uuid.clone())
        .or_default()
        .infos
        .push(info);
    let error = onboarding::attest(&transport, &without_tpm, &certs, &uuid)
        .expect_err("an empty quote from a device with a TPM");
    assert!(
        matches!(&error, ExchangeError::Attestation(why) if why.contains("QUOTE_FAILED")),
        "{error}"
    );
    let registry = controller.registry();
    assert_eq!(registry.devices[0].integrity_token, None);
    assert!(
        registry
            .refusals
            .iter()
            .any(|refusal| refusal.contains("empty quote from a device with a TPM")),
        "{:?}",
        registry.refusals
    );
}
