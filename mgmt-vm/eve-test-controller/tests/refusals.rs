//! What the test controller refuses, as a real controller does: each
//! refusal with its status and the reason recorded.

use std::io::Write;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use cordon_eve::cert::Cert;
use cordon_eve::endpoint::Endpoint;
use cordon_eve::envelope::{Signer, seal};
use cordon_eve::issue::{Issuer, Role, issue};
use cordon_eve::proto::config::{ConfigRequest, EdgeDevConfig};
use cordon_eve::proto::register::ZRegisterMsg;
use cordon_eve::proto::uuid::UuidRequest;
use cordon_eve::signing::SigningKey;
use eve_test_controller::Authority;
use eve_test_controller::configs;
use eve_test_controller::handlers::{
    BAD_REQUEST, CREATED, FORBIDDEN, NOT_FOUND, OK, UNAUTHORIZED, handle, handle_app_logs,
};
use eve_test_controller::registry::Registry;
use flate2::Compression;
use flate2::write::GzEncoder;
use prost::Message;

const LIFETIME: Duration = Duration::from_secs(60 * 60);
const SERIAL: &str = "node";
/// The app the device's config has, and its partition.
const APP: &str = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";
const PARTITION: &str = "web";

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
    sealed_bytes(message.encode_to_vec(), key, cert)
}

fn sealed_bytes(payload: Vec<u8>, key: &SigningKey, cert: &Cert) -> Vec<u8> {
    seal(payload, key, cert, Signer::Device)
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
            serial: SERIAL.to_owned(),
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

/// A `newlogs` body of `lines`.
fn gzipped(lines: &str) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(lines.as_bytes()).expect("to memory");
    encoder.finish().expect("to memory")
}

impl Setup {
    /// Registers the device, with a config that has [`APP`]; its UUID.
    fn with_app(&mut self) -> String {
        let uuid = self.registered();
        self.registry.configs.insert(
            SERIAL.to_owned(),
            EdgeDevConfig {
                apps: vec![configs::app(APP, PARTITION, true)],
                ..EdgeDevConfig::default()
            },
        );
        uuid
    }

    fn app_logs(&mut self, device: &str, app: &str, lines: &str, key: &SigningKey) -> u16 {
        let body = sealed_bytes(gzipped(lines), key, &self.device.cert);
        handle_app_logs(&mut self.registry, device, app, &body).status
    }
}

const LINE: &str = "{\"source\":\"web\",\"content\":\"hello\",\"msgid\":1}\n";

#[test]
fn logs_of_a_known_app_are_kept_for_it() {
    let mut setup = Setup::new();
    let uuid = setup.with_app();
    let key = setup.device.key.clone();
    assert_eq!(setup.app_logs(&uuid, APP, LINE, &key), CREATED);
    assert_eq!(
        setup.registry.reports[&uuid].app_logs[APP],
        [LINE.trim_end()]
    );
    assert!(setup.registry.refusals.is_empty());
}

#[test]
fn logs_of_an_app_the_device_does_not_have_are_refused() {
    let mut setup = Setup::new();
    let uuid = setup.with_app();
    let key = setup.device.key.clone();
    let other = "00000000-0000-4000-8000-00000000beef";
    assert_eq!(setup.app_logs(&uuid, other, LINE, &key), NOT_FOUND);
    assert!(
        setup.registry.refusals[0].contains("has no app"),
        "{:?}",
        setup.registry.refusals
    );
    assert!(setup.registry.reports.is_empty(), "nothing kept");
}

#[test]
fn app_logs_of_another_device_or_badly_signed_are_refused() {
    let mut setup = Setup::new();
    let uuid = setup.with_app();
    let key = setup.device.key.clone();
    assert_eq!(setup.app_logs("someone-else", APP, LINE, &key), FORBIDDEN);
    let stranger = SigningKey::generate().expect("key");
    assert_eq!(setup.app_logs(&uuid, APP, LINE, &stranger), UNAUTHORIZED);
    assert!(setup.registry.reports.is_empty(), "nothing kept");
}

#[test]
fn app_logs_of_an_unregistered_device_are_refused() {
    let mut setup = Setup::new();
    let key = setup.device.key.clone();
    assert_eq!(setup.app_logs("nobody", APP, LINE, &key), UNAUTHORIZED);
    assert_eq!(
        setup.registry.refusals,
        [format!("app {APP} logs: unknown device certificate")]
    );
}

#[test]
fn app_logs_that_are_no_json_lines_are_refused_whole() {
    let mut setup = Setup::new();
    let uuid = setup.with_app();
    let key = setup.device.key.clone();
    let mixed = format!("{LINE}not json\n");
    assert_eq!(setup.app_logs(&uuid, APP, &mixed, &key), BAD_REQUEST);
    assert!(
        setup.registry.refusals[0].contains("log line 2"),
        "{:?}",
        setup.registry.refusals
    );
    let body = sealed_bytes(b"not gzip".to_vec(), &key, &setup.device.cert);
    assert_eq!(
        handle_app_logs(&mut setup.registry, &uuid, APP, &body).status,
        BAD_REQUEST
    );
    assert!(setup.registry.reports.is_empty(), "nothing kept");
}
