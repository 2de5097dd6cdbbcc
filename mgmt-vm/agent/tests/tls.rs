//! The transport's TLS: a server whose certificate chains to the
//! provisioned root CA is reached; one under another root is refused.

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use cordon_agent::transport::{HttpTransport, Transport, TransportError};
use cordon_eve::cert::Cert;
use cordon_eve::issue::{Issuer, Role, issue};
use cordon_eve::signing::SigningKey;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

const LIFETIME: Duration = Duration::from_secs(60 * 60);
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const BODY: &[u8] = b"hello over tls";
const PATH: &str = "/api/v2/edgedevice/certs";

struct Authority {
    cert: Cert,
    key: SigningKey,
}

fn authority(name: &str) -> Authority {
    let key = SigningKey::generate().expect("key");
    let cert = issue(name, &key, Role::Authority, Issuer::SelfSigned, LIFETIME).expect("cert");
    Authority { cert, key }
}

/// A TLS server on loopback, certified by `root`, that answers one
/// request with [`BODY`]; its port and its thread.
fn serve_once(root: &Authority) -> (u16, JoinHandle<Option<String>>) {
    let key = SigningKey::generate().expect("key");
    let by_root = Issuer::Authority {
        cert: &root.cert,
        key: &root.key,
    };
    let cert = issue(
        "controller",
        &key,
        Role::TlsServer(LOOPBACK),
        by_root,
        LIFETIME,
    )
    .expect("cert");
    let chain = vec![CertificateDer::from_pem_slice(cert.pem().as_bytes()).expect("cert der")];
    let private = PrivateKeyDer::from_pem_slice(key.to_pkcs8_pem().as_bytes()).expect("key der");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .expect("server config");
    let listener = TcpListener::bind((LOOPBACK, 0)).expect("listener");
    let port = listener.local_addr().expect("address").port();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().ok()?;
        let connection = ServerConnection::new(Arc::new(config)).ok()?;
        let mut tls = BufReader::new(StreamOwned::new(connection, stream));
        let mut request_line = String::new();
        tls.read_line(&mut request_line).ok()?;
        let mut line = String::new();
        while tls.read_line(&mut line).ok()? > 2 {
            line.clear();
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            BODY.len()
        );
        let tls = tls.get_mut();
        tls.write_all(head.as_bytes()).ok()?;
        tls.write_all(BODY).ok()?;
        tls.flush().ok()?;
        tls.conn.send_close_notify();
        tls.flush().ok()?;
        Some(request_line)
    });
    (port, server)
}

#[test]
fn server_under_the_provisioned_root_is_reached() {
    let root = authority("root");
    let (port, server) = serve_once(&root);
    let transport = HttpTransport::new(
        &format!("https://{LOOPBACK}:{port}"),
        root.cert.pem().as_bytes(),
    )
    .expect("transport");
    let reply = transport.exchange(PATH, None).expect("answer over TLS");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, BODY);
    let request_line = server.join().expect("server thread").expect("request read");
    assert!(
        request_line.starts_with(&format!("GET {PATH} ")),
        "{request_line}"
    );
}

#[test]
fn server_under_another_root_is_refused() {
    let provisioned = authority("provisioned root");
    let other = authority("other root");
    let (port, server) = serve_once(&other);
    let transport = HttpTransport::new(
        &format!("https://{LOOPBACK}:{port}"),
        provisioned.cert.pem().as_bytes(),
    )
    .expect("transport");
    let result = transport.exchange(PATH, None);
    assert!(
        matches!(result, Err(TransportError::Unreachable { .. })),
        "{result:?}"
    );
    assert_eq!(
        server.join().expect("server thread"),
        None,
        "no request got through"
    );
}
