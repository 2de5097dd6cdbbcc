//! The agent's rounds with the controller. Each [`Agent::round`] does what
//! is still missing of the onboarding (controller certificates, register,
//! UUID, attestation) and then fetches the config, applies it to the
//! partitions and sends info, metrics and logs. [`Agent::run`] repeats
//! rounds, waiting with [`Backoff`] after a failed one.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::ControlFlow;
use std::time::{Duration, SystemTime};

use cordon_abi::ResetKind;
use cordon_eve::cert::Cert;
use cordon_eve::endpoint::Endpoint;
use cordon_eve::envelope::EnvelopeError;
use cordon_eve::proto::config::{ConfigRequest, ConfigResponse};
use prost::Message;

use crate::backoff::Backoff;
use crate::config::{self, GoodConfig};
use crate::device_ops::{self, DeviceCommand};
use crate::exchange::{self, ExchangeError, NOT_MODIFIED};
use crate::identity::Identity;
use crate::images::{self, Datastores};
use crate::logs::{AGENT_SOURCE, CORDON_SOURCE, LogBuffer, Severity};
use crate::onboarding;
use crate::partitions::{self, AppOutcome, PartitionError, Partitions};
use crate::reports::{self, Facts};
use crate::store::{Access, StateDir, StoreError};
use crate::transport::Transport;
use crate::trust::{self, ControllerCerts, verify_certs};

/// The file the device UUID is kept in.
const UUID_FILE: &str = "uuid";
/// What the agent logs when it puts the kept config back in force.
pub const RESUMED: &str = "last good config back in force";
/// What the agent logs when it carries out a device command.
pub const ORDERED: &str = "ordered by the controller";
/// HTTP statuses with which a controller refuses a device's credentials.
const REFUSED: [u16; 2] = [401, 403];

/// What went wrong in a round.
#[derive(Debug)]
pub enum RoundError {
    Exchange(ExchangeError),
    Partitions(PartitionError),
    Store(StoreError),
}

impl fmt::Display for RoundError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exchange(error) => error.fmt(f),
            Self::Partitions(error) => error.fmt(f),
            Self::Store(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for RoundError {}

impl From<ExchangeError> for RoundError {
    fn from(error: ExchangeError) -> Self {
        Self::Exchange(error)
    }
}

impl From<PartitionError> for RoundError {
    fn from(error: PartitionError) -> Self {
        Self::Partitions(error)
    }
}

impl From<StoreError> for RoundError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// What a round did with the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigOutcome {
    /// A new config was checked, applied and kept.
    New,
    Unchanged,
    /// The config was refused; the one in force stays.
    Rejected(String),
}

/// What the image provisions a node with.
#[derive(Debug, Clone)]
pub struct Provisioning {
    pub identity: Identity,
    /// The controller's root CA.
    pub root: Cert,
    pub serial: String,
}

pub struct Agent<T, P> {
    transport: T,
    datastores: Box<dyn Datastores>,
    partitions: P,
    identity: Identity,
    root: Cert,
    serial: String,
    state: StateDir,
    certs: Option<ControllerCerts>,
    device: Option<String>,
    integrity_token: Option<Vec<u8>>,
    config: Option<GoodConfig>,
    outcomes: BTreeMap<String, AppOutcome>,
    log: LogBuffer,
    /// The controller ordered a shutdown: every app stays halted until the
    /// node boots again.
    shut_down: bool,
    /// A reset to carry out once this round's reports are sent.
    pending_reset: Option<ResetKind>,
}

impl<T: Transport, P: Partitions> Agent<T, P> {
    /// An agent that remembers, from `state`, the UUID and the last good
    /// config of earlier runs.
    pub fn new(
        transport: T,
        datastores: Box<dyn Datastores>,
        partitions: P,
        provisioning: Provisioning,
        state: StateDir,
    ) -> Result<Self, StoreError> {
        let device = state
            .read(UUID_FILE)?
            .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
            .filter(|uuid| !uuid.is_empty());
        let config = config::load(&state)?;
        Ok(Self {
            transport,
            datastores,
            partitions,
            identity: provisioning.identity,
            root: provisioning.root,
            serial: provisioning.serial,
            state,
            certs: None,
            device,
            integrity_token: None,
            config,
            outcomes: BTreeMap::new(),
            log: LogBuffer::default(),
            shut_down: false,
            pending_reset: None,
        })
    }

    /// The config in force.
    pub fn config(&self) -> Option<&GoodConfig> {
        self.config.as_ref()
    }

    /// The device UUID the controller gave.
    pub fn device(&self) -> Option<&str> {
        self.device.as_deref()
    }

    pub fn partitions(&self) -> &P {
        &self.partitions
    }

    pub fn partitions_mut(&mut self) -> &mut P {
        &mut self.partitions
    }

    /// Puts the last good config kept in the state directory back in force,
    /// before the controller is asked anything (it may be down): after a
    /// boot the partitions are as cordon's partition config starts them,
    /// not as the controller last wanted. No command (a restart or purge
    /// counter) is carried out again. What fails is logged and reported
    /// per app, as for a new config.
    pub fn resume(&mut self) {
        let Some(good) = self.config.clone() else {
            return;
        };
        let (datastores, state) = (&self.datastores, &self.state);
        // The config is its own previous one: no counter went up.
        let applied = partitions::apply(
            &good.config,
            Some(&good.config),
            &mut self.partitions,
            &mut |image| images::fetch(image, datastores.as_ref(), state),
        );
        match applied {
            Ok(outcomes) => {
                self.outcomes = outcomes;
                self.note(
                    Severity::Info,
                    format!("{RESUMED} (config hash {})", good.hash),
                );
                self.note_failed_apps();
            }
            Err(error) => self.note(
                Severity::Error,
                format!("cannot put the last good config back in force: {error}"),
            ),
        }
    }

    /// Rounds until `pause` breaks: after each round `pause` gets the wait
    /// before the next one (`interval` after a good round, the backoff's
    /// after a failed one).
    pub fn run(
        &mut self,
        interval: Duration,
        backoff: &mut Backoff,
        mut pause: impl FnMut(Duration) -> ControlFlow<()>,
    ) {
        loop {
            let wait = match self.round() {
                Ok(_) => {
                    backoff.reset();
                    interval
                }
                Err(error) => {
                    self.note(Severity::Error, format!("round failed: {error}"));
                    backoff.next_wait()
                }
            };
            if pause(wait).is_break() {
                return;
            }
        }
    }

    /// One round (see the module's description).
    pub fn round(&mut self) -> Result<ConfigOutcome, RoundError> {
        let certs = match self.certs.clone() {
            Some(certs) => certs,
            None => self.fetch_certs()?,
        };
        let device = match self.device.clone() {
            Some(device) => device,
            None => self.onboard(&certs)?,
        };
        let token = match self.integrity_token.clone() {
            Some(token) => token,
            None => self.attest(&certs, &device)?,
        };
        let outcome = self.fetch_config(&certs, &device, &token)?;
        if let ConfigOutcome::Rejected(reason) = &outcome {
            self.note(
                Severity::Error,
                format!("config rejected, the one in force stays: {reason}"),
            );
        }
        if self
            .config
            .as_ref()
            .is_some_and(|good| trust::certs_changed(&good.config, &certs))
        {
            self.note(
                Severity::Info,
                "controller certificates changed; fetching them again".to_owned(),
            );
            self.certs = None;
        }
        let reported = self.report(&device);
        // Whether or not the reports went, the order stands: it is kept
        // with the config and will not come again.
        if let Some(kind) = self.pending_reset.take() {
            self.reset(kind);
        }
        reported?;
        Ok(outcome)
    }

    fn reset(&mut self, kind: ResetKind) {
        if let Err(error) = self.partitions.reset_device(kind) {
            self.note(
                Severity::Error,
                format!("cannot {} the node: {error}", kind.name()),
            );
        }
    }

    fn note(&mut self, severity: Severity, content: String) {
        self.log.push(severity, AGENT_SOURCE, content);
    }

    /// Logs each app the config in force could not be applied to.
    fn note_failed_apps(&mut self) {
        for (app, outcome) in &self.outcomes {
            if let AppOutcome::Failed(error) = outcome {
                let message = format!("app {app}: {error}");
                self.log.push(Severity::Error, AGENT_SOURCE, message);
            }
        }
    }

    fn fetch_certs(&mut self) -> Result<ControllerCerts, RoundError> {
        let reply = self
            .transport
            .exchange(&Endpoint::Certs.path(""), None)
            .map_err(ExchangeError::from)?;
        exchange::check_success(Endpoint::Certs, &reply)?;
        let certs = verify_certs(&reply.body, &self.root, SystemTime::now())
            .map_err(ExchangeError::Trust)?;
        self.certs = Some(certs.clone());
        Ok(certs)
    }

    /// Registers and keeps the device UUID.
    fn onboard(&mut self, certs: &ControllerCerts) -> Result<String, RoundError> {
        let uuid = onboarding::register(&self.transport, &self.identity, &self.serial, certs)?;
        self.state
            .write(UUID_FILE, uuid.as_bytes(), Access::Public)?;
        self.note(Severity::Info, format!("onboarded as device {uuid}"));
        self.device = Some(uuid.clone());
        Ok(uuid)
    }

    /// Attests and keeps the integrity token.
    fn attest(&mut self, certs: &ControllerCerts, device: &str) -> Result<Vec<u8>, RoundError> {
        let token = onboarding::attest(&self.transport, &self.identity, certs, device)?;
        self.integrity_token = Some(token.clone());
        Ok(token)
    }

    fn fetch_config(
        &mut self,
        certs: &ControllerCerts,
        device: &str,
        token: &[u8],
    ) -> Result<ConfigOutcome, RoundError> {
        let request = ConfigRequest {
            config_hash: self
                .config
                .as_ref()
                .map(|good| good.hash.clone())
                .unwrap_or_default(),
            integrity_token: token.to_vec(),
        };
        let reply = exchange::post(
            &self.transport,
            Endpoint::Config,
            device,
            &request,
            &self.identity.device,
        )?;
        if reply.status == NOT_MODIFIED {
            return Ok(ConfigOutcome::Unchanged);
        }
        let response = match exchange::open_reply::<ConfigResponse>(
            Endpoint::Config,
            &reply,
            &certs.signing,
        ) {
            Ok(response) => response,
            Err(error @ (ExchangeError::Envelope { .. } | ExchangeError::Malformed { .. })) => {
                if matches!(
                    error,
                    ExchangeError::Envelope {
                        error: EnvelopeError::UnknownSender { .. },
                        ..
                    }
                ) {
                    // Signed with a certificate the node has not seen:
                    // the controller may have a new one.
                    self.certs = None;
                }
                return Ok(ConfigOutcome::Rejected(error.to_string()));
            }
            Err(error @ ExchangeError::Status { status, .. }) if REFUSED.contains(&status) => {
                // The controller no longer takes the integrity token:
                // attest again next round.
                self.integrity_token = None;
                return Err(error.into());
            }
            Err(error) => return Err(error.into()),
        };
        let good = match config::check(response, device, self.config.as_ref()) {
            Ok(good) => good,
            Err(error) => return Ok(ConfigOutcome::Rejected(error.to_string())),
        };
        let previous = self.config.as_ref().map(|good| &good.config);
        let orders = device_ops::new_orders(&good.config, previous);
        if orders
            .iter()
            .any(|order| order.command == DeviceCommand::Shutdown)
        {
            self.shut_down = true;
        }
        let wanted = if self.shut_down {
            device_ops::all_apps_halted(&good.config)
        } else {
            good.config.clone()
        };
        let (datastores, state) = (&self.datastores, &self.state);
        self.outcomes = partitions::apply(&wanted, previous, &mut self.partitions, &mut |image| {
            images::fetch(image, datastores.as_ref(), state)
        })?;
        self.note_failed_apps();
        // Kept before any order is carried out: after the reboot it
        // ordered, the config says the counter was seen.
        config::save(&self.state, &good)?;
        self.config = Some(good);
        for order in orders {
            self.note(
                Severity::Info,
                format!(
                    "{} {ORDERED} (counter {} -> {})",
                    order.command.name(),
                    order.from,
                    order.to
                ),
            );
            if order.command == DeviceCommand::Reboot {
                self.pending_reset = Some(ResetKind::Reboot);
            }
        }
        Ok(ConfigOutcome::New)
    }

    fn report(&mut self, device: &str) -> Result<(), RoundError> {
        for line in self.partitions.new_log_lines()? {
            self.log.push(Severity::Info, CORDON_SOURCE, line);
        }
        let node = self.partitions.node()?;
        let partitions = self.partitions.list()?;
        let facts = Facts {
            device,
            now: SystemTime::now(),
            node: &node,
            partitions: &partitions,
            config: self.config.as_ref().map(|good| &good.config),
            outcomes: &self.outcomes,
            storage: crate::host::storage_bytes(&self.state.path("")),
            device_key: &self.identity.device_key,
        };
        let mut infos = vec![reports::device_info(&facts)];
        infos.extend(reports::app_infos(&facts));
        for info in &infos {
            self.send(Endpoint::Info, device, info)?;
        }
        self.send(Endpoint::Metrics, device, &reports::metrics(&facts))?;
        if !self.log.is_empty() {
            let body = self.log.encode();
            let reply = exchange::post_bytes(
                &self.transport,
                Endpoint::NewLogs,
                device,
                body,
                &self.identity.device,
            )?;
            exchange::check_success(Endpoint::NewLogs, &reply)?;
            self.log.clear();
        }
        Ok(())
    }

    fn send(
        &self,
        endpoint: Endpoint,
        device: &str,
        message: &impl Message,
    ) -> Result<(), RoundError> {
        let reply = exchange::post(
            &self.transport,
            endpoint,
            device,
            message,
            &self.identity.device,
        )?;
        Ok(exchange::check_success(endpoint, &reply)?)
    }
}
