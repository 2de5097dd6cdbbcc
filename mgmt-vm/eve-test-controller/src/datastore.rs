//! A datastore for tests: plain HTTP on the loopback address, answering
//! `GET /<name>` with the file the test put under that name and counting
//! what it served. A real datastore may be any web server: the agent trusts
//! what it downloads only through the SHA-256 in the signed config.

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::handlers::{Answer, NOT_FOUND, OK};
use crate::http;

/// The only address the datastore listens on.
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// How long a connection may stay silent before it is dropped.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);
/// The only method a datastore answers.
const GET: &str = "GET";

/// The files, and the names of those served, in order.
#[derive(Debug, Default)]
pub struct Store {
    pub files: BTreeMap<String, Vec<u8>>,
    pub served: Vec<String>,
}

pub struct TestDatastore {
    store: Arc<Mutex<Store>>,
    address: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestDatastore {
    /// Serves on a free loopback port.
    pub fn start() -> io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::new(LOOPBACK, 0))?;
        let address = listener.local_addr()?;
        let store = Arc::new(Mutex::new(Store::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (store, stop) = (Arc::clone(&store), Arc::clone(&stop));
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    if let Ok(stream) = stream {
                        // A client that went away is not the store's problem.
                        let _ = serve(&store, stream);
                    }
                }
            })
        };
        Ok(Self {
            store,
            address,
            stop,
            thread: Some(thread),
        })
    }

    /// The datastore's URL for clients that reach the loopback address as
    /// `host` (itself, or the host as a VM's user networking shows it).
    pub fn url(&self, host: IpAddr) -> String {
        format!("http://{}", SocketAddr::new(host, self.address.port()))
    }

    pub fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }
}

impl Drop for TestDatastore {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the thread out of `accept`; it sees `stop` and ends.
        let _ = TcpStream::connect(self.address);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn lock(store: &Mutex<Store>) -> MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Answers one request on `stream`.
fn serve(store: &Mutex<Store>, mut stream: TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(CONNECTION_TIMEOUT))?;
    let answer = match http::read_request(&mut stream) {
        Ok(request) if request.method == GET => {
            let mut store = lock(store);
            let name = request.path.trim_start_matches('/').to_owned();
            match store.files.get(&name).cloned() {
                Some(body) => {
                    store.served.push(name);
                    Answer { status: OK, body }
                }
                None => not_found(),
            }
        }
        _ => not_found(),
    };
    http::write_answer(&mut stream, &answer)
}

fn not_found() -> Answer {
    Answer {
        status: NOT_FOUND,
        body: b"no such file".to_vec(),
    }
}
