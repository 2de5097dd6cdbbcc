//! The test controller's network side: HTTP, or HTTPS with a certificate
//! from its root CA, on the loopback address only; one thread answering
//! connections in turn. It can stop listening and listen again on the same
//! address, as a controller that goes down and comes back.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use cordon_eve::cert::Cert;
use cordon_eve::endpoint::Endpoint;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

use crate::authority::{Authority, AuthorityError};
use crate::handlers::{self, Answer, NOT_FOUND};
use crate::http::{self, Request};
use crate::registry::Registry;

/// The only address the controller listens on.
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// How long a connection may stay silent before it is dropped.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub enum ServerError {
    Io(io::Error),
    Authority(AuthorityError),
    Tls(String),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(error) => write!(f, "test controller cannot listen: {error}"),
            Self::Authority(error) => error.fmt(f),
            Self::Tls(error) => write!(f, "test controller TLS set-up: {error}"),
        }
    }
}

impl std::error::Error for ServerError {}

impl From<io::Error> for ServerError {
    fn from(error: io::Error) -> Self {
        Self::Io(error)
    }
}

struct Shared {
    registry: Mutex<Registry>,
    authority: Authority,
    /// Present when the controller serves HTTPS.
    tls: Option<Arc<ServerConfig>>,
}

struct Listening {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

pub struct TestController {
    shared: Arc<Shared>,
    address: SocketAddr,
    /// The host name in the URL devices are given.
    host: IpAddr,
    listening: Option<Listening>,
}

impl TestController {
    /// Serves HTTP on a free loopback port, accepting devices that onboard
    /// with one of `onboarding`.
    pub fn start(authority: Authority, onboarding: Vec<Cert>) -> Result<Self, ServerError> {
        Self::start_with(authority, onboarding, None, LOOPBACK)
    }

    /// Serves HTTPS with a certificate for `certified_for`, the address
    /// devices reach this loopback port by (the loopback address itself,
    /// or the host's address as a VM's user networking shows it).
    pub fn start_https(
        authority: Authority,
        onboarding: Vec<Cert>,
        certified_for: IpAddr,
    ) -> Result<Self, ServerError> {
        let (cert, key) = authority
            .tls_server(certified_for)
            .map_err(ServerError::Authority)?;
        let tls_error = |error: &dyn fmt::Display| ServerError::Tls(error.to_string());
        let chain =
            vec![CertificateDer::from_pem_slice(cert.pem().as_bytes()).map_err(|e| tls_error(&e))?];
        let private = PrivateKeyDer::from_pem_slice(key.to_pkcs8_pem().as_bytes())
            .map_err(|e| tls_error(&e))?;
        let config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| tls_error(&e))?
                .with_no_client_auth()
                .with_single_cert(chain, private)
                .map_err(|e| tls_error(&e))?;
        Self::start_with(authority, onboarding, Some(Arc::new(config)), certified_for)
    }

    fn start_with(
        authority: Authority,
        onboarding: Vec<Cert>,
        tls: Option<Arc<ServerConfig>>,
        host: IpAddr,
    ) -> Result<Self, ServerError> {
        let shared = Arc::new(Shared {
            registry: Mutex::new(Registry {
                onboarding,
                ..Registry::default()
            }),
            authority,
            tls,
        });
        let (listening, address) = listen(&shared, SocketAddr::new(LOOPBACK, 0))?;
        Ok(Self {
            shared,
            address,
            host,
            listening: Some(listening),
        })
    }

    /// The base URL devices are given.
    pub fn url(&self) -> String {
        let scheme = if self.shared.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!(
            "{scheme}://{}",
            SocketAddr::new(self.host, self.address.port())
        )
    }

    pub fn authority(&self) -> &Authority {
        &self.shared.authority
    }

    pub fn registry(&self) -> MutexGuard<'_, Registry> {
        self.shared
            .registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops listening: devices find nothing at the address.
    pub fn stop(&mut self) {
        if let Some(listening) = self.listening.take() {
            listening.stop.store(true, Ordering::SeqCst);
            // Wakes the thread out of `accept`; it sees `stop` and ends.
            let _ = TcpStream::connect(self.address);
            let _ = listening.thread.join();
        }
    }

    /// Listens again on the same address.
    pub fn resume(&mut self) -> Result<(), ServerError> {
        if self.listening.is_none() {
            let (listening, _) = listen(&self.shared, self.address)?;
            self.listening = Some(listening);
        }
        Ok(())
    }
}

impl Drop for TestController {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether the controller acts down (see [`Registry::down`]); counts the
/// connection if so.
fn turned_away(shared: &Shared) -> bool {
    let mut registry = shared
        .registry
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if registry.down {
        registry.turned_away += 1;
    }
    registry.down
}

fn listen(shared: &Arc<Shared>, address: SocketAddr) -> io::Result<(Listening, SocketAddr)> {
    let listener = TcpListener::bind(address)?;
    let bound = listener.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let shared = Arc::clone(shared);
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(stream) = stream {
                    if turned_away(&shared) {
                        drop(stream);
                        continue;
                    }
                    // A device that went away is not the controller's problem.
                    let _ = connection(&shared, stream);
                }
            }
        })
    };
    Ok((Listening { stop, thread }, bound))
}

fn connection(shared: &Shared, stream: TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(CONNECTION_TIMEOUT))?;
    match &shared.tls {
        None => exchange(shared, stream),
        Some(config) => {
            let session = ServerConnection::new(Arc::clone(config)).map_err(io::Error::other)?;
            let mut tls = StreamOwned::new(session, stream);
            exchange(shared, &mut tls)?;
            tls.conn.send_close_notify();
            tls.flush()
        }
    }
}

/// Reads one request from `stream` and writes its answer.
fn exchange(shared: &Shared, mut stream: impl Read + Write) -> io::Result<()> {
    let answer = match http::read_request(&mut stream) {
        Ok(request) => answer(shared, &request),
        Err(error) => Answer {
            status: handlers::BAD_REQUEST,
            body: error.to_string().into_bytes(),
        },
    };
    http::write_answer(&mut stream, &answer)
}

fn answer(shared: &Shared, request: &Request) -> Answer {
    match Endpoint::parse(&request.path) {
        Some((endpoint, device)) if method_fits(&request.method, endpoint) => {
            let mut registry = shared
                .registry
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            handlers::handle(
                &mut registry,
                &shared.authority,
                endpoint,
                device,
                &request.body,
            )
        }
        _ => Answer {
            status: NOT_FOUND,
            body: b"no such endpoint".to_vec(),
        },
    }
}

/// `certs` may be fetched with GET; everything may be POSTed.
fn method_fits(method: &str, endpoint: Endpoint) -> bool {
    method == "POST" || (method == "GET" && endpoint == Endpoint::Certs)
}
