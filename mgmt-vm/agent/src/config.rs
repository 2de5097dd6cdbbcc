//! The controller's config for this device: checked before it is used (it
//! must name this device and be no older than the config in force), and
//! the last good one kept in the state directory, written atomically, so
//! that it stays in force across reboots and rejected configs.

use std::fmt;

use cordon_eve::proto::config::{ConfigResponse, EdgeDevConfig};
use prost::Message;
use prost_types::Timestamp;

use crate::store::{Access, StateDir, StoreError};

/// The file the last good config is kept in (a `ConfigResponse`).
const CONFIG_FILE: &str = "config.pb";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The answer has no config.
    Missing,
    /// The config is for another device.
    OtherDevice { expected: String, got: String },
    /// The config is older than the one in force: a replay.
    Older { in_force: String, received: String },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => write!(f, "config answer holds no config"),
            Self::OtherDevice { expected, got } => {
                write!(f, "config is for device {got}, not this device {expected}")
            }
            Self::Older { in_force, received } => write!(
                f,
                "config of {received} is older than the one in force ({in_force}): replayed"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// A config that passed the checks.
#[derive(Debug, Clone, PartialEq)]
pub struct GoodConfig {
    pub config: EdgeDevConfig,
    /// The controller's hash of it, sent back to learn whether it changed.
    pub hash: String,
}

fn describe(time: Option<&Timestamp>) -> String {
    time.map_or_else(
        || "no time".to_owned(),
        |time| format!("{}.{:09} s", time.seconds, time.nanos),
    )
}

fn key(time: Option<&Timestamp>) -> (i64, i32) {
    time.map_or((0, 0), |time| (time.seconds, time.nanos))
}

/// Checks `response` for `device` against the config in force.
pub fn check(
    response: ConfigResponse,
    device: &str,
    in_force: Option<&GoodConfig>,
) -> Result<GoodConfig, ConfigError> {
    let config = response.config.ok_or(ConfigError::Missing)?;
    let named = config.id.as_ref().map_or("", |id| id.uuid.as_str());
    if named != device {
        return Err(ConfigError::OtherDevice {
            expected: device.to_owned(),
            got: named.to_owned(),
        });
    }
    if let Some(in_force) = in_force {
        let old = in_force.config.config_timestamp.as_ref();
        let new = config.config_timestamp.as_ref();
        if key(new) < key(old) {
            return Err(ConfigError::Older {
                in_force: describe(old),
                received: describe(new),
            });
        }
    }
    Ok(GoodConfig {
        config,
        hash: response.config_hash,
    })
}

/// The last good config kept, if there is one that reads.
pub fn load(state: &StateDir) -> Result<Option<GoodConfig>, StoreError> {
    let Some(bytes) = state.read(CONFIG_FILE)? else {
        return Ok(None);
    };
    Ok(ConfigResponse::decode(bytes.as_slice())
        .ok()
        .and_then(|response| {
            Some(GoodConfig {
                config: response.config?,
                hash: response.config_hash,
            })
        }))
}

pub fn save(state: &StateDir, good: &GoodConfig) -> Result<(), StoreError> {
    let response = ConfigResponse {
        config: Some(good.config.clone()),
        config_hash: good.hash.clone(),
    };
    state.write(CONFIG_FILE, &response.encode_to_vec(), Access::Public)
}

#[cfg(test)]
mod tests {
    use cordon_eve::proto::config::UuiDandVersion;

    use super::*;

    const DEVICE: &str = "device-1";
    const HASH: &str = "hash";

    fn response(device: &str, seconds: i64) -> ConfigResponse {
        ConfigResponse {
            config: Some(EdgeDevConfig {
                id: Some(UuiDandVersion {
                    uuid: device.to_owned(),
                    version: String::new(),
                }),
                config_timestamp: Some(Timestamp { seconds, nanos: 0 }),
                ..EdgeDevConfig::default()
            }),
            config_hash: HASH.to_owned(),
        }
    }

    #[test]
    fn config_for_this_device_is_accepted_with_its_hash() {
        let good = check(response(DEVICE, 10), DEVICE, None).expect("accepted");
        assert_eq!(good.hash, HASH);
    }

    #[test]
    fn answer_without_config_is_refused() {
        let empty = ConfigResponse::default();
        assert_eq!(check(empty, DEVICE, None), Err(ConfigError::Missing));
    }

    #[test]
    fn config_for_another_device_is_refused() {
        assert_eq!(
            check(response("device-2", 10), DEVICE, None),
            Err(ConfigError::OtherDevice {
                expected: DEVICE.to_owned(),
                got: "device-2".to_owned()
            })
        );
    }

    #[test]
    fn older_config_is_refused_as_a_replay() {
        let in_force = check(response(DEVICE, 20), DEVICE, None).expect("accepted");
        let result = check(response(DEVICE, 10), DEVICE, Some(&in_force));
        assert!(
            matches!(result, Err(ConfigError::Older { .. })),
            "{result:?}"
        );
        assert!(check(response(DEVICE, 20), DEVICE, Some(&in_force)).is_ok());
    }

    #[test]
    fn unreadable_stored_config_counts_as_none() {
        let root = std::env::temp_dir().join(format!("cordon-agent-config-{}", std::process::id()));
        let state = StateDir::open(&root).expect("state");
        state
            .write(CONFIG_FILE, b"\xff\xff\xff", Access::Public)
            .expect("write");
        assert_eq!(load(&state).expect("load"), None);
    }
}
