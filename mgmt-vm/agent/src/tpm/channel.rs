//! One TPM command and its answer, over the device file (or, in tests, a
//! software TPM's socket): the command marshalled with a password session
//! where it needs authorization, written whole; the answer read up to the
//! size its header gives, its response code checked and its body
//! unmarshalled.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::Path;

use tpm2_protocol::basic::TpmHandle;
use tpm2_protocol::data::{
    Tpm2bAuth, Tpm2bNonce, TpmRc, TpmRcBase, TpmRh, TpmSt, TpmaSession, TpmsAuthCommand,
};
use tpm2_protocol::frame::{TpmFrame, TpmResponse, TpmUnmarshalBody, tpm_marshal_command};
use tpm2_protocol::{TpmError as WireError, TpmWriter};

use super::TpmError;

/// The largest TPM command or answer: TPMs advertise 4 KiB
/// (`TPM_PT_MAX_COMMAND_SIZE`, `TPM_PT_MAX_RESPONSE_SIZE`).
const MAX_MESSAGE: usize = 4096;
/// Bytes of a TPM message header: tag, size, command or response code.
const HEADER_LEN: usize = 10;
/// Where the header's size field is.
const SIZE_FIELD: std::ops::Range<usize> = 2..6;

/// What a TPM is reached through.
pub trait Channel: Read + Write + Send {}

impl<T: Read + Write + Send> Channel for T {}

/// Whether a command is authorized: the objects the agent makes have an
/// empty authorization value, given in a password session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    None,
    EmptyPassword,
}

/// A TPM spoken to one command at a time.
pub struct Tpm {
    channel: Box<dyn Channel>,
    /// The device's name, for messages.
    name: String,
}

impl Tpm {
    /// The TPM device at `path` (`/dev/tpmrm0` or `/dev/tpm0`).
    pub fn open(path: &Path) -> Result<Self, TpmError> {
        let name = path.display().to_string();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|error| TpmError::Io {
                device: name.clone(),
                error,
            })?;
        Ok(Self::over(Box::new(file), name))
    }

    /// A TPM reached through `channel`, named `name` in messages.
    pub fn over(channel: Box<dyn Channel>, name: String) -> Self {
        Self { channel, name }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends `command` and returns the TPM's answer to it.
    pub fn execute<R: TpmUnmarshalBody>(
        &mut self,
        command: &impl TpmFrame,
        auth: Auth,
    ) -> Result<R, TpmError> {
        let code = command.cc();
        let password = TpmsAuthCommand {
            session_handle: TpmHandle::new(TpmRh::Pw.value()),
            nonce: Tpm2bNonce::default(),
            session_attributes: TpmaSession::CONTINUE_SESSION,
            hmac: Tpm2bAuth::default(),
        };
        let (tag, sessions) = match auth {
            Auth::None => (TpmSt::NoSessions, &[][..]),
            Auth::EmptyPassword => (TpmSt::Sessions, std::slice::from_ref(&password)),
        };
        let mut buffer = [0u8; MAX_MESSAGE];
        let mut writer = TpmWriter::new(&mut buffer);
        tpm_marshal_command(command, tag, sessions, &mut writer).map_err(|error| {
            TpmError::Marshal {
                command: code,
                error,
            }
        })?;
        let io = |error| TpmError::Io {
            device: self.name.clone(),
            error,
        };
        self.channel.write_all(writer.as_bytes()).map_err(io)?;
        let answer = self.read_answer(code)?;
        let unmarshal = |error| TpmError::Unmarshal {
            command: code,
            error,
        };
        let response = TpmResponse::cast(&answer).map_err(unmarshal)?;
        let rc = response.rc().map_err(unmarshal)?;
        if rc != TpmRc::Fmt0(TpmRcBase::Success) {
            return Err(TpmError::Refused { command: code, rc });
        }
        response.unmarshal::<R>().map_err(unmarshal)
    }

    /// One answer: a device file gives it in one read, a socket perhaps
    /// in several.
    fn read_answer(&mut self, code: tpm2_protocol::data::TpmCc) -> Result<Vec<u8>, TpmError> {
        let mut answer = vec![0u8; MAX_MESSAGE];
        let mut have = 0;
        let mut want = HEADER_LEN;
        while have < want {
            let read = self
                .channel
                .read(&mut answer[have..])
                .map_err(|error| TpmError::Io {
                    device: self.name.clone(),
                    error,
                })?;
            if read == 0 {
                return Err(TpmError::Unmarshal {
                    command: code,
                    error: WireError::UnexpectedEnd {
                        offset: have,
                        needed: want,
                        available: have,
                    },
                });
            }
            have += read;
            if have >= HEADER_LEN {
                let size: [u8; 4] = answer[SIZE_FIELD].try_into().expect("four bytes");
                want = usize::try_from(u32::from_be_bytes(size)).unwrap_or(usize::MAX);
                if !(HEADER_LEN..=MAX_MESSAGE).contains(&want) {
                    return Err(TpmError::BadSize {
                        command: code,
                        size: want,
                    });
                }
            }
        }
        answer.truncate(want);
        Ok(answer)
    }
}
