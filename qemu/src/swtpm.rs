//! A software TPM 2.0 (Debian's `swtpm`) for a machine's [`Machine::tpm`]:
//! started in socket mode with only a control socket, over which QEMU
//! hands it the data channel and powers it on and off; its state (seeds,
//! so the keys made in it) in a folder of the caller's; stopped when
//! dropped.
//!
//! [`Machine::tpm`]: crate::Machine::tpm

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::process::Running;

/// The program, from Debian's `swtpm`.
pub const SWTPM_BINARY: &str = "swtpm";
/// How long swtpm may take to open its control socket.
const START_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(20);
/// The control socket and log, in the state folder.
const SOCKET_NAME: &str = "swtpm.sock";
const LOG_NAME: &str = "swtpm.log";

/// A running swtpm.
#[derive(Debug)]
pub struct Swtpm {
    _process: Running,
    socket: PathBuf,
}

impl Swtpm {
    /// Starts a TPM 2.0 keeping its state in `dir` (created if missing; a
    /// new folder is a new TPM).
    pub fn start(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let socket = dir.join(SOCKET_NAME);
        match std::fs::remove_file(&socket) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
            _ => {}
        }
        let mut process = Running::spawn(
            Command::new(SWTPM_BINARY)
                .arg("socket")
                .arg("--tpm2")
                .arg("--tpmstate")
                .arg(format!("dir={}", dir.display()))
                .arg("--ctrl")
                .arg(format!("type=unixio,path={}", socket.display()))
                .arg("--log")
                .arg(format!("file={}", dir.join(LOG_NAME).display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null()),
        )
        .map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("cannot start {SWTPM_BINARY} (Debian package swtpm): {error}"),
            )
        })?;
        let started = Instant::now();
        while !socket.exists() {
            if let Some(status) = process.try_wait()? {
                return Err(io::Error::other(format!(
                    "{SWTPM_BINARY} exited with {status} (see {})",
                    dir.join(LOG_NAME).display()
                )));
            }
            if started.elapsed() >= START_TIMEOUT {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{SWTPM_BINARY} opened no socket in {START_TIMEOUT:?}"),
                ));
            }
            thread::sleep(POLL);
        }
        Ok(Self {
            _process: process,
            socket,
        })
    }

    /// The control socket, for [`Machine::tpm`](crate::Machine::tpm).
    pub fn socket(&self) -> &Path {
        &self.socket
    }
}
