//! The test controller's HTTP side: plain HTTP on the loopback address
//! only, one thread answering requests in turn. It can stop listening and
//! listen again on the same address, as a controller that goes down and
//! comes back.

use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};

use cordon_eve::cert::Cert;
use cordon_eve::endpoint::Endpoint;
use tiny_http::{Method, Response, Server};

use crate::authority::Authority;
use crate::handlers::{self, Answer, NOT_FOUND};
use crate::registry::Registry;

/// Largest request body read.
const MAX_REQUEST_BYTES: u64 = 16 << 20;

struct Shared {
    registry: Mutex<Registry>,
    authority: Authority,
}

struct Listening {
    server: Arc<Server>,
    thread: JoinHandle<()>,
}

pub struct TestController {
    shared: Arc<Shared>,
    address: SocketAddr,
    listening: Option<Listening>,
}

impl TestController {
    /// Starts listening on a free loopback port, accepting devices that
    /// onboard with one of `onboarding`.
    pub fn start(authority: Authority, onboarding: Vec<Cert>) -> io::Result<Self> {
        let shared = Arc::new(Shared {
            registry: Mutex::new(Registry {
                onboarding,
                ..Registry::default()
            }),
            authority,
        });
        let any_port = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0));
        let (listening, address) = listen(&shared, any_port)?;
        Ok(Self {
            shared,
            address,
            listening: Some(listening),
        })
    }

    /// The base URL devices are given.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
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
            listening.server.unblock();
            let _ = listening.thread.join();
        }
    }

    /// Listens again on the same address.
    pub fn resume(&mut self) -> io::Result<()> {
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

fn listen(shared: &Arc<Shared>, address: SocketAddr) -> io::Result<(Listening, SocketAddr)> {
    let server = Arc::new(Server::http(address).map_err(io::Error::other)?);
    let bound = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| io::Error::other("the test controller is not on an IP address"))?;
    let thread = {
        let server = Arc::clone(&server);
        let shared = Arc::clone(shared);
        thread::spawn(move || serve(&server, &shared))
    };
    Ok((Listening { server, thread }, bound))
}

fn serve(server: &Server, shared: &Shared) {
    for mut request in server.incoming_requests() {
        let mut body = Vec::new();
        let read = request
            .as_reader()
            .take(MAX_REQUEST_BYTES)
            .read_to_end(&mut body);
        let answer = match (read, Endpoint::parse(request.url())) {
            (Ok(_), Some((endpoint, device))) if method_fits(request.method(), endpoint) => {
                let mut registry = shared
                    .registry
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                handlers::handle(&mut registry, &shared.authority, endpoint, device, &body)
            }
            _ => Answer {
                status: NOT_FOUND,
                body: b"no such endpoint".to_vec(),
            },
        };
        let response = Response::from_data(answer.body).with_status_code(answer.status);
        // A device that went away is not the controller's problem.
        let _ = request.respond(response);
    }
}

/// `certs` may be fetched with GET; everything may be POSTed.
fn method_fits(method: &Method, endpoint: Endpoint) -> bool {
    *method == Method::Post || (*method == Method::Get && endpoint == Endpoint::Certs)
}
