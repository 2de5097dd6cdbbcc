//! One request to the controller and its answer: the request sealed in an
//! envelope signed with one of the node's keys, the answer's status checked
//! and its envelope opened with the controller's signing certificate.

use std::fmt;

use cordon_eve::cert::Cert;
use cordon_eve::endpoint::Endpoint;
use cordon_eve::envelope::{EnvelopeError, Signer, open, seal};
use cordon_eve::proto::auth::AuthContainer;
use cordon_eve::signing::SignError;
use prost::Message;

use crate::identity::Credential;
use crate::transport::{Reply, Transport, TransportError};
use crate::trust::TrustError;

/// HTTP status of an unchanged config.
pub const NOT_MODIFIED: u16 = 304;
/// HTTP status of a registration the controller already has.
pub const CONFLICT: u16 = 409;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeError {
    Transport(TransportError),
    /// The controller answered with an unexpected HTTP status.
    Status {
        endpoint: Endpoint,
        status: u16,
    },
    /// The answer is not the message expected.
    Malformed {
        endpoint: Endpoint,
        error: String,
    },
    /// The answer's envelope is refused.
    Envelope {
        endpoint: Endpoint,
        error: EnvelopeError,
    },
    /// The controller's certificates are refused.
    Trust(TrustError),
    /// Attestation did not give an integrity token.
    Attestation(String),
    /// The node's key did not sign the request.
    Sign(SignError),
}

impl fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport(error) => error.fmt(f),
            Self::Status { endpoint, status } => {
                write!(
                    f,
                    "controller answered {endpoint:?} with HTTP status {status}"
                )
            }
            Self::Malformed { endpoint, error } => {
                write!(f, "controller's {endpoint:?} answer is malformed: {error}")
            }
            Self::Envelope { endpoint, error } => {
                write!(f, "controller's {endpoint:?} answer refused: {error}")
            }
            Self::Trust(error) => error.fmt(f),
            Self::Attestation(error) => write!(f, "attestation failed: {error}"),
            Self::Sign(error) => write!(f, "cannot sign the request: {error}"),
        }
    }
}

impl std::error::Error for ExchangeError {}

impl From<TransportError> for ExchangeError {
    fn from(error: TransportError) -> Self {
        Self::Transport(error)
    }
}

/// POSTs `message` to `endpoint`, signed with `sender`; returns the reply
/// whatever its status.
pub fn post(
    transport: &dyn Transport,
    endpoint: Endpoint,
    device: &str,
    message: &impl Message,
    sender: &Credential,
) -> Result<Reply, ExchangeError> {
    post_bytes(transport, endpoint, device, message.encode_to_vec(), sender)
}

/// POSTs `payload` (already encoded) to `endpoint`, signed with `sender`.
pub fn post_bytes(
    transport: &dyn Transport,
    endpoint: Endpoint,
    device: &str,
    payload: Vec<u8>,
    sender: &Credential,
) -> Result<Reply, ExchangeError> {
    let envelope = seal(payload, sender.key.as_ref(), &sender.cert, Signer::Device)
        .map_err(ExchangeError::Sign)?;
    Ok(transport.exchange(&endpoint.path(device), Some(&envelope.encode_to_vec()))?)
}

/// Checks that `reply` has a success status.
pub fn check_success(endpoint: Endpoint, reply: &Reply) -> Result<(), ExchangeError> {
    if (200..300).contains(&reply.status) {
        Ok(())
    } else {
        Err(ExchangeError::Status {
            endpoint,
            status: reply.status,
        })
    }
}

/// The message in a successful `reply`, checked to be signed by `signing`.
pub fn open_reply<M: Message + Default>(
    endpoint: Endpoint,
    reply: &Reply,
    signing: &Cert,
) -> Result<M, ExchangeError> {
    check_success(endpoint, reply)?;
    let malformed = |error: prost::DecodeError| ExchangeError::Malformed {
        endpoint,
        error: error.to_string(),
    };
    let envelope = AuthContainer::decode(reply.body.as_slice()).map_err(malformed)?;
    let payload = open(&envelope, signing, Signer::Controller)
        .map_err(|error| ExchangeError::Envelope { endpoint, error })?;
    M::decode(payload).map_err(malformed)
}
