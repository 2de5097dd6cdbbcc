//! The agent's transport over HTTPS: a controller whose TLS certificate
//! chains to the root CA provisioned on the node answers (`flow.rs` runs
//! the whole flow so); one whose certificate does not gets no request.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use cordon_agent::transport::{HttpTransport, Transport, TransportError};
use cordon_eve::cert::Cert;
use cordon_eve::endpoint::Endpoint;
use cordon_eve::issue::{Issuer, Role, issue};
use cordon_eve::signing::SigningKey;
use eve_test_controller::{Authority, TestController};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const LIFETIME: Duration = Duration::from_secs(60 * 60);
const OK: u16 = 200;

fn onboarding() -> Cert {
    let key = SigningKey::generate().expect("key");
    issue(
        "onboarding",
        &key,
        Role::EndEntity,
        Issuer::SelfSigned,
        LIFETIME,
    )
    .expect("cert")
}

fn https_controller() -> TestController {
    let authority = Authority::generate().expect("authority");
    TestController::start_https(authority, vec![onboarding()], LOOPBACK).expect("controller")
}

#[test]
fn controller_under_the_provisioned_root_answers_over_tls() {
    let controller = https_controller();
    assert!(controller.url().starts_with("https://127.0.0.1:"));
    let root = controller.authority().root.pem().to_owned();
    let transport = HttpTransport::new(&controller.url(), root.as_bytes()).expect("transport");
    let reply = transport
        .exchange(&Endpoint::Certs.path(""), None)
        .expect("answer over TLS");
    assert_eq!(reply.status, OK);
    assert!(!reply.body.is_empty());
}

#[test]
fn controller_under_another_root_is_refused_before_any_request() {
    let controller = https_controller();
    let other_root = Authority::generate().expect("authority").root;
    let transport =
        HttpTransport::new(&controller.url(), other_root.pem().as_bytes()).expect("transport");
    let result = transport.exchange(&Endpoint::Certs.path(""), None);
    assert!(
        matches!(result, Err(TransportError::Unreachable { .. })),
        "{result:?}"
    );
}
