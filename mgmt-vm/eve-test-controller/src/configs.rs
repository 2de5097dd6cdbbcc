//! Configs the tests set for a device: an app instance that drives a
//! partition.

use cordon_eve::proto::config::{AppInstanceConfig, UuiDandVersion};

/// The version every app of these configs has.
const APP_VERSION: &str = "1";

/// The app `uuid` bound to the partition `partition` (by its display name,
/// as the agent binds apps), running when `activate`.
pub fn app(uuid: &str, partition: &str, activate: bool) -> AppInstanceConfig {
    AppInstanceConfig {
        uuidandversion: Some(UuiDandVersion {
            uuid: uuid.to_owned(),
            version: APP_VERSION.to_owned(),
        }),
        displayname: partition.to_owned(),
        activate,
        ..AppInstanceConfig::default()
    }
}
