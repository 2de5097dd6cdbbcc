//! Requests to the controller over HTTP(S): a [`Transport`] trait, so that
//! the protocol code does not depend on the HTTP client, and its
//! implementation with ureq and rustls. TLS trusts only the root CA
//! provisioned in the image; plain HTTP is allowed to loopback addresses
//! only (the test controller), since the EVE API's own signatures protect
//! every body but not the connection's privacy.

use std::fmt;
use std::io::Read;
use std::time::Duration;

use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

use crate::images::Datastores;

/// The EVE API's content type for every body.
pub const CONTENT_TYPE: &str = "application/x-proto-binary";
/// Longest wait for a whole exchange with the controller.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest wait for a whole image download.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(60 * 60);
/// Largest response body accepted (a config with many apps fits easily).
const MAX_RESPONSE_BYTES: u64 = 16 << 20;
/// Hosts plain `http://` may go to.
const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "localhost", "[::1]"];

/// An answer: HTTP status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// The controller URL is not `https://…` (or `http://` to loopback).
    BadUrl(String),
    /// The root CA file is not PEM.
    BadRootCa(String),
    /// No answer: the controller is unreachable, TLS failed, or it timed
    /// out.
    Unreachable { url: String, error: String },
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadUrl(url) => write!(
                f,
                "controller URL {url} is neither https:// nor http:// to a loopback address"
            ),
            Self::BadRootCa(error) => write!(f, "root CA for TLS is not PEM: {error}"),
            Self::Unreachable { url, error } => write!(f, "no answer from {url}: {error}"),
        }
    }
}

impl std::error::Error for TransportError {}

pub trait Transport {
    /// GET `path` (no body) or POST `body` to it.
    fn exchange(&self, path: &str, body: Option<&[u8]>) -> Result<Reply, TransportError>;
}

/// HTTP(S) to one controller.
pub struct HttpTransport {
    base: String,
    agent: ureq::Agent,
}

impl HttpTransport {
    /// A transport to `base` (scheme, host, port), trusting `root_ca_pem`
    /// for TLS.
    pub fn new(base: &str, root_ca_pem: &[u8]) -> Result<Self, TransportError> {
        let base = base.trim_end_matches('/').to_owned();
        check_scheme(&base)?;
        let roots = ureq::tls::parse_pem(root_ca_pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(cert)) => Some(Ok(cert)),
                Ok(_) => None,
                Err(error) => Some(Err(TransportError::BadRootCa(error.to_string()))),
            })
            .collect::<Result<Vec<Certificate<'static>>, _>>()?;
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(RootCerts::new_with_certs(&roots))
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .timeout_global(Some(EXCHANGE_TIMEOUT))
            .build()
            .into();
        Ok(Self { base, agent })
    }
}

fn check_scheme(base: &str) -> Result<(), TransportError> {
    if base.starts_with("https://") {
        return Ok(());
    }
    let loopback = base.strip_prefix("http://").is_some_and(|rest| {
        LOOPBACK_HOSTS.iter().any(|host| {
            rest.strip_prefix(host)
                .is_some_and(|after| after.is_empty() || after.starts_with(':'))
        })
    });
    if loopback {
        Ok(())
    } else {
        Err(TransportError::BadUrl(base.to_owned()))
    }
}

impl Transport for HttpTransport {
    fn exchange(&self, path: &str, body: Option<&[u8]>) -> Result<Reply, TransportError> {
        let url = format!("{}{path}", self.base);
        let unreachable = |error: ureq::Error| TransportError::Unreachable {
            url: url.clone(),
            error: error.to_string(),
        };
        let response = match body {
            Some(body) => self
                .agent
                .post(&url)
                .header("Content-Type", CONTENT_TYPE)
                .send(body),
            None => self.agent.get(&url).call(),
        }
        .map_err(unreachable)?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        response
            .into_body()
            .into_reader()
            .take(MAX_RESPONSE_BYTES)
            .read_to_end(&mut body)
            .map_err(|error| TransportError::Unreachable {
                url: url.clone(),
                error: error.to_string(),
            })?;
        Ok(Reply { status, body })
    }
}

/// Datastores over HTTP or HTTPS under the public web PKI: what they
/// give is checked against the SHA-256 in the signed config
/// ([`crate::images`]).
pub struct HttpDatastores {
    agent: ureq::Agent,
}

impl Default for HttpDatastores {
    fn default() -> Self {
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(RootCerts::WebPki)
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .timeout_global(Some(DOWNLOAD_TIMEOUT))
            .build()
            .into();
        Self { agent }
    }
}

impl Datastores for HttpDatastores {
    fn open(&self, url: &str) -> Result<Box<dyn Read>, String> {
        let response = self
            .agent
            .get(url)
            .call()
            .map_err(|error| error.to_string())?;
        Ok(Box::new(response.into_body().into_reader()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_and_loopback_http_are_allowed() {
        assert_eq!(check_scheme("https://controller.example"), Ok(()));
        assert_eq!(check_scheme("http://127.0.0.1:8080"), Ok(()));
        assert_eq!(check_scheme("http://localhost"), Ok(()));
    }

    #[test]
    fn plain_http_elsewhere_is_refused() {
        for url in [
            "http://controller.example",
            "http://127.0.0.1.example",
            "ftp://x",
        ] {
            assert_eq!(
                check_scheme(url),
                Err(TransportError::BadUrl(url.to_owned()))
            );
        }
    }
}
