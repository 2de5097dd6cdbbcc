//! Reading the TOML form (host side).

use crate::error::ConfigError;
use crate::model::Config;

impl Config {
    /// Parses a config from TOML; unknown keys are errors. Does not
    /// validate.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(ConfigError::Toml)
    }
}
