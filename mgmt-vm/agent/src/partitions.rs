//! The node's partitions as the agent sees them, through a trait so that
//! the agent does not depend on how cordon is reached (in the VM: cordonctl's
//! library over the management interface; in tests: a fake), and how a
//! controller config is applied to them.
//!
//! Binding rule: an app instance of the config (`EdgeDevConfig.apps`) is
//! bound to the workload partition whose name equals the app's
//! `displayname`. The management VM's own partition is never bound. An app
//! naming no partition is reported in error; a partition no app names is
//! left as it is.
//!
//! `activate` starts or stops the partition; a `restart` counter higher
//! than in the previous config restarts it. An app with a volume runs that
//! volume's image ([`crate::images`]): when the partition does not run it
//! yet, or the `purge` counter went up, the image is fetched, checked,
//! loaded through the management interface and the partition (re)started.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use cordon_abi::ResetKind;
use cordon_eve::cert::hex;
use cordon_eve::proto::config::{AppInstanceConfig, EdgeDevConfig, InstanceOpsCmd};

use crate::images::{ImageError, ImageRef, SHA256_LEN, image_of};

/// What a partition is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionState {
    Running,
    Halted,
    /// Stopped by a fault, or in a state cordon reports as failed.
    Error,
}

/// One partition, as cordon reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub name: String,
    pub state: PartitionState,
    /// The management VM's own partition.
    pub management: bool,
    pub vcpus: u32,
    /// Bytes of memory the partition owns.
    pub memory: u64,
    pub uptime_ns: u64,
    /// SHA-256 (hex) of the kernel image it was started from, as cordon
    /// measured it.
    pub image_sha256: Option<String>,
}

/// The node as cordon reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub cordon_version: String,
    pub cpus: u32,
    pub memory_total: u64,
    pub memory_free: u64,
    pub uptime_ns: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartitionError {
    /// Cordon could not be asked, or refused.
    Cordon(String),
    /// No partition has this name.
    Unknown(String),
    /// The app's image cannot be had.
    Image(String),
}

impl fmt::Display for PartitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cordon(error) => write!(f, "cordon: {error}"),
            Self::Unknown(name) => write!(f, "no partition named '{name}'"),
            Self::Image(error) => write!(f, "image: {error}"),
        }
    }
}

impl std::error::Error for PartitionError {}

/// What the agent needs of cordon.
pub trait Partitions {
    fn node(&mut self) -> Result<Node, PartitionError>;
    fn list(&mut self) -> Result<Vec<Partition>, PartitionError>;
    fn start(&mut self, name: &str) -> Result<(), PartitionError>;
    fn stop(&mut self, name: &str) -> Result<(), PartitionError>;
    fn restart(&mut self, name: &str) -> Result<(), PartitionError>;
    /// Loads `kernel`, whose SHA-256 is `sha256`, for the partition's next
    /// start.
    fn load(
        &mut self,
        name: &str,
        kernel: &Path,
        sha256: &[u8; SHA256_LEN],
    ) -> Result<(), PartitionError>;
    /// Lines of cordon's log written since the last call.
    fn new_log_lines(&mut self) -> Result<Vec<String>, PartitionError>;
    /// Reboots or powers off the whole machine (this VM with it), once
    /// what the VM keeps is synced.
    fn reset_device(&mut self, kind: ResetKind) -> Result<(), PartitionError>;
}

/// What applying a config did to one app, for the reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppOutcome {
    Applied,
    Failed(PartitionError),
}

/// Gets an image into the state directory; its path.
pub type FetchImage<'a> = dyn FnMut(&ImageRef) -> Result<PathBuf, ImageError> + 'a;

/// Applies `config` to the partitions; `previous` is the config applied
/// before (its counters tell whether a restart or purge is new). Returns
/// each app's outcome by app UUID.
pub fn apply(
    config: &EdgeDevConfig,
    previous: Option<&EdgeDevConfig>,
    partitions: &mut dyn Partitions,
    fetch: &mut FetchImage<'_>,
) -> Result<BTreeMap<String, AppOutcome>, PartitionError> {
    let current = partitions.list()?;
    let mut outcomes = BTreeMap::new();
    for app in &config.apps {
        let outcome = match apply_app(app, config, previous, &current, partitions, fetch) {
            Ok(()) => AppOutcome::Applied,
            Err(error) => AppOutcome::Failed(error),
        };
        outcomes.insert(app_id(app).to_owned(), outcome);
    }
    Ok(outcomes)
}

fn apply_app(
    app: &AppInstanceConfig,
    config: &EdgeDevConfig,
    previous: Option<&EdgeDevConfig>,
    current: &[Partition],
    partitions: &mut dyn Partitions,
    fetch: &mut FetchImage<'_>,
) -> Result<(), PartitionError> {
    let partition = bound_partition(app, current)
        .ok_or_else(|| PartitionError::Unknown(app.displayname.clone()))?;
    let name = partition.name.as_str();
    let running = partition.state == PartitionState::Running;
    if !app.activate {
        return if running {
            partitions.stop(name)
        } else {
            Ok(())
        };
    }
    let image = image_of(app, config).map_err(|error| PartitionError::Image(error.to_string()))?;
    let purge = went_up(app, previous, |app| app.purge.as_ref());
    let stale = image.filter(|image| {
        purge || partition.image_sha256.as_deref() != Some(hex(&image.sha256).as_str())
    });
    if let Some(image) = stale {
        let kernel = fetch(&image).map_err(|error| PartitionError::Image(error.to_string()))?;
        partitions.load(name, &kernel, &image.sha256)?;
        return if running {
            partitions.restart(name)
        } else {
            partitions.start(name)
        };
    }
    if !running {
        partitions.start(name)
    } else if went_up(app, previous, |app| app.restart.as_ref()) {
        partitions.restart(name)
    } else {
        Ok(())
    }
}

/// The partition an app is bound to (see the module's binding rule).
pub fn bound_partition<'a>(
    app: &AppInstanceConfig,
    partitions: &'a [Partition],
) -> Option<&'a Partition> {
    partitions
        .iter()
        .find(|partition| !partition.management && partition.name == app.displayname)
}

/// The app's UUID, as the config names it.
pub fn app_id(app: &AppInstanceConfig) -> &str {
    app.uuidandversion
        .as_ref()
        .map_or("", |id| id.uuid.as_str())
}

/// Whether the app's counter `command` went up since the previous config;
/// an app the previous config did not have gets no command.
fn went_up(
    app: &AppInstanceConfig,
    previous: Option<&EdgeDevConfig>,
    command: impl Fn(&AppInstanceConfig) -> Option<&InstanceOpsCmd>,
) -> bool {
    let counter = |app: &AppInstanceConfig| command(app).map_or(0, |command| command.counter);
    let before = previous
        .and_then(|config| config.apps.iter().find(|old| app_id(old) == app_id(app)))
        .map_or(counter(app), counter);
    counter(app) > before
}
