//! A running QEMU process that is killed when dropped, so no test or timeout
//! leaves an emulator behind.

use std::io;
use std::process::{Child, Command, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

/// How often [`Running::wait_until`] looks whether QEMU has exited.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// A spawned QEMU.
#[derive(Debug)]
pub struct Running {
    child: Child,
}

impl Running {
    /// Spawns `command`.
    pub fn spawn(command: &mut Command) -> io::Result<Self> {
        command.spawn().map(|child| Self { child })
    }

    /// The child process, e.g. to take its output pipes.
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Waits for QEMU to exit until `deadline`; `None` if it still runs then.
    pub fn wait_until(&mut self, deadline: Instant) -> io::Result<Option<ExitStatus>> {
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(Some(status));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            thread::sleep(POLL_INTERVAL.min(deadline - now));
        }
    }

    /// Returns QEMU's exit status if it has exited.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Kills QEMU (if it still runs) and reaps it.
    pub fn stop(&mut self) -> io::Result<()> {
        if self.child.try_wait()?.is_none() {
            self.child.kill()?;
        }
        self.child.wait().map(drop)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Best effort: the process may be gone already, and a drop cannot report.
        let _ = self.stop();
    }
}
