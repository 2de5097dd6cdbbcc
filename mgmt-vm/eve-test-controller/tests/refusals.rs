//! What the test controller refuses, as a real controller does: each
//! refusal with its status and the reason recorded.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use cordon_eve::cert::Cert;
use cordon_eve::endpoint::Endpoint;
use cordon_eve::envelope::{Signer, seal};
use cordon_eve::issue::{Issuer, Role, issue};
use cordon_eve::proto::config::ConfigRequest;
use cordon_eve::proto::register::ZRegisterMsg;
use cordon_eve::proto::uuid::UuidRequest;
use cordon_eve::signing::SigningKey;
use eve_test_controller::Authority;
use eve_test_controller::handlers::{BAD_REQUEST, CREATED, FORBIDDEN, OK, UNAUTHORIZED, handle};
use eve_test_controller::registry::Registry;
use prost::Message;

const LIFETIME: Duration = Duration::from_secs(60 * 60);

struct Credential {
    key: SigningKey,
    cert: Cert,
}

fn credential(name: &str) -> Credential {
    let key = SigningKey::generate().expect("key");
    let cert = issue(name, &key, Role::Authority, Issuer::SelfSigned, LIFETIME).expect("cert");
    Credential { key, cert }
}

fn sealed(message: &impl Message, key: &SigningKey, cert: &Cert) -> Vec<u8> {
    seal(message.encode_to_vec(), key, cert, Signer::Device)
        .expect("a software key signs")
        .encode_to_vec()
}

struct Setup {
    registry: Registry,
    authority: Authority,
    onboarding: Credential,
    device: Credential,
}

impl Setup {
    fn new() -> Self {
        let onboarding = credential("onboarding");
        Self {
            registry: Registry {
                onboarding: vec![onboarding.cert.clone()],
                ..Registry::default()
            },
            authority: Authority::generate().expect("authority"),
            onboarding,
            device: credential("device"),
        }
    }

    fn register_body(&self, signer: &SigningKey) -> Vec<u8> {
        let message = ZRegisterMsg {
            pem_cert: BASE64.encode(self.device.cert.pem()).into_bytes(),
            serial: "node".to_owned(),
            ..ZRegisterMsg::default()
        };
        sealed(&message, signer, &self.onboarding.cert)
    }

    fn call(&mut self, endpoint: Endpoint, device: Option<&str>, body: &[u8]) -> u16 {
        handle(&mut self.registry, &self.authority, endpoint, device, body).status
    }

    /// Registers the device; its UUID.
    fn registered(&mut self) -> String {
        let body = self.register_body(&self.onboarding.key);
        assert_eq!(self.call(Endpoint::Register, None, &body), CREATED);
        self.registry.devices[0].uuid.clone()
    }
}

#[test]
fn registration_signed_by_another_key_is_refused() {
    let mut setup = Setup::new();
    let body = setup.register_body(&SigningKey::generate().expect("key"));
    assert_eq!(setup.call(Endpoint::Register, None, &body), UNAUTHORIZED);
    assert!(
        setup.registry.refusals[0].contains("signature"),
        "{:?}",
        setup.registry.refusals
    );
    assert!(setup.registry.devices.is_empty());
}

#[test]
fn body_that_is_no_envelope_is_refused() {
    let mut setup = Setup::new();
    assert_eq!(
        setup.call(Endpoint::Register, None, b"\xff\xff\xff"),
        BAD_REQUEST
    );
    assert!(setup.registry.refusals[0].contains("not an envelope"));
}

#[test]
fn unregistered_device_is_refused() {
    let mut setup = Setup::new();
    let body = sealed(
        &UuidRequest::default(),
        &setup.device.key,
        &setup.device.cert,
    );
    assert_eq!(setup.call(Endpoint::Uuid, None, &body), UNAUTHORIZED);
    assert_eq!(
        setup.registry.refusals,
        ["Uuid: unknown device certificate"]
    );
}

#[test]
fn registered_device_gets_its_uuid() {
    let mut setup = Setup::new();
    setup.registered();
    let body = sealed(
        &UuidRequest::default(),
        &setup.device.key,
        &setup.device.cert,
    );
    assert_eq!(setup.call(Endpoint::Uuid, None, &body), OK);
}

#[test]
fn config_without_the_integrity_token_is_refused() {
    let mut setup = Setup::new();
    let uuid = setup.registered();
    let request = ConfigRequest {
        config_hash: String::new(),
        integrity_token: b"made up".to_vec(),
    };
    let body = sealed(&request, &setup.device.key, &setup.device.cert);
    assert_eq!(setup.call(Endpoint::Config, Some(&uuid), &body), FORBIDDEN);
    assert!(setup.registry.refusals[0].contains("integrity token"));
}

#[test]
fn device_asking_for_another_device_is_refused() {
    let mut setup = Setup::new();
    setup.registered();
    let body = sealed(
        &ConfigRequest::default(),
        &setup.device.key,
        &setup.device.cert,
    );
    assert_eq!(
        setup.call(Endpoint::Config, Some("someone-else"), &body),
        FORBIDDEN
    );
}
