//! Checking a device's TPM quote, as a controller does before it trusts
//! the device (EVE's tpmmgr makes the quote; Adam checks the same): the
//! signature over `attestData` verifies with the attestation certificate
//! the device sent (itself issued by the device certificate),
//! `attestData` is a `TPMS_ATTEST` of a quote (TPM_GENERATED magic, type
//! TPM_ST_ATTEST_QUOTE), its `extraData` is the nonce this controller
//! gave, it quotes the SHA-256 bank, and its PCR digest is SHA-256 over the
//! reported values of the PCRs it selects, in order.

use std::fmt;

use cordon_eve::cert::{Cert, Signature};
use cordon_eve::proto::attest::{TpmHashAlgo, ZAttestQuote, ZAttestResponseCode};
use sha2::{Digest, Sha256};
use tpm2_protocol::TpmUnmarshal;
use tpm2_protocol::data::{TpmAlgId, TpmSt, TpmsAttest, TpmuAttest};

/// Bits in a byte of a PCR selection bitmap.
const BITS: usize = 8;

/// Why a quote is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuoteRefusal {
    /// No attestation certificate from this device to check it with.
    NoCert,
    /// The signature does not verify with the attestation key.
    BadSignature,
    /// `attestData` is not a TPM-made `TPMS_ATTEST`.
    NotAttestData(String),
    /// `attestData` attests something other than a quote.
    NotAQuote(String),
    /// The quote is for another nonce than the one given.
    NonceMismatch,
    /// The quote selects another bank than SHA-256, or a PCR it selects
    /// is not among the reported values, or one is reported twice.
    PcrsMissing(String),
    /// The reported PCR values are not the quoted ones.
    PcrDigestMismatch,
    /// A device with a TPM sent an empty quote.
    EmptyFromTpm,
}

impl QuoteRefusal {
    /// The answer code for this refusal.
    pub fn code(&self) -> ZAttestResponseCode {
        match self {
            Self::NoCert => ZAttestResponseCode::NoCertFound,
            Self::NonceMismatch => ZAttestResponseCode::NonceMismatch,
            _ => ZAttestResponseCode::QuoteFailed,
        }
    }
}

impl fmt::Display for QuoteRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoCert => write!(f, "no attestation certificate to check the quote with"),
            Self::BadSignature => write!(
                f,
                "the quote's signature does not verify with the attestation key"
            ),
            Self::NotAttestData(error) => write!(f, "attestData is not a TPMS_ATTEST: {error}"),
            Self::NotAQuote(kind) => write!(f, "attestData is a {kind}, not a quote"),
            Self::NonceMismatch => write!(f, "the quote is not for the nonce given"),
            Self::PcrsMissing(why) => write!(f, "the reported PCRs do not match the quote: {why}"),
            Self::PcrDigestMismatch => write!(
                f,
                "the reported PCR values are not the ones quoted (digest differs)"
            ),
            Self::EmptyFromTpm => write!(f, "an empty quote from a device with a TPM"),
        }
    }
}

impl std::error::Error for QuoteRefusal {}

/// Checks `quote` against the `nonce` given and the device's attestation
/// certificate `cert`; returns the PCRs it covers.
pub fn verify(
    quote: &ZAttestQuote,
    nonce: &[u8],
    cert: Option<&Cert>,
) -> Result<Vec<u32>, QuoteRefusal> {
    let cert = cert.ok_or(QuoteRefusal::NoCert)?;
    if !cert
        .public_key()
        .verifies(&quote.attest_data, Signature::EcdsaDer(&quote.signature))
    {
        return Err(QuoteRefusal::BadSignature);
    }
    let attest = match TpmsAttest::unmarshal(&quote.attest_data) {
        Ok((attest, [])) => attest,
        Ok((_, rest)) => {
            return Err(QuoteRefusal::NotAttestData(format!(
                "{} bytes after it",
                rest.len()
            )));
        }
        Err(error) => return Err(QuoteRefusal::NotAttestData(error.to_string())),
    };
    if attest.attest_type != TpmSt::AttestQuote {
        return Err(QuoteRefusal::NotAQuote(format!("{:?}", attest.attest_type)));
    }
    let TpmuAttest::Quote(info) = &attest.attested else {
        return Err(QuoteRefusal::NotAQuote(format!("{:?}", attest.attested)));
    };
    if &*attest.extra_data != nonce {
        return Err(QuoteRefusal::NonceMismatch);
    }
    let [bank] = &info.pcr_select[..] else {
        return Err(QuoteRefusal::PcrsMissing(format!(
            "{} banks quoted, not the SHA-256 one",
            info.pcr_select.len()
        )));
    };
    if bank.hash != TpmAlgId::Sha256 {
        return Err(QuoteRefusal::PcrsMissing(format!(
            "the {:?} bank quoted",
            bank.hash
        )));
    }
    let quoted: Vec<u32> = (0..bank.pcr_select.len() * BITS)
        .filter(|&pcr| bank.pcr_select[pcr / BITS] & (1 << (pcr % BITS)) != 0)
        .filter_map(|pcr| u32::try_from(pcr).ok())
        .collect();
    let mut digest = Sha256::new();
    for pcr in &quoted {
        let mut values = quote.pcr_values.iter().filter(|value| value.index == *pcr);
        let (Some(value), None) = (values.next(), values.next()) else {
            return Err(QuoteRefusal::PcrsMissing(format!(
                "PCR {pcr} is not reported once"
            )));
        };
        if value.hash_algo != TpmHashAlgo::Sha256 as i32 {
            return Err(QuoteRefusal::PcrsMissing(format!(
                "PCR {pcr} is reported from another bank than SHA-256"
            )));
        }
        digest.update(&value.value);
    }
    if digest.finalize().as_slice() != &*info.pcr_digest {
        return Err(QuoteRefusal::PcrDigestMismatch);
    }
    Ok(quoted)
}
