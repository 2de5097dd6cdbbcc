//! Becoming known to the controller: registering the device certificate
//! with the onboarding credential, learning the device UUID, and attesting
//! (the key-exchange certificate, a nonce, and a quote of the TPM's PCRs
//! for it, signed by the TPM's attestation key whose certificate goes with
//! the first; without a TPM, an empty quote) to get the integrity token
//! that config requests carry.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use cordon_eve::endpoint::Endpoint;
use cordon_eve::proto::attest::{
    ZAttestQuote, ZAttestReq, ZAttestReqType, ZAttestResponse, ZAttestResponseCode,
};
use cordon_eve::proto::certs::{ZCert, ZCertType};
use cordon_eve::proto::common::HashAlgorithm;
use cordon_eve::proto::register::ZRegisterMsg;
use cordon_eve::proto::uuid::{UuidRequest, UuidResponse};

use crate::attestation::AttestationKey;
use crate::exchange::{self, CONFLICT, ExchangeError};
use crate::identity::Identity;
use crate::transport::Transport;
use crate::trust::ControllerCerts;

/// Registers the device (a registration the controller already has is
/// fine) and returns the device UUID.
pub fn register(
    transport: &dyn Transport,
    identity: &Identity,
    serial: &str,
    certs: &ControllerCerts,
) -> Result<String, ExchangeError> {
    let register = ZRegisterMsg {
        pem_cert: BASE64.encode(identity.device.cert.pem()).into_bytes(),
        serial: serial.to_owned(),
        ..ZRegisterMsg::default()
    };
    let reply = exchange::post(
        transport,
        Endpoint::Register,
        "",
        &register,
        &identity.onboarding,
    )?;
    if reply.status != CONFLICT {
        exchange::check_success(Endpoint::Register, &reply)?;
    }
    let request = UuidRequest::default();
    let reply = exchange::post(transport, Endpoint::Uuid, "", &request, &identity.device)?;
    let answer: UuidResponse = exchange::open_reply(Endpoint::Uuid, &reply, &certs.signing)?;
    Ok(answer.uuid)
}

/// Attests `device`: sends the key-exchange certificate (and the
/// attestation certificate, with a TPM), asks for a nonce and answers it
/// with a quote (empty without a TPM); returns the integrity token.
pub fn attest(
    transport: &dyn Transport,
    identity: &Identity,
    certs: &ControllerCerts,
    device: &str,
) -> Result<Vec<u8>, ExchangeError> {
    let ecdh = &identity.ecdh.cert;
    let mut sent = vec![ZCert {
        hash_algo: HashAlgorithm::Sha25632bytes as i32,
        cert_hash: ecdh.pem_hash().to_vec(),
        r#type: ZCertType::CertTypeDeviceEcdhExchange as i32,
        cert: ecdh.pem().as_bytes().to_vec(),
        ..ZCert::default()
    }];
    sent.extend(identity.attestation.iter().map(AttestationKey::zcert));
    let step = |request: ZAttestReq| -> Result<ZAttestResponse, ExchangeError> {
        let reply = exchange::post(
            transport,
            Endpoint::Attest,
            device,
            &request,
            &identity.device,
        )?;
        exchange::open_reply(Endpoint::Attest, &reply, &certs.signing)
    };
    step(ZAttestReq {
        req_type: ZAttestReqType::AttestReqCert as i32,
        certs: sent,
        ..ZAttestReq::default()
    })?;
    let nonce = step(ZAttestReq {
        req_type: ZAttestReqType::AttestReqNonce as i32,
        ..ZAttestReq::default()
    })?
    .nonce
    .ok_or_else(|| ExchangeError::Attestation("no nonce in the answer".to_owned()))?
    .nonce;
    let quote = match &identity.attestation {
        Some(key) => key
            .quote(&nonce)
            .map_err(|error| ExchangeError::Attestation(error.to_string()))?,
        None => ZAttestQuote::default(),
    };
    let answer = step(ZAttestReq {
        req_type: ZAttestReqType::AttestReqQuote as i32,
        quote: Some(quote),
        ..ZAttestReq::default()
    })?
    .quote_resp
    .ok_or_else(|| ExchangeError::Attestation("no answer to the quote".to_owned()))?;
    if answer.response != ZAttestResponseCode::Success as i32 {
        let code = ZAttestResponseCode::try_from(answer.response)
            .map(|code| code.as_str_name().to_owned())
            .unwrap_or_else(|_| answer.response.to_string());
        return Err(ExchangeError::Attestation(format!(
            "quote refused with code {code}"
        )));
    }
    Ok(answer.integrity_token)
}
