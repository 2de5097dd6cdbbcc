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

use std::collections::BTreeMap;
use std::fmt;

use cordon_eve::proto::config::{AppInstanceConfig, EdgeDevConfig};

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
}

impl fmt::Display for PartitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cordon(error) => write!(f, "cordon: {error}"),
            Self::Unknown(name) => write!(f, "no partition named '{name}'"),
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
    /// Lines of cordon's log written since the last call.
    fn new_log_lines(&mut self) -> Result<Vec<String>, PartitionError>;
}

/// What applying a config did to one app, for the reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppOutcome {
    Applied,
    Failed(PartitionError),
}

/// Applies `config` to the partitions; `previous` is the config applied
/// before (its restart counters tell whether a restart is new). Returns
/// each app's outcome by app UUID.
pub fn apply(
    config: &EdgeDevConfig,
    previous: Option<&EdgeDevConfig>,
    partitions: &mut dyn Partitions,
) -> Result<BTreeMap<String, AppOutcome>, PartitionError> {
    let current = partitions.list()?;
    let mut outcomes = BTreeMap::new();
    for app in &config.apps {
        let outcome = match apply_app(app, previous, &current, partitions) {
            Ok(()) => AppOutcome::Applied,
            Err(error) => AppOutcome::Failed(error),
        };
        outcomes.insert(app_id(app).to_owned(), outcome);
    }
    Ok(outcomes)
}

fn apply_app(
    app: &AppInstanceConfig,
    previous: Option<&EdgeDevConfig>,
    current: &[Partition],
    partitions: &mut dyn Partitions,
) -> Result<(), PartitionError> {
    let partition = bound_partition(app, current)
        .ok_or_else(|| PartitionError::Unknown(app.displayname.clone()))?;
    let running = partition.state == PartitionState::Running;
    match (app.activate, running) {
        (true, false) => partitions.start(&partition.name),
        (false, true) => partitions.stop(&partition.name),
        (true, true) if restart_requested(app, previous) => partitions.restart(&partition.name),
        _ => Ok(()),
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

/// Whether the app's restart counter went up since the previous config;
/// an app the previous config did not have is not restarted.
fn restart_requested(app: &AppInstanceConfig, previous: Option<&EdgeDevConfig>) -> bool {
    let counter =
        |app: &AppInstanceConfig| app.restart.as_ref().map_or(0, |command| command.counter);
    let before = previous
        .and_then(|config| config.apps.iter().find(|old| app_id(old) == app_id(app)))
        .map_or(counter(app), counter);
    counter(app) > before
}
