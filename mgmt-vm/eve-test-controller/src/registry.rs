//! What the test controller knows: the onboarding certificates it accepts,
//! the devices registered with them, the config set for each device (by
//! serial number, since the UUID is given at registration) and what each
//! device reported.

use std::collections::BTreeMap;

use cordon_eve::cert::Cert;
use cordon_eve::envelope::Signer;
use cordon_eve::proto::config::EdgeDevConfig;
use cordon_eve::proto::info::z_info_msg::InfoContent;
use cordon_eve::proto::info::{ZInfoDevice, ZInfoMsg};
use cordon_eve::proto::metrics::ZMetricMsg;

/// A registered device.
#[derive(Debug, Clone)]
pub struct Device {
    pub uuid: String,
    pub serial: String,
    pub cert: Cert,
    /// The key-exchange certificate sent in attestation.
    pub ecdh: Option<Cert>,
    /// The TPM attestation certificate sent in attestation, issued by the
    /// device certificate.
    pub attestation: Option<Cert>,
    pub nonce: Option<Vec<u8>>,
    /// The PCRs the last accepted quote covered, verified; `None` until a
    /// quote is accepted, and after an empty one.
    pub quoted_pcrs: Option<Vec<u32>>,
    pub integrity_token: Option<Vec<u8>>,
}

/// What devices sent, in order.
#[derive(Debug, Clone, Default)]
pub struct Reports {
    pub infos: Vec<ZInfoMsg>,
    pub metrics: Vec<ZMetricMsg>,
    /// `newlogs` lines (JSON `LogEntry` objects).
    pub logs: Vec<String>,
    /// Each app's `newlogs` lines, by app UUID.
    pub app_logs: BTreeMap<String, Vec<String>>,
}

impl Reports {
    /// What `pick` finds in the latest info it finds anything in.
    pub fn latest<T>(&self, pick: impl Fn(&InfoContent) -> Option<T>) -> Option<T> {
        self.infos
            .iter()
            .rev()
            .find_map(|info| info.info_content.as_ref().and_then(&pick))
    }

    /// The state (a `ZSwState`) in the latest info of the app whose UUID
    /// is `app`.
    pub fn app_state(&self, app: &str) -> Option<i32> {
        self.latest(|content| match content {
            InfoContent::Ainfo(info) if info.app_id == app => Some(info.state),
            _ => None,
        })
    }

    /// The `content` of each log line of app `app`, in the order sent.
    pub fn app_log_contents(&self, app: &str) -> Vec<String> {
        self.app_logs
            .get(app)
            .into_iter()
            .flatten()
            .map(|line| {
                serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|entry| entry["content"].as_str().map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect()
    }

    /// The latest device info.
    pub fn device_info(&self) -> Option<ZInfoDevice> {
        self.latest(|content| match content {
            InfoContent::Dinfo(info) => Some(info.clone()),
            _ => None,
        })
    }
}

#[derive(Debug, Default)]
pub struct Registry {
    pub onboarding: Vec<Cert>,
    pub devices: Vec<Device>,
    /// Configs by device serial number.
    pub configs: BTreeMap<String, EdgeDevConfig>,
    /// Reports by device UUID.
    pub reports: BTreeMap<String, Reports>,
    /// Why requests were refused, in order.
    pub refusals: Vec<String>,
    /// Corrupt the signature of the next config answer (a tampered config
    /// on the way).
    pub tamper_next_config: bool,
    /// Act down: close each connection at once, unanswered (as when
    /// nothing listens, but counted, so that a test knows devices tried).
    pub down: bool,
    /// Connections closed unanswered while [`Registry::down`].
    pub turned_away: usize,
}

impl Registry {
    pub fn device_by_cert_hash(&mut self, hash: &[u8]) -> Option<&mut Device> {
        self.devices
            .iter_mut()
            .find(|device| Signer::Device.cert_hash(&device.cert).as_slice() == hash)
    }

    pub fn device_by_uuid(&mut self, uuid: &str) -> Option<&mut Device> {
        self.devices.iter_mut().find(|device| device.uuid == uuid)
    }
}
