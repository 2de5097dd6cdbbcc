//! What a boot printed, and how it ended.

use std::fmt;
use std::process::ExitStatus;
use std::time::Duration;

use crate::expect::Pattern;

/// Why the harness stopped watching a boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// Every expected line appeared (and nothing forbidden while settling).
    AllSeen,
    /// A line contained forbidden text.
    Forbidden { text: String, line: String },
    /// QEMU exited before every expected line appeared.
    Exited(ExitStatus),
    /// The deadline passed before every expected line appeared.
    DeadlinePassed,
    /// Every expected line appeared, then QEMU exited with a failure status.
    ExitFailed(ExitStatus),
    /// Every expected line appeared, but QEMU was still running at the
    /// deadline instead of exiting by itself.
    StillRunning,
    /// The test stopped the boot before every expected line appeared.
    Stopped,
}

impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ending::AllSeen => f.write_str("every expected line appeared"),
            Ending::Forbidden { text, line } => {
                write!(f, "forbidden text {text:?} appeared in line {line:?}")
            }
            Ending::Exited(status) => {
                write!(
                    f,
                    "QEMU exited ({status}) before every expected line appeared"
                )
            }
            Ending::DeadlinePassed => {
                f.write_str("the deadline passed before every expected line appeared")
            }
            Ending::ExitFailed(status) => {
                write!(
                    f,
                    "every expected line appeared, then QEMU exited ({status})"
                )
            }
            Ending::StillRunning => f.write_str(
                "every expected line appeared, but QEMU did not exit by itself before the deadline",
            ),
            Ending::Stopped => {
                f.write_str("the test stopped the boot before every expected line appeared")
            }
        }
    }
}

/// One line of the serial console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub(crate) text: String,
    /// When it arrived, since QEMU started.
    pub(crate) at: Duration,
}

/// The console output of one boot.
#[derive(Debug, Clone)]
pub struct Transcript {
    pub(crate) serial: Vec<Line>,
    pub(crate) stderr: Vec<String>,
    pub(crate) missing: Vec<Pattern>,
    pub(crate) ending: Ending,
    pub(crate) exit_status: Option<ExitStatus>,
    pub(crate) elapsed: Duration,
}

impl Transcript {
    /// Whether every expected line appeared and nothing forbidden did.
    pub fn succeeded(&self) -> bool {
        self.ending == Ending::AllSeen
    }

    /// Why watching stopped.
    pub fn ending(&self) -> &Ending {
        &self.ending
    }

    /// The serial console lines, without line endings.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.serial.iter().map(|line| line.text.as_str())
    }

    /// When the first line containing `text` arrived, since QEMU started.
    pub fn first_seen(&self, text: &str) -> Option<Duration> {
        self.serial
            .iter()
            .find(|line| line.text.contains(text))
            .map(|line| line.at)
    }

    /// QEMU's exit status, if it exited by itself while being watched.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.exit_status
    }
}

impl fmt::Display for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "--- serial console ({} lines) ---", self.serial.len())?;
        for line in &self.serial {
            writeln!(f, "{}", line.text)?;
        }
        if !self.stderr.is_empty() {
            writeln!(f, "--- QEMU stderr ---")?;
            for line in &self.stderr {
                writeln!(f, "{line}")?;
            }
        }
        writeln!(
            f,
            "--- after {:.1} s: {} ---",
            self.elapsed.as_secs_f64(),
            self.ending
        )?;
        for pattern in &self.missing {
            writeln!(f, "never seen: {pattern}")?;
        }
        Ok(())
    }
}
