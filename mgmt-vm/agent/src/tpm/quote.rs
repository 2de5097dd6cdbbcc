//! A quote of the TPM's PCRs, as EVE makes one for attestation: the SHA-256
//! bank's PCRs 0-15 read with TPM2_PCR_Read, then TPM2_Quote over the same
//! selection by the restricted attestation key, the controller's nonce as
//! qualifying data. The TPM's `TPMS_ATTEST` (magic, type, the nonce as
//! `extraData`, the selection and the digest of the PCRs) goes out as it
//! was signed; the signature as an ASN.1 DER ECDSA signature, as EVE sends
//! it.

use std::ops::Range;

use tpm2_protocol::data::{
    Tpm2bData, TpmAlgId, TpmCc, TpmlPcrSelection, TpmsPcrSelect, TpmsPcrSelection, TpmtSigScheme,
    TpmuSigScheme,
};
use tpm2_protocol::frame::{
    TpmPcrReadCommand, TpmPcrReadResponse, TpmQuoteCommand, TpmQuoteResponse,
};

use super::TpmError;
use super::channel::Auth;
use super::key::{TpmKey, ecdsa_signature, marshal};

/// The PCRs quoted, as EVE quotes them (and as `ZAttestQuote` says).
pub const QUOTED_PCRS: Range<u8> = 0..16;
/// Bytes of a PCR selection bitmap: TPMs keep at least 24 PCRs.
const SELECT_LEN: usize = 3;
/// Bits in a byte of a selection bitmap.
const BITS: u8 = 8;
/// Bytes of a SHA-256 PCR value.
pub const PCR_LEN: usize = 32;

/// A quote and the PCR values it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// The marshalled `TPMS_ATTEST` the TPM signed.
    pub attest_data: Vec<u8>,
    /// ECDSA P-256 over SHA-256(`attest_data`), ASN.1 DER.
    pub signature: Vec<u8>,
    /// The SHA-256 values of [`QUOTED_PCRS`], in order.
    pub pcrs: Vec<[u8; PCR_LEN]>,
}

/// Quotes [`QUOTED_PCRS`] with the attestation key `key`, `nonce` as the
/// qualifying data.
pub fn quote(key: &TpmKey, nonce: &[u8]) -> Result<Quote, TpmError> {
    let marshal_error = |error| TpmError::Marshal {
        command: TpmCc::Quote,
        error,
    };
    let qualifying_data = Tpm2bData::try_from(nonce).map_err(marshal_error)?;
    let pcrs = read_pcrs(key)?;
    let command = TpmQuoteCommand {
        handles: [key.handle()],
        qualifying_data,
        // The key's own scheme: ECDSA with SHA-256.
        in_scheme: TpmtSigScheme {
            scheme: TpmAlgId::Null,
            details: TpmuSigScheme::Null,
        },
        pcr_select: selection(QUOTED_PCRS)?,
    };
    let quoted: TpmQuoteResponse = key.tpm().execute(&command, Auth::EmptyPassword)?;
    let signature = ecdsa_signature(&quoted.signature)?;
    Ok(Quote {
        attest_data: marshal(&quoted.quoted.inner, TpmCc::Quote)?,
        signature: signature.to_der().as_bytes().to_vec(),
        pcrs,
    })
}

/// The SHA-256 values of [`QUOTED_PCRS`]: a TPM answers at most eight at a
/// time and says which, so this asks again for the rest.
fn read_pcrs(key: &TpmKey) -> Result<Vec<[u8; PCR_LEN]>, TpmError> {
    let mut values = Vec::new();
    let mut next = QUOTED_PCRS.start;
    while next < QUOTED_PCRS.end {
        let command = TpmPcrReadCommand {
            handles: [],
            pcr_selection_in: selection(next..QUOTED_PCRS.end)?,
        };
        let answer: TpmPcrReadResponse = key.tpm().execute(&command, Auth::None)?;
        let read = answer
            .pcr_selection_out
            .iter()
            .find(|bank| bank.hash == TpmAlgId::Sha256)
            .map(|bank| selected(&bank.pcr_select))
            .unwrap_or_default();
        // The TPM answers for the lowest PCRs asked first.
        let expected: Vec<u8> = (next..QUOTED_PCRS.end).take(read.len()).collect();
        if read.is_empty() || read != expected || answer.pcr_values.len() != read.len() {
            return Err(TpmError::Unanswered {
                command: TpmCc::PcrRead,
                what: "the PCRs asked for, in order",
            });
        }
        for digest in answer.pcr_values.iter() {
            let value: [u8; PCR_LEN] =
                digest
                    .as_ref()
                    .try_into()
                    .map_err(|_| TpmError::Unanswered {
                        command: TpmCc::PcrRead,
                        what: "SHA-256 values",
                    })?;
            values.push(value);
        }
        next += u8::try_from(read.len()).unwrap_or(u8::MAX);
    }
    Ok(values)
}

/// The SHA-256 bank's PCRs `pcrs`.
fn selection(pcrs: Range<u8>) -> Result<TpmlPcrSelection, TpmError> {
    let mut bitmap = [0u8; SELECT_LEN];
    for pcr in pcrs {
        bitmap[usize::from(pcr / BITS)] |= 1 << (pcr % BITS);
    }
    let marshal_error = |error| TpmError::Marshal {
        command: TpmCc::Quote,
        error,
    };
    let mut list = TpmlPcrSelection::default();
    list.try_push(TpmsPcrSelection {
        hash: TpmAlgId::Sha256,
        pcr_select: TpmsPcrSelect::try_from(&bitmap[..]).map_err(marshal_error)?,
    })
    .map_err(marshal_error)?;
    Ok(list)
}

/// The PCRs a selection bitmap names, in order.
fn selected(bitmap: &[u8]) -> Vec<u8> {
    let bits = usize::from(BITS);
    (0..bitmap.len() * bits)
        .filter(|&pcr| bitmap[pcr / bits] & (1 << (pcr % bits)) != 0)
        .filter_map(|pcr| u8::try_from(pcr).ok())
        .collect()
}
