//! Reading a partition config file: TOML, then the checks that need no
//! device tree.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use cordon_config::{Config, ConfigError};

use crate::error::{Error, Result};

/// A config and the file it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub file: PathBuf,
    pub config: Config,
}

impl Loaded {
    /// The config's name: its file's name without `.toml`.
    pub fn name(&self) -> &OsStr {
        self.file
            .file_stem()
            .expect("a file that was read has a name")
    }

    /// The directory that relative module paths start from.
    pub fn dir(&self) -> &Path {
        self.file.parent().unwrap_or(Path::new("."))
    }

    /// An error listing `problems` in this config's file.
    pub fn error(&self, problems: impl IntoIterator<Item = String>) -> Error {
        Error::Config {
            file: self.file.clone(),
            problems: problems.into_iter().collect(),
        }
    }
}

/// Reads and parses `file`, then checks it at level 1.
pub fn load(file: &Path) -> Result<Loaded> {
    let text = fs::read_to_string(file)
        .map_err(|error| Error::io(format!("cannot read {}", file.display()), error))?;
    let file = std::path::absolute(file)
        .map_err(|error| Error::io(format!("cannot find {}", file.display()), error))?;
    let loaded = Loaded {
        file: file.clone(),
        config: Config::from_toml(&text).map_err(|problem| Error::Config {
            file: file.clone(),
            problems: vec![problem.to_string()],
        })?,
    };
    check(&loaded, loaded.config.errors())?;
    Ok(loaded)
}

/// Fails with every error in `errors`, if there are any.
pub fn check(loaded: &Loaded, errors: Vec<ConfigError>) -> Result<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(loaded.error(errors.iter().map(ToString::to_string)))
    }
}
