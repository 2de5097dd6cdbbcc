//! Becoming known to the controller: registering the device certificate
//! with the onboarding credential, learning the device UUID, and attesting
//! (without a TPM: the key-exchange certificate, a nonce, an empty quote)
//! to get the integrity token that config requests carry.

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

/// Attests `device`; returns the integrity token.
pub fn attest(
    transport: &dyn Transport,
    identity: &Identity,
    certs: &ControllerCerts,
    device: &str,
) -> Result<Vec<u8>, ExchangeError> {
    let ecdh = &identity.ecdh.cert;
    let cert = ZCert {
        hash_algo: HashAlgorithm::Sha25632bytes as i32,
        cert_hash: ecdh.pem_hash().to_vec(),
        r#type: ZCertType::CertTypeDeviceEcdhExchange as i32,
        cert: ecdh.pem().as_bytes().to_vec(),
        ..ZCert::default()
    };
    let steps = [
        ZAttestReq {
            req_type: ZAttestReqType::AttestReqCert as i32,
            certs: vec![cert],
            ..ZAttestReq::default()
        },
        ZAttestReq {
            req_type: ZAttestReqType::AttestReqNonce as i32,
            ..ZAttestReq::default()
        },
        ZAttestReq {
            req_type: ZAttestReqType::AttestReqQuote as i32,
            quote: Some(ZAttestQuote::default()),
            ..ZAttestReq::default()
        },
    ];
    let mut last = ZAttestResponse::default();
    for step in &steps {
        let reply = exchange::post(transport, Endpoint::Attest, device, step, &identity.device)?;
        last = exchange::open_reply(Endpoint::Attest, &reply, &certs.signing)?;
    }
    let quote = last
        .quote_resp
        .ok_or_else(|| ExchangeError::Attestation("no answer to the quote".to_owned()))?;
    if quote.response != ZAttestResponseCode::Success as i32 {
        return Err(ExchangeError::Attestation(format!(
            "quote refused with code {}",
            quote.response
        )));
    }
    Ok(quote.integrity_token)
}
