//! `cordon-agent` against the test controller over loopback HTTPS: the whole
//! flow, a controller that goes down and comes back, a tampered config, and
//! what the controller refuses.

use std::cell::Cell;
use std::collections::{BTreeMap, VecDeque};
use std::io::{Cursor, Read};
use std::net::{IpAddr, Ipv4Addr};
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Duration;

use cordon_abi::ResetKind;
use cordon_agent::agent::{Agent, ConfigOutcome, ORDERED, Provisioning, RESUMED, RoundError};
use cordon_agent::backoff::Backoff;
use cordon_agent::exchange::ExchangeError;
use cordon_agent::identity::Identity;
use cordon_agent::images::{Datastores, SHA256_LEN};
use cordon_agent::partitions::{
    ConsoleChunk, Node, Partition, PartitionError, PartitionState, Partitions,
};
use cordon_agent::store::StateDir;
use cordon_agent::transport::{HttpDatastores, HttpTransport};
use cordon_agent::trust::TrustError;
use cordon_eve::cert::{Cert, hex, hex_sha256};
use cordon_eve::proto::config::{AppInstanceConfig, DeviceOpsCmd, EdgeDevConfig, InstanceOpsCmd};
use cordon_eve::proto::info::ZSwState;
use eve_test_controller::provisioning::OnboardingFiles;
use eve_test_controller::{Authority, TestController, TestDatastore, configs};

const SERIAL: &str = "node-1";
const CORDON_VERSION: &str = "0.1.0-test";
const WORKLOAD: &str = "web";
const APP_UUID: &str = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";
const INTERVAL: Duration = Duration::from_secs(60);
const MIB: u64 = 1 << 20;

/// Cordon as the agent sees it: a management VM and one workload.
struct FakeCordon {
    partitions: Vec<Partition>,
    /// What each partition printed, all of it kept.
    consoles: BTreeMap<String, Vec<u8>>,
    log: VecDeque<String>,
    actions: Vec<String>,
    /// The machine has no firmware to reset it with (a Raspberry Pi 4).
    no_reset: bool,
}

impl FakeCordon {
    fn new() -> Self {
        let partition = |name: &str, management| Partition {
            name: name.to_owned(),
            state: if management {
                PartitionState::Running
            } else {
                PartitionState::Halted
            },
            management,
            vcpus: 1,
            memory: 64 * MIB,
            uptime_ns: 0,
            image_sha256: Some("ab".repeat(32)),
        };
        Self {
            partitions: vec![partition("mgmt", true), partition(WORKLOAD, false)],
            consoles: BTreeMap::new(),
            log: VecDeque::from(["cordon: booted".to_owned()]),
            actions: Vec::new(),
            no_reset: false,
        }
    }

    fn set(
        &mut self,
        name: &str,
        state: PartitionState,
        action: &str,
    ) -> Result<(), PartitionError> {
        let partition = self
            .partitions
            .iter_mut()
            .find(|partition| partition.name == name)
            .ok_or_else(|| PartitionError::Unknown(name.to_owned()))?;
        partition.state = state;
        self.actions.push(format!("{action} {name}"));
        Ok(())
    }

    /// Partition `name` prints `text` on its console.
    fn print(&mut self, name: &str, text: &str) {
        self.consoles
            .entry(name.to_owned())
            .or_default()
            .extend_from_slice(text.as_bytes());
    }

    fn state(&self, name: &str) -> PartitionState {
        self.partitions
            .iter()
            .find(|partition| partition.name == name)
            .expect("partition")
            .state
    }
}

impl Partitions for FakeCordon {
    fn node(&mut self) -> Result<Node, PartitionError> {
        Ok(Node {
            cordon_version: CORDON_VERSION.to_owned(),
            cpus: 4,
            memory_total: 1024 * MIB,
            memory_free: 512 * MIB,
            uptime_ns: 5_000_000_000,
        })
    }

    fn list(&mut self) -> Result<Vec<Partition>, PartitionError> {
        Ok(self.partitions.clone())
    }

    fn start(&mut self, name: &str) -> Result<(), PartitionError> {
        self.set(name, PartitionState::Running, "start")
    }

    fn stop(&mut self, name: &str) -> Result<(), PartitionError> {
        self.set(name, PartitionState::Halted, "stop")
    }

    fn restart(&mut self, name: &str) -> Result<(), PartitionError> {
        self.set(name, PartitionState::Running, "restart")
    }

    fn load(
        &mut self,
        name: &str,
        kernel: &Path,
        sha256: &[u8; SHA256_LEN],
    ) -> Result<(), PartitionError> {
        let bytes =
            std::fs::read(kernel).map_err(|error| PartitionError::Cordon(error.to_string()))?;
        assert_eq!(
            hex_sha256(&bytes),
            hex(sha256),
            "cordon measures what it loads"
        );
        let partition = self
            .partitions
            .iter_mut()
            .find(|partition| partition.name == name)
            .ok_or_else(|| PartitionError::Unknown(name.to_owned()))?;
        partition.image_sha256 = Some(hex(sha256));
        self.actions.push(format!("load {name}"));
        Ok(())
    }

    fn read_console(&mut self, name: &str, position: u64) -> Result<ConsoleChunk, PartitionError> {
        let printed = self.consoles.get(name).map_or(&[][..], Vec::as_slice);
        let start = usize::try_from(position)
            .unwrap_or(usize::MAX)
            .min(printed.len());
        Ok(ConsoleChunk {
            start: start as u64,
            end: printed.len() as u64,
            bytes: printed[start..].to_vec(),
        })
    }

    fn new_log_lines(&mut self) -> Result<Vec<String>, PartitionError> {
        Ok(self.log.drain(..).collect())
    }

    fn reset_device(&mut self, kind: ResetKind) -> Result<(), PartitionError> {
        if self.no_reset {
            return Err(PartitionError::Cordon("Unsupported".to_owned()));
        }
        self.actions.push(kind.name().to_owned());
        Ok(())
    }
}

/// Datastores as a map from URL to content.
#[derive(Default)]
struct FakeDatastore(BTreeMap<String, Vec<u8>>);

impl Datastores for FakeDatastore {
    fn open(&self, url: &str) -> Result<Box<dyn Read>, String> {
        let content = self.0.get(url).ok_or_else(|| format!("no {url}"))?;
        Ok(Box::new(Cursor::new(content.clone())))
    }
}

/// A node's provisioned files and state directory, in a scratch folder.
struct Provisioned {
    files: OnboardingFiles,
}

impl Provisioned {
    fn new(test: &str) -> Self {
        Self {
            files: OnboardingFiles::create(&format!("agent-flow-{test}")),
        }
    }

    /// An agent as the node starts it: from its files and state.
    fn agent(&self, controller: &TestController, root: &Cert) -> Agent<HttpTransport, FakeCordon> {
        self.agent_with_datastore(controller, root, FakeDatastore::default())
    }

    fn agent_with_datastore(
        &self,
        controller: &TestController,
        root: &Cert,
        datastore: impl Datastores + 'static,
    ) -> Agent<HttpTransport, FakeCordon> {
        let state = StateDir::open(&self.files.dir.join("state")).expect("state");
        let identity = Identity::load_or_create(
            &self.files.cert_path(),
            &self.files.key_path(),
            SERIAL,
            &state,
            None,
        )
        .expect("identity");
        let transport =
            HttpTransport::new(&controller.url(), root.pem().as_bytes()).expect("transport");
        let provisioning = Provisioning {
            identity,
            root: root.clone(),
            serial: SERIAL.to_owned(),
        };
        let datastore = Box::new(datastore);
        Agent::new(transport, datastore, FakeCordon::new(), provisioning, state).expect("agent")
    }
}

/// A controller serving HTTPS on loopback that accepts `node`.
fn controller_for(node: &Provisioned) -> TestController {
    let authority = Authority::generate().expect("authority");
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    TestController::start_https(authority, vec![node.files.cert.clone()], loopback)
        .expect("controller")
}

fn set_config(controller: &TestController, config: EdgeDevConfig) {
    controller
        .registry()
        .configs
        .insert(SERIAL.to_owned(), config);
}

/// A provisioned node, a controller that accepts it with `config` set for
/// it, and the root CA the node trusts.
fn scenario(test: &str, config: EdgeDevConfig) -> (Provisioned, TestController, Cert) {
    let node = Provisioned::new(test);
    let controller = controller_for(&node);
    set_config(&controller, config);
    let root = controller.authority().root.clone();
    (node, controller, root)
}

fn config(activate: bool, restarts: u32) -> EdgeDevConfig {
    EdgeDevConfig {
        apps: vec![AppInstanceConfig {
            restart: Some(cordon_eve::proto::config::InstanceOpsCmd {
                counter: restarts,
                ..Default::default()
            }),
            ..configs::app(APP_UUID, WORKLOAD, activate)
        }],
        ..EdgeDevConfig::default()
    }
}

/// The state of the app in the last app info the controller holds.
fn last_app_state(controller: &TestController, device: &str) -> Option<i32> {
    controller
        .registry()
        .reports
        .get(device)?
        .app_state(APP_UUID)
}

#[test]
fn node_onboards_applies_its_config_and_reports() {
    let (node, controller, root) = scenario("happy", config(true, 0));
    let mut agent = node.agent(&controller, &root);

    assert_eq!(agent.round().expect("first round"), ConfigOutcome::New);
    let device = agent.device().expect("device uuid").to_owned();
    assert_eq!(agent.partitions().state(WORKLOAD), PartitionState::Running);
    assert_eq!(
        last_app_state(&controller, &device),
        Some(ZSwState::Running as i32)
    );
    {
        let registry = controller.registry();
        let reports = &registry.reports[&device];
        let device_info = reports.device_info().expect("device info");
        assert_eq!(device_info.ncpu, 4);
        assert_eq!(device_info.sw_list[0].short_version, CORDON_VERSION);
        assert_eq!(reports.metrics.len(), 1);
        assert_eq!(reports.metrics[0].am[0].app_name, WORKLOAD);
        assert!(
            reports
                .logs
                .iter()
                .any(|line| line.contains("cordon: booted"))
        );
        assert!(
            reports
                .logs
                .iter()
                .any(|line| line.contains("onboarded as device"))
        );
        assert!(registry.refusals.is_empty(), "{:?}", registry.refusals);
    }

    assert_eq!(
        agent.round().expect("second round"),
        ConfigOutcome::Unchanged
    );

    set_config(&controller, config(false, 0));
    assert_eq!(agent.round().expect("third round"), ConfigOutcome::New);
    assert_eq!(agent.partitions().state(WORKLOAD), PartitionState::Halted);
    assert_eq!(
        last_app_state(&controller, &device),
        Some(ZSwState::Halted as i32)
    );
}

/// The contents of the app's log lines the controller holds.
fn app_log_contents(controller: &TestController, device: &str) -> Vec<String> {
    controller
        .registry()
        .reports
        .get(device)
        .map(|reports| reports.app_log_contents(APP_UUID))
        .unwrap_or_default()
}

#[test]
fn what_an_app_prints_reaches_the_controller_once_across_agent_restarts() {
    let (node, controller, root) = scenario("app-logs", config(true, 0));
    let mut first = node.agent(&controller, &root);
    first
        .partitions_mut()
        .print(WORKLOAD, "booting\nready\nunfini");
    first.round().expect("first round");
    let device = first.device().expect("device").to_owned();
    assert_eq!(app_log_contents(&controller, &device), ["booting", "ready"]);
    drop(first);

    // The agent starts again; cordon (and what it keeps) is the same.
    let mut second = node.agent(&controller, &root);
    second
        .partitions_mut()
        .print(WORKLOAD, "booting\nready\nunfinished\nlater\n");
    second.round().expect("second round");
    assert_eq!(
        app_log_contents(&controller, &device),
        ["booting", "ready", "unfinished", "later"]
    );
    assert!(controller.registry().refusals.is_empty());
}

#[test]
fn app_logs_the_controller_refuses_wait_for_the_next_round() {
    let (node, controller, root) = scenario("app-logs-refused", config(true, 0));
    let mut agent = node.agent(&controller, &root);
    agent.round().expect("first round");
    let device = agent.device().expect("device").to_owned();

    // The controller forgets the app, and the config saying so is tampered
    // with on the way: the agent keeps the app, the controller refuses its
    // logs.
    set_config(&controller, EdgeDevConfig::default());
    controller.registry().tamper_next_config = true;
    agent.partitions_mut().print(WORKLOAD, "refused at first\n");
    assert!(matches!(
        agent.round().expect("round"),
        ConfigOutcome::Rejected(_)
    ));
    assert!(app_log_contents(&controller, &device).is_empty());
    assert!(
        controller
            .registry()
            .refusals
            .iter()
            .any(|refusal| refusal.contains("has no app")),
        "{:?}",
        controller.registry().refusals
    );
    let logs = controller.registry().reports[&device].logs.clone();
    assert!(
        logs.iter()
            .any(|line| line.contains("kept for the next round") && line.contains("404")),
        "{logs:?}"
    );

    set_config(&controller, config(true, 0));
    agent.partitions_mut().print(WORKLOAD, "then taken\n");
    assert_eq!(agent.round().expect("round"), ConfigOutcome::Unchanged);
    assert_eq!(
        app_log_contents(&controller, &device),
        ["refused at first", "then taken"]
    );
}

#[test]
fn restart_counter_going_up_restarts_the_partition() {
    let (node, controller, root) = scenario("restart", config(true, 1));
    let mut agent = node.agent(&controller, &root);
    agent.round().expect("first round");
    set_config(&controller, config(true, 2));
    agent.round().expect("second round");
    assert_eq!(agent.partitions().actions, ["start web", "restart web"]);
}

#[test]
fn node_keeps_its_identity_and_config_across_restarts() {
    let (node, controller, root) = scenario("persist", config(true, 0));
    let mut first = node.agent(&controller, &root);
    first.round().expect("first run");
    let config = first.config().cloned().expect("config");
    drop(first);

    let mut second = node.agent(&controller, &root);
    assert_eq!(second.config(), Some(&config));
    assert_eq!(
        second.round().expect("second run"),
        ConfigOutcome::Unchanged
    );
    assert_eq!(controller.registry().devices.len(), 1);
}

#[test]
fn kept_config_is_back_in_force_at_start_while_the_controller_is_down() {
    let (node, controller, root) = scenario("resume", config(true, 1));
    let mut first = node.agent(&controller, &root);
    first.round().expect("first run");
    assert_eq!(first.partitions().actions, ["start web"]);
    drop(first);

    // The node boots again: cordon starts nothing the controller asked for.
    controller.registry().down = true;
    let mut second = node.agent(&controller, &root);
    assert_eq!(second.partitions().state(WORKLOAD), PartitionState::Halted);
    second.resume();
    assert_eq!(second.partitions().state(WORKLOAD), PartitionState::Running);
    // The restart counter was carried out before; it is not again.
    assert_eq!(second.partitions().actions, ["start web"]);
    assert!(second.round().is_err(), "the controller is down");
    assert_eq!(second.partitions().state(WORKLOAD), PartitionState::Running);
    assert!(controller.registry().turned_away > 0, "the node tried");

    controller.registry().down = false;
    assert_eq!(second.round().expect("round"), ConfigOutcome::Unchanged);
    let device = second.device().expect("device").to_owned();
    let registry = controller.registry();
    assert_eq!(registry.devices.len(), 1, "registered once");
    let logs = &registry.reports[&device].logs;
    assert!(logs.iter().any(|line| line.contains(RESUMED)), "{logs:?}");
}

#[test]
fn a_node_without_a_kept_config_resumes_nothing() {
    let (node, controller, root) = scenario("fresh", config(true, 0));
    let mut agent = node.agent(&controller, &root);
    agent.resume();
    assert!(agent.partitions().actions.is_empty());
}

/// [`config`] with the device's reboot and shutdown counters.
fn config_with_orders(activate: bool, reboots: u32, shutdowns: u32) -> EdgeDevConfig {
    let command = |counter| {
        Some(DeviceOpsCmd {
            counter,
            ..DeviceOpsCmd::default()
        })
    };
    EdgeDevConfig {
        reboot: command(reboots),
        shutdown: command(shutdowns),
        ..config(activate, 0)
    }
}

#[test]
fn a_new_reboot_counter_reboots_once_after_reporting() {
    let (node, controller, root) = scenario("reboot", config_with_orders(true, 5, 0));
    let mut agent = node.agent(&controller, &root);
    agent.round().expect("first round");
    // A counter seen first is taken as it is.
    assert_eq!(agent.partitions().actions, ["start web"]);

    set_config(&controller, config_with_orders(true, 6, 0));
    assert_eq!(agent.round().expect("reboot round"), ConfigOutcome::New);
    assert_eq!(agent.partitions().actions, ["start web", "reboot"]);
    let device = agent.device().expect("device").to_owned();
    let logs = controller.registry().reports[&device].logs.clone();
    assert!(
        logs.iter()
            .any(|line| line.contains(&format!("reboot {ORDERED} (counter 5 -> 6)"))),
        "reported before the reboot: {logs:?}"
    );
    assert_eq!(agent.round().expect("round"), ConfigOutcome::Unchanged);
    drop(agent);

    // After the reboot: the same config, the same counter: no reboot.
    let mut again = node.agent(&controller, &root);
    again.resume();
    assert_eq!(again.round().expect("round"), ConfigOutcome::Unchanged);
    assert_eq!(again.partitions().actions, ["start web"]);
}

#[test]
fn a_reboot_cordon_cannot_carry_out_is_reported_and_not_retried() {
    let (node, controller, root) = scenario("no-reboot", config_with_orders(true, 0, 0));
    let mut agent = node.agent(&controller, &root);
    agent.round().expect("first round");
    set_config(&controller, config_with_orders(true, 1, 0));
    // Nothing can reset the machine.
    agent.partitions_mut().no_reset = true;
    agent.round().expect("round");
    agent.round().expect("round");
    let device = agent.device().expect("device").to_owned();
    let logs = controller.registry().reports[&device].logs.clone();
    let failures = logs
        .iter()
        .filter(|line| line.contains("cannot reboot the node"))
        .count();
    assert_eq!(failures, 1, "{logs:?}");
    assert_eq!(agent.partitions().actions, ["start web"]);
}

#[test]
fn a_new_shutdown_counter_halts_every_app_until_the_next_boot() {
    let (node, controller, root) = scenario("shutdown", config_with_orders(true, 0, 0));
    let mut agent = node.agent(&controller, &root);
    agent.round().expect("first round");
    set_config(&controller, config_with_orders(true, 0, 1));
    agent.round().expect("shutdown round");
    assert_eq!(agent.partitions().state(WORKLOAD), PartitionState::Halted);
    let device = agent.device().expect("device").to_owned();
    assert_eq!(
        last_app_state(&controller, &device),
        Some(ZSwState::Halted as i32)
    );
    // A later config that wants the app running does not start it.
    set_config(&controller, config_with_orders(false, 0, 1));
    agent.round().expect("round");
    set_config(&controller, config_with_orders(true, 0, 1));
    assert_eq!(agent.round().expect("round"), ConfigOutcome::New);
    assert_eq!(agent.partitions().state(WORKLOAD), PartitionState::Halted);
    assert!(!agent.partitions().actions.iter().any(|a| a == "reboot"));
    drop(agent);

    // The next boot runs the config as it is.
    let mut again = node.agent(&controller, &root);
    again.resume();
    assert_eq!(again.partitions().state(WORKLOAD), PartitionState::Running);
}

#[test]
fn agent_recovers_when_the_controller_comes_back() {
    let (node, mut controller, root) = scenario("recover", config(true, 0));
    let mut agent = node.agent(&controller, &root);
    controller.stop();

    const FAILURES_BEFORE_RESUME: usize = 3;
    let first = Duration::from_secs(1);
    let mut backoff = Backoff::new(first, Duration::from_secs(8));
    let mut waits = Vec::new();
    let controller_cell = Cell::new(Some(controller));
    agent.run(INTERVAL, &mut backoff, |wait| {
        waits.push(wait);
        if waits.len() == FAILURES_BEFORE_RESUME {
            let mut controller = controller_cell.take().expect("controller");
            controller.resume().expect("controller listens again");
            controller_cell.set(Some(controller));
        }
        if wait == INTERVAL {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    let controller = controller_cell.take().expect("controller");

    assert_eq!(waits.len(), FAILURES_BEFORE_RESUME + 1);
    for (failure, wait) in waits[..FAILURES_BEFORE_RESUME].iter().enumerate() {
        let ceiling = first * (1 << failure);
        assert!(
            *wait >= ceiling / 2 && *wait <= ceiling,
            "wait {wait:?} after failure {failure}"
        );
    }
    let device = agent.device().expect("onboarded after recovery").to_owned();
    assert_eq!(agent.partitions().state(WORKLOAD), PartitionState::Running);
    let registry = controller.registry();
    let logs = &registry.reports[&device].logs;
    assert!(
        logs.iter().any(|line| line.contains("round failed")),
        "{logs:?}"
    );
}

#[test]
fn tampered_config_is_rejected_and_the_old_one_stays() {
    let (node, controller, root) = scenario("tamper", config(true, 0));
    let mut agent = node.agent(&controller, &root);
    agent.round().expect("first round");
    let good = agent.config().cloned().expect("config");

    {
        let mut registry = controller.registry();
        registry.configs.insert(SERIAL.to_owned(), config(false, 0));
        registry.tamper_next_config = true;
    }
    let outcome = agent.round().expect("round with a tampered config");
    let ConfigOutcome::Rejected(reason) = outcome else {
        panic!("tampered config accepted: {outcome:?}");
    };
    assert!(reason.contains("signature"), "{reason}");
    assert_eq!(agent.config(), Some(&good));
    assert_eq!(agent.partitions().state(WORKLOAD), PartitionState::Running);
    let device = agent.device().expect("device").to_owned();
    assert!(
        controller.registry().reports[&device]
            .logs
            .iter()
            .any(|line| line.contains("config rejected")),
        "rejection reported"
    );
    drop(agent);
    let restarted = node.agent(&controller, &root);
    assert_eq!(
        restarted.config(),
        Some(&good),
        "stored config is the old one"
    );
}

#[test]
fn controller_refuses_an_unknown_onboarding_certificate() {
    let node = Provisioned::new("unknown-onboarding");
    let other = Provisioned::new("unknown-onboarding-other");
    let controller = controller_for(&other);
    let root = controller.authority().root.clone();
    let mut agent = node.agent(&controller, &root);
    let error = agent.round().expect_err("registration refused");
    assert!(
        matches!(
            error,
            RoundError::Exchange(ExchangeError::Status { status: 401, .. })
        ),
        "{error}"
    );
    assert_eq!(
        controller.registry().refusals,
        ["Register: unknown onboarding certificate"]
    );
    assert!(controller.registry().devices.is_empty());
}

#[test]
fn agent_refuses_a_controller_that_does_not_chain_to_its_root() {
    let node = Provisioned::new("rogue");
    // Plain HTTP, so that the EVE API's own certificate check, not TLS,
    // is what refuses the controller.
    let authority = Authority::generate().expect("authority");
    let controller =
        TestController::start(authority, vec![node.files.cert.clone()]).expect("controller");
    let provisioned_root = Authority::generate().expect("authority").root;
    let mut agent = node.agent(&controller, &provisioned_root);
    let error = agent.round().expect_err("rogue controller refused");
    assert!(
        matches!(
            error,
            RoundError::Exchange(ExchangeError::Trust(TrustError::Chain(_)))
        ),
        "{error}"
    );
    assert!(
        controller.registry().devices.is_empty(),
        "nothing was registered"
    );
}

#[test]
fn agent_attests_again_when_the_controller_refuses_its_token() {
    let (node, controller, root) = scenario("reattest", config(true, 0));
    let mut agent = node.agent(&controller, &root);
    agent.round().expect("first round");
    controller.registry().devices[0].integrity_token = Some(b"forgotten".to_vec());
    let error = agent.round().expect_err("token refused");
    assert!(
        matches!(
            error,
            RoundError::Exchange(ExchangeError::Status { status: 403, .. })
        ),
        "{error}"
    );
    assert_eq!(
        agent.round().expect("round after attesting again"),
        ConfigOutcome::Unchanged
    );
}

#[test]
fn app_naming_no_workload_partition_is_reported_in_error() {
    let mut unbound = config(true, 0);
    // The management VM's partition is never bound.
    unbound.apps[0].displayname = "mgmt".to_owned();
    let (node, controller, root) = scenario("unbound", unbound);
    let mut agent = node.agent(&controller, &root);
    agent.round().expect("round");
    let device = agent.device().expect("device").to_owned();
    assert_eq!(
        last_app_state(&controller, &device),
        Some(ZSwState::Error as i32)
    );
    assert!(agent.partitions().actions.is_empty());
}

const DATASTORE_URL: &str = "http://datastore.example";
const IMAGE_PATH: &str = "images/web.img";
const IMAGE: &[u8] = b"a workload kernel";

/// `config(true, 0)` whose app runs the image at [`IMAGE_PATH`], said to
/// have the SHA-256 of `claimed`, with the purge counter at `purges`.
fn config_with_image(claimed: &[u8], purges: u32) -> EdgeDevConfig {
    let mut config = config(true, 0);
    config.apps[0].purge = Some(InstanceOpsCmd {
        counter: purges,
        ..InstanceOpsCmd::default()
    });
    let source = configs::ImageSource {
        datastore: DATASTORE_URL,
        path: IMAGE_PATH,
        sha256: &hex_sha256(claimed),
    };
    configs::with_image(config, &source)
}

fn datastore_with_image() -> FakeDatastore {
    let url = format!("{DATASTORE_URL}/{IMAGE_PATH}");
    FakeDatastore(BTreeMap::from([(url, IMAGE.to_vec())]))
}

#[test]
fn image_from_the_datastore_is_checked_loaded_and_run() {
    let (node, controller, root) = scenario("image", config_with_image(IMAGE, 0));
    let mut agent = node.agent_with_datastore(&controller, &root, datastore_with_image());
    assert_eq!(agent.round().expect("round"), ConfigOutcome::New);
    assert_eq!(agent.partitions().actions, ["load web", "start web"]);
    let device = agent.device().expect("device").to_owned();
    assert_eq!(
        last_app_state(&controller, &device),
        Some(ZSwState::Running as i32)
    );

    set_config(&controller, config_with_image(IMAGE, 1));
    assert_eq!(agent.round().expect("purge round"), ConfigOutcome::New);
    assert_eq!(
        agent.partitions().actions,
        ["load web", "start web", "load web", "restart web"]
    );
}

#[test]
fn image_from_an_http_datastore_is_downloaded_once_and_kept() {
    let datastore = TestDatastore::start().expect("datastore");
    datastore
        .store()
        .files
        .insert(IMAGE_PATH.to_owned(), IMAGE.to_vec());
    let url = datastore.url(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let source = configs::ImageSource {
        datastore: &url,
        path: IMAGE_PATH,
        sha256: &hex_sha256(IMAGE),
    };
    let running = configs::with_image(config(true, 0), &source);
    let (node, controller, root) = scenario("http-image", running.clone());
    let mut agent = node.agent_with_datastore(&controller, &root, HttpDatastores::default());
    assert_eq!(agent.round().expect("round"), ConfigOutcome::New);
    assert_eq!(agent.partitions().actions, ["load web", "start web"]);
    assert_eq!(datastore.store().served, [IMAGE_PATH]);

    // Another config with the same image: it is not downloaded again.
    set_config(&controller, configs::with_image(config(false, 0), &source));
    agent.round().expect("round");
    set_config(&controller, running);
    agent.round().expect("round");
    assert_eq!(datastore.store().served, [IMAGE_PATH]);
}

#[test]
fn image_whose_sha256_is_not_the_configs_is_not_run() {
    let (node, controller, root) = scenario("bad-image", config_with_image(b"another kernel", 0));
    let mut agent = node.agent_with_datastore(&controller, &root, datastore_with_image());
    assert_eq!(agent.round().expect("round"), ConfigOutcome::New);
    assert!(
        agent.partitions().actions.is_empty(),
        "{:?}",
        agent.partitions().actions
    );
    let device = agent.device().expect("device").to_owned();
    assert_eq!(
        last_app_state(&controller, &device),
        Some(ZSwState::Error as i32)
    );
    let registry = controller.registry();
    let logs = &registry.reports[&device].logs;
    assert!(logs.iter().any(|line| line.contains("SHA-256")), "{logs:?}");
    let kept = std::fs::read_dir(node.files.dir.join("state"))
        .expect("state directory")
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("image-"))
        .count();
    assert_eq!(kept, 0, "the bad image is not kept");
}
