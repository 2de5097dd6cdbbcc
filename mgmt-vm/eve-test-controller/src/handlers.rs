//! The controller's answer to each endpoint, as a real controller gives it:
//! every request body must be an envelope from a known sender with a good
//! signature (the onboarding certificate for `register`, the registered
//! device certificate for the rest), or it is refused. An app's logs are
//! taken only for an app the device's config has.

use std::io::Read;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use cordon_eve::cert::{Cert, hex_sha256};
use cordon_eve::endpoint::Endpoint;
use cordon_eve::envelope::{Signer, open, sender_hash};
use cordon_eve::proto::attest::{
    ZAttestNonceResp, ZAttestQuote, ZAttestQuoteResp, ZAttestReq, ZAttestReqType, ZAttestRespType,
    ZAttestResponse, ZAttestResponseCode,
};
use cordon_eve::proto::auth::AuthContainer;
use cordon_eve::proto::certs::ZCertType;
use cordon_eve::proto::config::{
    AppInstanceConfig, ConfigRequest, ConfigResponse, EdgeDevConfig, UuiDandVersion,
};
use cordon_eve::proto::info::{HwSecurityModuleStatus, ZInfoMsg};
use cordon_eve::proto::metrics::ZMetricMsg;
use cordon_eve::proto::register::ZRegisterMsg;
use cordon_eve::proto::uuid::UuidResponse;
use flate2::read::GzDecoder;
use prost::Message;
use prost_types::Timestamp;

use crate::authority::Authority;
use crate::quote::{self, QuoteRefusal};
use crate::registry::{Device, Registry};

pub const OK: u16 = 200;
pub const CREATED: u16 = 201;
pub const NOT_MODIFIED: u16 = 304;
pub const BAD_REQUEST: u16 = 400;
pub const UNAUTHORIZED: u16 = 401;
pub const FORBIDDEN: u16 = 403;
pub const NOT_FOUND: u16 = 404;
/// Bytes of attestation nonces and integrity tokens.
const TOKEN_LEN: usize = 32;

/// An answer: HTTP status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    fn empty(status: u16) -> Self {
        Self {
            status,
            body: Vec::new(),
        }
    }
}

/// A refusal: the status and why.
struct Refusal(u16, String);

type Handled = Result<Answer, Refusal>;

/// Answers a request to `endpoint` (for `device`, if per-device) with
/// `body`; refusals are recorded in the registry.
pub fn handle(
    registry: &mut Registry,
    authority: &Authority,
    endpoint: Endpoint,
    device: Option<&str>,
    body: &[u8],
) -> Answer {
    let handled = match endpoint {
        Endpoint::Certs => Ok(Answer {
            status: OK,
            body: authority.seal(&authority.certs_payload()),
        }),
        Endpoint::Register => register(registry, body),
        _ => per_device(
            registry,
            authority,
            endpoint,
            device.unwrap_or_default(),
            body,
        ),
    };
    answered(registry, &format!("{endpoint:?}"), handled)
}

/// Answers a `newlogs` of app `app` of `device` with `body`; refusals are
/// recorded in the registry.
pub fn handle_app_logs(registry: &mut Registry, device: &str, app: &str, body: &[u8]) -> Answer {
    let handled = app_logs(registry, device, app, body);
    answered(registry, &format!("app {app} logs"), handled)
}

/// The answer; a refusal is recorded as one of `what`.
fn answered(registry: &mut Registry, what: &str, handled: Handled) -> Answer {
    handled.unwrap_or_else(|Refusal(status, why)| {
        registry.refusals.push(format!("{what}: {why}"));
        Answer {
            status,
            body: why.into_bytes(),
        }
    })
}

fn envelope(body: &[u8]) -> Result<AuthContainer, Refusal> {
    AuthContainer::decode(body)
        .map_err(|error| Refusal(BAD_REQUEST, format!("not an envelope: {error}")))
}

fn decode<M: Message + Default>(payload: &[u8]) -> Result<M, Refusal> {
    M::decode(payload).map_err(|error| Refusal(BAD_REQUEST, format!("malformed message: {error}")))
}

fn opened<'a>(envelope: &'a AuthContainer, sender: &Cert) -> Result<&'a [u8], Refusal> {
    open(envelope, sender, Signer::Device).map_err(|error| Refusal(UNAUTHORIZED, error.to_string()))
}

fn register(registry: &mut Registry, body: &[u8]) -> Handled {
    let envelope = envelope(body)?;
    let onboarding = registry
        .onboarding
        .iter()
        .find(|cert| Signer::Device.cert_hash(cert).as_slice() == sender_hash(&envelope))
        .cloned()
        .ok_or_else(|| Refusal(UNAUTHORIZED, "unknown onboarding certificate".to_owned()))?;
    let message: ZRegisterMsg = decode(opened(&envelope, &onboarding)?)?;
    let pem = BASE64
        .decode(&message.pem_cert)
        .map_err(|error| Refusal(BAD_REQUEST, format!("pemCert is not base64: {error}")))?;
    let cert = Cert::from_pem(&String::from_utf8_lossy(&pem))
        .map_err(|error| Refusal(BAD_REQUEST, format!("pemCert: {error}")))?;
    if registry
        .device_by_cert_hash(&Signer::Device.cert_hash(&cert))
        .is_none()
    {
        let uuid = format!(
            "00000000-0000-4000-8000-{:012x}",
            registry.devices.len() + 1
        );
        registry.devices.push(Device {
            uuid,
            serial: message.serial,
            cert,
            ecdh: None,
            attestation: None,
            nonce: None,
            quoted_pcrs: None,
            integrity_token: None,
        });
    }
    Ok(Answer::empty(CREATED))
}

fn per_device(
    registry: &mut Registry,
    authority: &Authority,
    endpoint: Endpoint,
    path_device: &str,
    body: &[u8],
) -> Handled {
    let envelope = envelope(body)?;
    let device = sender(registry, &envelope)?;
    let payload = opened(&envelope, &device.cert)?;
    if endpoint != Endpoint::Uuid {
        same_device(&device, path_device)?;
    }
    match endpoint {
        Endpoint::Uuid => Ok(Answer {
            status: OK,
            body: authority.seal(&UuidResponse {
                uuid: device.uuid.clone(),
                ..UuidResponse::default()
            }),
        }),
        Endpoint::Attest => attest(registry, authority, &device, decode(payload)?),
        Endpoint::Config => config(registry, authority, &device, decode(payload)?),
        Endpoint::Info => {
            let info: ZInfoMsg = decode(payload)?;
            registry
                .reports
                .entry(device.uuid)
                .or_default()
                .infos
                .push(info);
            Ok(Answer::empty(CREATED))
        }
        Endpoint::Metrics => {
            let metrics: ZMetricMsg = decode(payload)?;
            registry
                .reports
                .entry(device.uuid)
                .or_default()
                .metrics
                .push(metrics);
            Ok(Answer::empty(CREATED))
        }
        Endpoint::NewLogs => {
            let lines = log_lines(payload)?;
            let logs = &mut registry.reports.entry(device.uuid).or_default().logs;
            logs.extend(lines);
            Ok(Answer::empty(CREATED))
        }
        Endpoint::Certs | Endpoint::Register => {
            Err(Refusal(NOT_FOUND, "no such endpoint".to_owned()))
        }
    }
}

/// The registered device whose certificate signed `envelope`.
fn sender(registry: &mut Registry, envelope: &AuthContainer) -> Result<Device, Refusal> {
    registry
        .device_by_cert_hash(sender_hash(envelope))
        .cloned()
        .ok_or_else(|| Refusal(UNAUTHORIZED, "unknown device certificate".to_owned()))
}

/// Refuses a device asking for another device's path.
fn same_device(device: &Device, path_device: &str) -> Result<(), Refusal> {
    if path_device == device.uuid {
        Ok(())
    } else {
        Err(Refusal(
            FORBIDDEN,
            format!("device {} asked for {path_device}", device.uuid),
        ))
    }
}

/// The lines of a `newlogs` body: a gzip stream of JSON objects (`LogEntry`),
/// one a line.
fn log_lines(payload: &[u8]) -> Result<Vec<String>, Refusal> {
    let mut text = String::new();
    GzDecoder::new(payload)
        .read_to_string(&mut text)
        .map_err(|error| Refusal(BAD_REQUEST, format!("logs are not gzip text: {error}")))?;
    text.lines()
        .enumerate()
        .map(|(index, line)| {
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(line)
                .map(|_| line.to_owned())
                .map_err(|error| {
                    Refusal(
                        BAD_REQUEST,
                        format!("log line {} is not a JSON object: {error}", index + 1),
                    )
                })
        })
        .collect()
}

/// Takes the logs of app `app` of `path_device`, sent by that device, if
/// the device's config has the app.
fn app_logs(registry: &mut Registry, path_device: &str, app: &str, body: &[u8]) -> Handled {
    let envelope = envelope(body)?;
    let device = sender(registry, &envelope)?;
    let payload = opened(&envelope, &device.cert)?;
    same_device(&device, path_device)?;
    let known = registry
        .configs
        .get(&device.serial)
        .is_some_and(|config| config.apps.iter().any(|known| app_uuid(known) == app));
    if !known {
        return Err(Refusal(
            NOT_FOUND,
            format!("device {} has no app {app}", device.uuid),
        ));
    }
    let lines = log_lines(payload)?;
    let reports = registry.reports.entry(device.uuid).or_default();
    reports
        .app_logs
        .entry(app.to_owned())
        .or_default()
        .extend(lines);
    Ok(Answer::empty(CREATED))
}

/// An app's UUID, as its config names it.
fn app_uuid(app: &AppInstanceConfig) -> &str {
    app.uuidandversion
        .as_ref()
        .map_or("", |id| id.uuid.as_str())
}

fn random_token() -> Vec<u8> {
    let mut token = vec![0; TOKEN_LEN];
    getrandom::fill(&mut token).expect("the test host has randomness");
    token
}

fn attest(
    registry: &mut Registry,
    authority: &Authority,
    device: &Device,
    request: ZAttestReq,
) -> Handled {
    let tpm_reported = registry
        .reports
        .get(&device.uuid)
        .and_then(|reports| reports.device_info())
        .is_some_and(|info| info.hsm_status == HwSecurityModuleStatus::Enabled as i32);
    let stored = registry
        .device_by_uuid(&device.uuid)
        .expect("sender is registered");
    let response = match ZAttestReqType::try_from(request.req_type) {
        Ok(ZAttestReqType::AttestReqCert) => {
            let ecdh = request
                .certs
                .iter()
                .find(|cert| cert.r#type == ZCertType::CertTypeDeviceEcdhExchange as i32)
                .ok_or_else(|| Refusal(BAD_REQUEST, "no key-exchange certificate".to_owned()))?;
            let ecdh = Cert::from_pem(&String::from_utf8_lossy(&ecdh.cert)).map_err(|error| {
                Refusal(BAD_REQUEST, format!("key-exchange certificate: {error}"))
            })?;
            ecdh.check_issued_by(&device.cert)
                .map_err(|error| Refusal(UNAUTHORIZED, error.to_string()))?;
            let attestation = request
                .certs
                .iter()
                .find(|cert| cert.r#type == ZCertType::CertTypeDeviceRestrictedSigning as i32)
                .map(|cert| {
                    let cert =
                        Cert::from_pem(&String::from_utf8_lossy(&cert.cert)).map_err(|error| {
                            Refusal(BAD_REQUEST, format!("attestation certificate: {error}"))
                        })?;
                    cert.check_issued_by(&device.cert)
                        .map_err(|error| Refusal(UNAUTHORIZED, error.to_string()))?;
                    Ok(cert)
                })
                .transpose()?;
            stored.ecdh = Some(ecdh);
            stored.attestation = attestation;
            ZAttestResponse {
                resp_type: ZAttestRespType::AttestRespCert as i32,
                ..ZAttestResponse::default()
            }
        }
        Ok(ZAttestReqType::AttestReqNonce) => {
            let nonce = random_token();
            stored.nonce = Some(nonce.clone());
            ZAttestResponse {
                resp_type: ZAttestRespType::AttestRespNonce as i32,
                nonce: Some(ZAttestNonceResp { nonce }),
                ..ZAttestResponse::default()
            }
        }
        Ok(ZAttestReqType::AttestReqQuote) => {
            let Some(nonce) = stored.nonce.take() else {
                return Err(Refusal(FORBIDDEN, "quote without a nonce".to_owned()));
            };
            let quote = request.quote.unwrap_or_default();
            let has_tpm = tpm_reported || stored.attestation.is_some();
            let checked = if quote == ZAttestQuote::default() {
                // Without a TPM the quote is empty: accepted from a device
                // that has none.
                if has_tpm {
                    Err(QuoteRefusal::EmptyFromTpm)
                } else {
                    Ok(None)
                }
            } else {
                quote::verify(&quote, &nonce, stored.attestation.as_ref()).map(Some)
            };
            let answer = match checked {
                Ok(pcrs) => {
                    let token = random_token();
                    stored.integrity_token = Some(token.clone());
                    stored.quoted_pcrs = pcrs;
                    ZAttestQuoteResp {
                        response: ZAttestResponseCode::Success as i32,
                        integrity_token: token,
                        ..ZAttestQuoteResp::default()
                    }
                }
                Err(refusal) => {
                    stored.integrity_token = None;
                    stored.quoted_pcrs = None;
                    registry.refusals.push(format!(
                        "Attest: quote refused ({}): {refusal}",
                        refusal.code().as_str_name()
                    ));
                    ZAttestQuoteResp {
                        response: refusal.code() as i32,
                        ..ZAttestQuoteResp::default()
                    }
                }
            };
            ZAttestResponse {
                resp_type: ZAttestRespType::AttestRespQuoteResp as i32,
                quote_resp: Some(answer),
                ..ZAttestResponse::default()
            }
        }
        _ => {
            return Err(Refusal(
                BAD_REQUEST,
                format!("attest request type {}", request.req_type),
            ));
        }
    };
    Ok(Answer {
        status: OK,
        body: authority.seal(&response),
    })
}

fn config(
    registry: &mut Registry,
    authority: &Authority,
    device: &Device,
    request: ConfigRequest,
) -> Handled {
    if device.integrity_token.as_deref() != Some(request.integrity_token.as_slice()) {
        return Err(Refusal(
            FORBIDDEN,
            "integrity token is not the one given".to_owned(),
        ));
    }
    let mut config = registry
        .configs
        .get(&device.serial)
        .cloned()
        .unwrap_or_default();
    config.id = Some(UuiDandVersion {
        uuid: device.uuid.clone(),
        version: config.id.map(|id| id.version).unwrap_or_default(),
    });
    config.controllercert_confighash = authority.certs_hash();
    let hash = hex_sha256(&config.encode_to_vec());
    if hash == request.config_hash {
        return Ok(Answer::empty(NOT_MODIFIED));
    }
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let config = EdgeDevConfig {
        config_timestamp: Some(Timestamp {
            seconds: i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX),
            nanos: i32::try_from(since_epoch.subsec_nanos()).unwrap_or(0),
        }),
        ..config
    };
    let mut body = authority.seal(&ConfigResponse {
        config: Some(config),
        config_hash: hash,
    });
    if std::mem::take(&mut registry.tamper_next_config) {
        tamper(&mut body);
    }
    Ok(Answer { status: OK, body })
}

/// Changes the envelope's payload after signing, as an attacker on the way
/// would.
fn tamper(body: &mut Vec<u8>) {
    let Ok(mut envelope) = AuthContainer::decode(body.as_slice()) else {
        return;
    };
    if let Some(last) = envelope
        .protected_payload
        .as_mut()
        .and_then(|payload| payload.payload.last_mut())
    {
        *last ^= 1;
    }
    *body = envelope.encode_to_vec();
}
