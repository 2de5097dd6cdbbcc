//! The agent's settings, a TOML file in the management VM's image: which
//! controller to talk to, the files that identify the node to it, and where
//! the agent keeps what it must remember across reboots.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Seconds between two rounds of config fetch and reports, unless the
/// settings say otherwise.
const DEFAULT_INTERVAL_SECS: u64 = 60;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The controller's base URL, `https://host[:port]`; `http://` only to
    /// a loopback address (the test controller).
    pub controller: String,
    /// PEM file with the root CA the controller's certificates chain to;
    /// it also anchors the TLS connection.
    pub root_ca: PathBuf,
    /// The onboarding certificate and key provisioned in the image.
    pub onboarding_cert: PathBuf,
    pub onboarding_key: PathBuf,
    /// The node's serial number, sent when registering.
    pub serial: String,
    /// Where the device key, certificates, UUID and last good config are
    /// kept: on the management VM's persistent storage.
    pub state_dir: PathBuf,
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
}

fn default_interval() -> u64 {
    DEFAULT_INTERVAL_SECS
}

/// Why the settings cannot be used.
#[derive(Debug)]
pub enum SettingsError {
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    Parse {
        path: PathBuf,
        error: String,
    },
    /// A round every 0 seconds would flood the controller.
    ZeroInterval {
        path: PathBuf,
    },
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path, error } => {
                write!(f, "cannot read the settings {}: {error}", path.display())
            }
            Self::Parse { path, error } => {
                write!(f, "settings {} are not valid: {error}", path.display())
            }
            Self::ZeroInterval { path } => {
                write!(
                    f,
                    "settings {}: interval_secs must be at least 1",
                    path.display()
                )
            }
        }
    }
}

impl std::error::Error for SettingsError {}

impl Settings {
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|error| SettingsError::Read {
            path: path.to_owned(),
            error,
        })?;
        Self::parse(&text, path)
    }

    fn parse(text: &str, path: &Path) -> Result<Self, SettingsError> {
        let settings: Self = toml::from_str(text).map_err(|error| SettingsError::Parse {
            path: path.to_owned(),
            error: error.to_string(),
        })?;
        if settings.interval_secs == 0 {
            return Err(SettingsError::ZeroInterval {
                path: path.to_owned(),
            });
        }
        Ok(settings)
    }

    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.interval_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/etc/cordon-agent.toml";
    const VALID: &str = r#"
        controller = "https://controller.example"
        root_ca = "/etc/cordon/root.pem"
        onboarding_cert = "/etc/cordon/onboard.cert.pem"
        onboarding_key = "/etc/cordon/onboard.key.pem"
        serial = "node-1"
        state_dir = "/persist/cordon-agent"
    "#;

    #[test]
    fn settings_read_with_the_default_interval() {
        let settings = Settings::parse(VALID, Path::new(PATH)).expect("valid");
        assert_eq!(settings.serial, "node-1");
        assert_eq!(
            settings.interval(),
            Duration::from_secs(DEFAULT_INTERVAL_SECS)
        );
    }

    #[test]
    fn unknown_setting_is_refused() {
        let text = format!("{VALID}\ncontroler = \"typo\"\n");
        let result = Settings::parse(&text, Path::new(PATH));
        assert!(
            matches!(result, Err(SettingsError::Parse { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn zero_interval_is_refused() {
        let text = format!("{VALID}\ninterval_secs = 0\n");
        let result = Settings::parse(&text, Path::new(PATH));
        assert!(
            matches!(result, Err(SettingsError::ZeroInterval { .. })),
            "{result:?}"
        );
    }
}
