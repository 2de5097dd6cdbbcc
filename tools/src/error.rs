//! The errors `cargo xtask` reports.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::process::ExitStatus;

use cordon_qemu::MachineError;

use crate::image::ImageError;

/// Everything that can stop a task.
#[derive(Debug)]
pub enum Error {
    /// The command line could not be understood.
    Usage(String),
    /// A file operation failed.
    Io { context: String, source: io::Error },
    /// A program the task needs is not installed.
    MissingProgram { program: String, hint: String },
    /// A program ran and failed.
    CommandFailed { command: String, status: ExitStatus },
    /// A built ELF could not be made into a bootable image.
    Image { elf: PathBuf, source: ImageError },
    /// A built or fetched file is not what the tasks need.
    BadFile { path: PathBuf, problem: String },
    /// The QEMU machine cannot be set up as asked.
    Machine(MachineError),
    /// Something the tasks need is missing and cannot be installed here.
    Prerequisite(String),
    /// Installing a prerequisite needs root; these commands would do it.
    NeedsRoot { what: String, commands: String },
    /// `cargo xtask test` ran, and some steps failed.
    TestsFailed,
    /// A boot could not be watched, or did not go as expected.
    Boot(String),
    /// A partition config is wrong: each problem, for the file it is in.
    Config {
        file: PathBuf,
        problems: Vec<String>,
    },
}

/// The result of every task.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An I/O error, with what was being done.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(message) => write!(f, "{message}\n(see `cargo xtask help`)"),
            Error::Io { context, source } => write!(f, "{context}: {source}"),
            Error::MissingProgram { program, hint } => {
                write!(f, "`{program}` is not installed: {hint}")
            }
            Error::CommandFailed { command, status } => write!(f, "`{command}` failed ({status})"),
            Error::Image { elf, source } => write!(f, "{}: {source}", elf.display()),
            Error::BadFile { path, problem } => write!(f, "{}: {problem}", path.display()),
            Error::Machine(error) => error.fmt(f),
            Error::Prerequisite(message) => f.write_str(message),
            Error::NeedsRoot { what, commands } => write!(
                f,
                "{what} needs root. Run these commands, then try again:\n\n{commands}"
            ),
            Error::TestsFailed => f.write_str("some test steps failed (see the summary above)"),
            Error::Boot(message) => f.write_str(message),
            Error::Config { file, problems } => {
                let lines: Vec<String> = problems
                    .iter()
                    .map(|problem| format!("{}: {problem}", file.display()))
                    .collect();
                f.write_str(&lines.join("\n"))
            }
        }
    }
}

impl std::error::Error for Error {}

impl From<MachineError> for Error {
    fn from(error: MachineError) -> Self {
        Error::Machine(error)
    }
}
