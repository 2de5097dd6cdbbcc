//! What can go wrong, each saying what and where.

use std::fmt;
use std::io;
use std::path::PathBuf;

use cordon_abi::{AbiError, ErrorCode, Opcode};

use crate::cli::UsageError;

#[derive(Debug)]
pub enum Error {
    Usage(UsageError),
    /// No `reserved-memory` node is compatible with `cordon,management`.
    NoRegion {
        searched: PathBuf,
    },
    /// A device-tree property that cannot be read or makes no sense.
    DeviceTree {
        path: PathBuf,
        problem: String,
    },
    /// The device tree gives the region another size than the ABI's.
    RegionSize {
        size: u64,
    },
    Io {
        what: String,
        error: io::Error,
    },
    /// The region's contents break the ABI.
    Abi(AbiError),
    /// cordon refused the request.
    Refused {
        opcode: Opcode,
        code: ErrorCode,
    },
    /// cordon did not answer in time.
    Timeout {
        sequence: u32,
    },
    /// cordon answered with another kind of response than the request gets.
    UnexpectedResponse {
        opcode: Opcode,
    },
    /// A load that cordon measured to another size or hash than sent.
    Measurement {
        image: &'static str,
        problem: String,
    },
}

impl Error {
    pub fn io(what: impl Into<String>, error: io::Error) -> Self {
        Self::Io {
            what: what.into(),
            error,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(error) => write!(f, "{error}"),
            Self::NoRegion { searched } => write!(
                f,
                "no cordon management region in the device tree (no node compatible with \
                 \"cordon,management\" in {}): is this the management VM under cordon?",
                searched.display()
            ),
            Self::DeviceTree { path, problem } => write!(f, "{}: {problem}", path.display()),
            Self::RegionSize { size } => write!(
                f,
                "the device tree gives the management region {size:#x} bytes, not the \
                 {:#x} of ABI {}.{}",
                cordon_abi::REGION_SIZE,
                cordon_abi::ABI_MAJOR,
                cordon_abi::ABI_MINOR
            ),
            Self::Io { what, error } => write!(f, "{what}: {error}"),
            Self::Abi(error) => write!(f, "management region: {error}"),
            Self::Refused { opcode, code } => write!(f, "cordon refused {opcode:?}: {code}"),
            Self::Timeout { sequence } => {
                write!(f, "cordon did not answer request {sequence} in time")
            }
            Self::UnexpectedResponse { opcode } => {
                write!(
                    f,
                    "cordon answered {opcode:?} with the wrong kind of response"
                )
            }
            Self::Measurement { image, problem } => write!(f, "{image}: {problem}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<AbiError> for Error {
    fn from(error: AbiError) -> Self {
        Self::Abi(error)
    }
}

impl From<UsageError> for Error {
    fn from(error: UsageError) -> Self {
        Self::Usage(error)
    }
}
