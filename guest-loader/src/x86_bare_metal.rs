//! A bare-metal x86 guest on x86-pc: a flat binary loaded at guest-physical
//! [`ENTRY`] and entered there in 16-bit real mode (CS = 0, IP = [`ENTRY`],
//! SP = [`STACK_TOP`]), its command line NUL-terminated at
//! [`COMMAND_LINE`], just below the image. RAM starts at guest-physical 0.

use core::fmt;

/// Where the image goes and the guest starts.
pub const ENTRY: u64 = 0x1000;
/// Where its command line goes, up to the image.
pub const COMMAND_LINE: u64 = 0x800;
/// The longest command line (its NUL fits before [`ENTRY`]).
pub const MAX_COMMAND_LINE: usize = (ENTRY - COMMAND_LINE - 1) as usize;
/// The top of its stack: below the command line.
pub const STACK_TOP: u64 = COMMAND_LINE;
/// Real mode reaches this much memory; the image must lie below it.
const REAL_MODE_END: u64 = 1 << 20;

/// Why a bare-metal image cannot be loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BareMetalError {
    Empty,
    /// The image does not fit between [`ENTRY`] and the end of real-mode
    /// memory (or of the VM's RAM, if less).
    TooLarge {
        size: u64,
        room: u64,
    },
    CommandLineTooLong {
        len: usize,
    },
}

impl fmt::Display for BareMetalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the bare-metal image is empty"),
            Self::TooLarge { size, room } => write!(
                f,
                "the bare-metal image ({size:#x} bytes) does not fit in the {room:#x} bytes from \
                 {ENTRY:#x} up to the end of real-mode memory or of the VM's RAM"
            ),
            Self::CommandLineTooLong { len } => write!(
                f,
                "the command line ({len} bytes) is longer than the {MAX_COMMAND_LINE} bytes \
                 below the image"
            ),
        }
    }
}

/// Checks that an image of `size` bytes and a command line of
/// `command_line` bytes fit a VM with `ram` bytes of RAM.
pub fn check(size: usize, command_line: usize, ram: u64) -> Result<(), BareMetalError> {
    if size == 0 {
        return Err(BareMetalError::Empty);
    }
    let room = ram.min(REAL_MODE_END).saturating_sub(ENTRY);
    if size as u64 > room {
        return Err(BareMetalError::TooLarge {
            size: size as u64,
            room,
        });
    }
    if command_line > MAX_COMMAND_LINE {
        return Err(BareMetalError::CommandLineTooLong { len: command_line });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn an_image_and_command_line_that_fit() {
        assert_eq!(check(26, 0, 2 * MIB), Ok(()));
        assert_eq!(check(26, MAX_COMMAND_LINE, 2 * MIB), Ok(()));
        assert_eq!(check((MIB - ENTRY) as usize, 0, 2 * MIB), Ok(()));
    }

    #[test]
    fn what_does_not_fit_is_refused() {
        assert_eq!(check(0, 0, 2 * MIB), Err(BareMetalError::Empty));
        let size = (MIB - ENTRY + 1) as usize;
        assert_eq!(
            check(size, 0, 2 * MIB),
            Err(BareMetalError::TooLarge {
                size: size as u64,
                room: MIB - ENTRY
            })
        );
        assert_eq!(
            check(26, MAX_COMMAND_LINE + 1, 2 * MIB),
            Err(BareMetalError::CommandLineTooLong {
                len: MAX_COMMAND_LINE + 1
            })
        );
    }
}
