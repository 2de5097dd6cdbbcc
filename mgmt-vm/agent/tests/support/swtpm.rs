//! A software TPM 2.0 (Debian's `swtpm`) for a test: started in socket mode
//! in a scratch folder, TPM2_Startup done by it, stopped when dropped.

use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use cordon_agent::tpm::Tpm;

/// How long swtpm may take to open its socket.
const START_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(20);

pub struct Swtpm {
    child: Child,
    dir: PathBuf,
}

impl Swtpm {
    /// A new TPM (new seeds, so its keys are its own), for the test `name`.
    pub fn start(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("cordon-swtpm-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch folder");
        let socket = dir.join("data.sock");
        let child = Command::new("swtpm")
            .arg("socket")
            .arg("--tpm2")
            .arg("--tpmstate")
            .arg(format!("dir={}", dir.display()))
            .arg("--server")
            .arg(format!("type=unixio,path={}", socket.display()))
            .arg("--ctrl")
            .arg(format!(
                "type=unixio,path={}",
                dir.join("ctrl.sock").display()
            ))
            .arg("--log")
            .arg(format!("file={}", dir.join("swtpm.log").display()))
            .args(["--flags", "not-need-init,startup-clear"])
            .stdout(Stdio::null())
            .spawn()
            .expect("swtpm (Debian package swtpm; `cargo xtask test` installs it) must run");
        let started = Instant::now();
        while !socket.exists() {
            assert!(started.elapsed() < START_TIMEOUT, "swtpm opened no socket");
            sleep(POLL);
        }
        Self { child, dir }
    }

    /// A new connection to the TPM. swtpm serves one at a time: drop the
    /// previous one first.
    pub fn connect(&self) -> Tpm {
        let socket = self.dir.join("data.sock");
        let started = Instant::now();
        loop {
            match UnixStream::connect(&socket) {
                Ok(stream) => return Tpm::over(Box::new(stream), "swtpm".to_owned()),
                Err(error) => {
                    assert!(started.elapsed() < START_TIMEOUT, "swtpm: {error}");
                    sleep(POLL);
                }
            }
        }
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
