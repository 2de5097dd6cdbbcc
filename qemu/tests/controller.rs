//! The agent for an EVE API controller end to end: cordon boots the
//! management VM, which runs `cordon-agent`, beside a heartbeat workload
//! (`qemu/tests/configs/agent-and-heartbeat.toml`); the test controller
//! (`eve-test-controller`) serves HTTPS on the host's loopback, which the VM
//! reaches through QEMU's user networking. The node's provisioning (the
//! agent's settings, the controller's root CA, an onboarding certificate and
//! key), made afresh for each run, is on the VM's disk.
//!
//! The agent onboards; the controller's configs keep the workload running,
//! stop it, start it again and stop it, which cordon carries out through
//! its management interface; the controller holds the app's state after
//! each, the device's info, metrics and the logs (the agent's and
//! cordon's), and the app's logs: lines the workload printed on its
//! console. Then the node boots again on the same storage disk while the
//! controller is down: the agent puts the last good config back in force
//! on its own (cordon's partition config starts the workload; the agent
//! stops it), and once the controller is back the node reports as the
//! device it was, without registering again. The workload then runs an
//! image from the test's datastore, whose first line reaches the
//! controller as the app's log (and a config with a wrong SHA-256 for
//! it is refused for the app, the image running stays); the controller
//! orders a reboot (the machine resets, the node comes back and does not
//! reboot again) and a shutdown (every app halts).
//!
//! Run this through `cargo xtask test`, which builds the config and passes
//! the machine that boots it in the environment.

// Shared with the other boot tests; this one needs only the config's machine.
#[allow(dead_code)]
mod common;
mod node;

use std::sync::mpsc::{self, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use cordon_eve::cert::hex_sha256;
use cordon_eve::proto::config::{DeviceOpsCmd, EdgeDevConfig};
use cordon_eve::proto::info::z_info_msg::InfoContent;
use cordon_eve::proto::info::{ZInfoApp, ZSwState};
use cordon_qemu::config_machine::ConfigMachine;
use cordon_qemu::mgmt_vm::{AGENT_OPTION, STORAGE_OPTION, marker};
use cordon_qemu::{
    Expect, HarnessError, Pattern, Transcript, VIRT_STORAGE_TRANSPORT, boot_until, storage_disk,
};
use eve_test_controller::configs::{self, ImageSource};
use eve_test_controller::registry::{Registry, Reports};
use eve_test_controller::{Authority, TestController, TestDatastore};

use common::{config_machine, env_path};
use eve_test_controller::provisioning::onboarding_identity;
use node::{HOST_FROM_GUEST, Scratch, write_provisioning};

/// The config, and its VMs.
const CONFIG: &str = "agent-and-heartbeat";
const MGMT_VM: &str = "mgmt";
const WORKLOAD: &str = "beat";

/// The build of the workload's guest, labelled `replacement`, that the
/// datastore serves; where it serves it; and what that build prints first.
const REPLACEMENT_VAR: &str = "CORDON_GUEST_HOSTILE_REPLACEMENT";
const REPLACEMENT_PATH: &str = "images/hostile-replacement.bin";
const REPLACEMENT_BUILD: &str = "hostile: build replacement";
/// Not the replacement's SHA-256: the hash of these bytes.
const NOT_THE_IMAGE: &[u8] = b"not the image the datastore serves";

/// The node's serial number, and the app that drives the workload.
const SERIAL: &str = "cordon-qemu-node";
const APP_UUID: &str = "0f6e8a52-2f1d-4a8e-9a8e-6c1b9f0d2e41";
/// From power-on to the controller holding the node's first reports: cordon
/// and Linux boot, DHCP, and the agent's first round (TLS and signatures,
/// emulated) on a small, busy CI machine.
const ONBOARDING_DEADLINE: Duration = Duration::from_secs(240);
/// From a new config to the report of its outcome.
const CONFIG_DEADLINE: Duration = Duration::from_secs(90);
/// Longest the whole boot may take.
const BOOT_DEADLINE: Duration = Duration::from_secs(600);
/// From a reboot order to the node's reports after it: the machine resets,
/// cordon and Linux boot, DHCP, the agent's first round.
const REBOOT_DEADLINE: Duration = ONBOARDING_DEADLINE;
/// Infos (a device's and an app's each round) the node sends after it came
/// back from the reboot, in which it must not reboot again.
const INFOS_AFTER_REBOOT: usize = 6;
/// How often the controller's registry is looked at while waiting.
const POLL: Duration = Duration::from_millis(250);

/// What cordon says as it carries out the management interface's requests.
const STOP_REQUESTED: &str = "stop requested through the management interface";
const STARTED: &str = "started through the management interface";
/// What the heartbeat guest prints, then a number.
const HEARTBEAT: &str = "heartbeat ";
/// What the agent logs when it registered, when it put the kept config
/// back in force (`cordon_agent::agent::RESUMED`), and when a round failed.
const ONBOARDED: &str = "onboarded as device";
const RESUMED: &str = "last good config back in force";
const ROUND_FAILED: &str = "round failed";
/// What the agent logs when it carries out a device command
/// (`cordon_agent::agent::ORDERED`), after the command's name.
const ORDERED: &str = "ordered by the controller";
/// What cordon logs when the management VM asks it to reboot the machine,
/// and when it starts.
const REBOOT_REQUESTED: &str =
    "machine reboot requested by VM mgmt through the management interface";
const BANNER: &str = "on board qemu-virt, entered at EL2";
/// What Linux prints when it gives up, and cordon's errors and panics.
const KERNEL_PANIC: &str = "Kernel panic";
const CORDON_ERROR: &str = "ERROR]";
const CORDON_PANIC: &str = "panic on cpu";
/// What Linux prints when it finds the storage's file system inconsistent.
const FILE_SYSTEM_ERROR: &str = "EXT4-fs error";

/// The tag cordon puts before the console lines of VM `name`.
fn tag(name: &str) -> String {
    format!("[{name}] ")
}

/// The config that drives the workload: running when `activate`.
/// The device's reboot and shutdown counters in a config.
#[derive(Debug, Clone, Copy)]
struct Orders {
    reboots: u32,
    shutdowns: u32,
}

/// The counters of every config until the test orders a reboot: present
/// from the first config on, since the agent (as EVE) takes a counter it
/// sees for the first time as it is.
const NO_ORDERS: Orders = Orders {
    reboots: 0,
    shutdowns: 0,
};
/// The counters once the test ordered a reboot, and then a shutdown.
const REBOOTED: Orders = Orders {
    reboots: 1,
    shutdowns: 0,
};
const SHUT_DOWN: Orders = Orders {
    reboots: 1,
    shutdowns: 1,
};

/// The config that drives the workload: running when `activate`; the
/// device's counters as `orders` says.
fn config(activate: bool, orders: Orders) -> EdgeDevConfig {
    let command = |counter| {
        Some(DeviceOpsCmd {
            counter,
            ..DeviceOpsCmd::default()
        })
    };
    EdgeDevConfig {
        apps: vec![configs::app(APP_UUID, WORKLOAD, activate)],
        reboot: command(orders.reboots),
        shutdown: command(orders.shutdowns),
        ..EdgeDevConfig::default()
    }
}

/// A boot under way, and the controller it talks to.
struct Run<'a> {
    controller: &'a TestController,
    stop: Sender<()>,
    qemu: JoinHandle<Result<Transcript, HarnessError>>,
}

/// Has `controller` give the node `config`.
fn set_config(controller: &TestController, config: EdgeDevConfig) {
    controller
        .registry()
        .configs
        .insert(SERIAL.to_owned(), config);
}

impl<'a> Run<'a> {
    /// Boots `described`, watching its console as `expect` says, with
    /// `controller` on the host.
    fn boot(controller: &'a TestController, described: &ConfigMachine, expect: Expect) -> Self {
        let machine = described.machine();
        let (stop, told) = mpsc::channel();
        let qemu = thread::spawn(move || boot_until(&machine, &expect, &told));
        Self {
            controller,
            stop,
            qemu,
        }
    }

    fn set_config(&self, config: EdgeDevConfig) {
        set_config(self.controller, config);
    }

    /// Waits until `probe` finds what it looks for in the controller's
    /// registry; fails, with the console, if `deadline` passes or the boot
    /// ends first.
    fn wait_for<T>(
        self,
        what: &str,
        deadline: Duration,
        probe: impl Fn(&mut Registry) -> Option<T>,
    ) -> (Self, T) {
        let give_up = Instant::now() + deadline;
        loop {
            let found = probe(&mut self.controller.registry());
            if let Some(found) = found {
                return (self, found);
            }
            if self.qemu.is_finished() || Instant::now() >= give_up {
                let refusals = self.controller.registry().refusals.clone();
                let transcript = self.finish();
                panic!(
                    "the controller never saw {what} (refusals: {refusals:?}); \
                     boot: {}\n{transcript}",
                    transcript.ending()
                );
            }
            thread::sleep(POLL);
        }
    }

    /// Waits for the app's state in an app info of the node to be `state`:
    /// in the latest info, or with `since`, in an info after the first
    /// `since` infos.
    fn wait_for_app_state(self, device: &str, state: ZSwState, since: Option<usize>) -> Self {
        let what = format!("app {APP_UUID} {state:?} on device {device}");
        let (run, ()) = self.wait_for(&what, CONFIG_DEADLINE, |registry| {
            let reports = registry.reports.get(device)?;
            let reached = match since {
                None => reports.app_state(APP_UUID) == Some(state as i32),
                Some(since) => reports.infos.iter().skip(since).any(|info| {
                    matches!(&info.info_content,
                        Some(InfoContent::Ainfo(app))
                            if app.app_id == APP_UUID && app.state == state as i32)
                }),
            };
            reached.then_some(())
        });
        run
    }

    /// Stops the boot; returns what the console printed.
    fn finish(self) -> Transcript {
        // The boot may have ended by itself already.
        let _ = self.stop.send(());
        self.qemu
            .join()
            .expect("the boot's thread")
            .unwrap_or_else(|error| panic!("{error}"))
    }
}

/// Fails unless the boot went as expected.
fn assert_succeeded(transcript: &Transcript) {
    assert!(
        transcript.succeeded(),
        "boot failed: {}\n{transcript}",
        transcript.ending()
    );
}

/// What every boot of the node must not print.
fn expect_no_failure(expect: Expect) -> Expect {
    expect
        .forbid(marker::FAILED)
        .forbid(KERNEL_PANIC)
        .forbid(CORDON_ERROR)
        .forbid(CORDON_PANIC)
        .forbid(FILE_SYSTEM_ERROR)
}

/// Fails unless the app's log lines the controller holds are lines the
/// workload printed on its console (cordon shows them tagged with its name)
/// and some are heartbeats.
fn assert_app_logs_are_the_workload_console(app_logs: &[String], lines: &[&str]) {
    assert!(
        app_logs
            .iter()
            .any(|content| content.starts_with(HEARTBEAT)),
        "no heartbeat in the app's logs the controller holds: {app_logs:?}"
    );
    let tag = tag(WORKLOAD);
    for content in app_logs {
        assert!(
            lines
                .iter()
                .any(|line| line.contains(&tag) && line.contains(content.as_str())),
            "the app's log line {content:?} is no console line of {WORKLOAD}"
        );
    }
}

/// Where the first line with `text` after line `from` is in `lines`.
/// The console line where the workload first beat.
fn first_beat(lines: &[&str], transcript: &Transcript) -> usize {
    let beat = Pattern::line_with(&[&tag(WORKLOAD), HEARTBEAT]);
    lines
        .iter()
        .position(|line| beat.matches(line))
        .unwrap_or_else(|| panic!("{WORKLOAD} never beat\n{transcript}"))
}

fn position_after(lines: &[&str], from: usize, text: &str) -> Option<usize> {
    lines
        .iter()
        .skip(from)
        .position(|line| line.contains(text))
        .map(|at| at + from)
}

#[test]
fn controller_drives_a_node_that_keeps_its_state_across_boots() {
    let mut described = config_machine(CONFIG);
    let mgmt = described
        .vm(MGMT_VM)
        .unwrap_or_else(|| panic!("no VM {MGMT_VM:?} in {described:?}"));
    for option in [AGENT_OPTION, STORAGE_OPTION] {
        assert!(
            mgmt.modules
                .bootargs
                .split_whitespace()
                .any(|arg| arg.starts_with(option)),
            "VM {MGMT_VM:?} lacks {option}: {:?}",
            mgmt.modules.bootargs
        );
    }
    assert!(
        mgmt.modules.bootargs.contains(VIRT_STORAGE_TRANSPORT),
        "VM {MGMT_VM:?} is not given the storage disk: {:?}",
        mgmt.modules.bootargs
    );
    assert!(
        described.network,
        "no VM of {CONFIG} is given the network card"
    );

    let scratch = Scratch::new("controller");
    let (key, cert) = onboarding_identity();
    let authority = Authority::generate().expect("controller keys");
    let controller = TestController::start_https(authority, vec![cert.clone()], HOST_FROM_GUEST)
        .expect("test controller");
    let disk = scratch.0.join("provisioning.img");
    write_provisioning(&disk, &controller, SERIAL, &key, &cert);
    described.disk = Some(disk);
    // A fresh storage disk: an empty file system.
    let storage = scratch.0.join("storage.img");
    storage_disk::create(&storage).expect("storage disk");
    described.storage = Some(storage);

    let datastore = TestDatastore::start().expect("test datastore");
    let replacement = std::fs::read(env_path(REPLACEMENT_VAR)).expect("the replacement guest");
    datastore
        .store()
        .files
        .insert(REPLACEMENT_PATH.to_owned(), replacement.clone());

    let device = first_boot(&controller, &described);
    let second = SecondBoot {
        controller: &controller,
        described: &described,
        device: &device,
        datastore: &datastore,
        replacement: &replacement,
    };
    second.run();
}

/// The second boot and what it needs.
struct SecondBoot<'a> {
    controller: &'a TestController,
    described: &'a ConfigMachine,
    device: &'a str,
    datastore: &'a TestDatastore,
    /// The image the datastore serves.
    replacement: &'a [u8],
}

/// The first boot: the node onboards, the controller's configs keep the
/// workload running, stop it, start it and stop it again; returns the
/// device's UUID.
fn first_boot(controller: &TestController, described: &ConfigMachine) -> String {
    // The workload runs from boot; the first config keeps it running.
    set_config(controller, config(true, NO_ORDERS));
    let stop_requested = format!("VM {WORKLOAD}: {STOP_REQUESTED}");
    let stopped = format!("VM {WORKLOAD} stopped");
    let started = format!("VM {WORKLOAD}: {STARTED}");
    let expect = Expect::within(BOOT_DEADLINE)
        .line(marker::STORAGE_MOUNTED)
        .line(marker::AGENT_STARTING)
        .line(stop_requested.as_str())
        .line(stopped.as_str())
        .line(started.as_str());
    let run = Run::boot(controller, described, expect_no_failure(expect));

    let (run, device) = run.wait_for("the node registering", ONBOARDING_DEADLINE, |registry| {
        registry.devices.first().map(|device| device.uuid.clone())
    });
    let run = run.wait_for_app_state(&device, ZSwState::Running, None);
    run.set_config(config(false, NO_ORDERS));
    let run = run.wait_for_app_state(&device, ZSwState::Halted, None);
    run.set_config(config(true, NO_ORDERS));
    let run = run.wait_for_app_state(&device, ZSwState::Running, None);
    // The node's last good config stops the workload.
    run.set_config(config(false, NO_ORDERS));
    let run = run.wait_for_app_state(&device, ZSwState::Halted, None);

    let registry = controller.registry();
    assert_eq!(registry.devices.len(), 1, "registered once");
    assert_eq!(registry.devices[0].serial, SERIAL);
    assert!(registry.refusals.is_empty(), "{:?}", registry.refusals);
    let reports = &registry.reports[&device];
    let info = reports.device_info().expect("device info");
    let metrics_of_workload = reports
        .metrics
        .iter()
        .filter(|metrics| metrics.am.iter().any(|app| app.app_name == WORKLOAD))
        .count();
    let logs = reports.logs.clone();
    let app_logs = reports.app_log_contents(APP_UUID);
    drop(registry);
    let transcript = run.finish();
    assert_succeeded(&transcript);

    // What the node reported about itself matches what cordon said on the
    // console at boot.
    let cpus = described.cpus.expect("qemu-virt machines have a CPU count");
    assert_eq!(info.ncpu, cpus, "device info: {info:?}");
    let version = &info
        .sw_list
        .first()
        .unwrap_or_else(|| panic!("no software in the device info: {info:?}"))
        .short_version;
    assert!(
        transcript
            .lines()
            .any(|line| line.contains("cordon") && line.contains(version.as_str())),
        "cordon's version {version:?} is on no console line\n{transcript}"
    );
    assert!(
        metrics_of_workload > 0,
        "no metrics of {WORKLOAD} reached the controller"
    );
    for (source, text) in [("agent", ONBOARDED), ("cordon", stopped.as_str())] {
        assert!(
            logs.iter().any(|line| line.contains(text)),
            "the {source}'s {text:?} is not in the logs the controller holds: {logs:?}"
        );
    }

    // On the console: the workload beat, cordon stopped it on request,
    // then started it.
    let lines: Vec<&str> = transcript.lines().collect();
    assert_app_logs_are_the_workload_console(&app_logs, &lines);
    let first_beat = first_beat(&lines, &transcript);
    let requested = position_after(&lines, first_beat, &stop_requested)
        .unwrap_or_else(|| panic!("no stop of the beating {WORKLOAD}\n{transcript}"));
    let stopped_at = position_after(&lines, requested, &stopped)
        .unwrap_or_else(|| panic!("{WORKLOAD} did not stop after the request\n{transcript}"));
    assert!(
        position_after(&lines, stopped_at, &started).is_some(),
        "{WORKLOAD} did not start after it stopped\n{transcript}"
    );
    device
}

/// The second boot, on the same storage disk, with the controller down at
/// first: the agent stops the workload that cordon started, as the last
/// good config says, before it reaches the controller; once the controller
/// is back the node reports as the same device and does not register again.
/// Then the controller orders a reboot (the machine resets, the node comes
/// back as it was and does not reboot again) and a shutdown (every app
/// halts).
impl SecondBoot<'_> {
    fn run(&self) {
        let (controller, described, device) = (self.controller, self.described, self.device);
        let (infos_before, logs_before) = {
            let mut registry = controller.registry();
            registry.down = true;
            let reports = &registry.reports[device];
            (reports.infos.len(), reports.logs.len())
        };
        let stop_requested = format!("VM {WORKLOAD}: {STOP_REQUESTED}");
        let expect = Expect::within(BOOT_DEADLINE)
            .line(marker::STORAGE_MOUNTED)
            .line(marker::AGENT_STARTING)
            .line(Pattern::line_with(&[&tag(MGMT_VM), RESUMED]))
            .line(stop_requested.as_str())
            .line(REPLACEMENT_BUILD)
            .line(REBOOT_REQUESTED)
            .forbid(ONBOARDED);
        let run = Run::boot(controller, described, expect_no_failure(expect));

        // The agent tried the controller, so it has put the kept config back
        // in force (it does so before its first round).
        let (run, ()) = run.wait_for(
            "the node trying to reach it while down",
            ONBOARDING_DEADLINE,
            |registry| (registry.turned_away > 0).then_some(()),
        );
        run.controller.registry().down = false;
        let run = run.wait_for_app_state(device, ZSwState::Halted, Some(infos_before));
        // Logs go after the infos.
        let (run, ()) = run.wait_for("the second boot's logs", CONFIG_DEADLINE, |registry| {
            let logs = &registry.reports.get(device)?.logs;
            logs[logs_before..]
                .iter()
                .any(|line| line.contains(RESUMED))
                .then_some(())
        });

        {
            let registry = controller.registry();
            assert_eq!(
                registry
                    .devices
                    .iter()
                    .map(|known| known.uuid.as_str())
                    .collect::<Vec<_>>(),
                [device],
                "the node registered again"
            );
            assert!(registry.refusals.is_empty(), "{:?}", registry.refusals);
            // The kept config was in force before any round reached the
            // controller.
            let logs = &registry.reports[device].logs[logs_before..];
            let resumed = logs
                .iter()
                .position(|line| line.contains(RESUMED))
                .unwrap_or_else(|| panic!("no {RESUMED:?} in the second boot's logs: {logs:?}"));
            assert!(
                logs[resumed..]
                    .iter()
                    .any(|line| line.contains(ROUND_FAILED)),
                "no round failed after the config was back in force: {logs:?}"
            );
        }

        let run = self.run_images_from_the_datastore(run);
        let run = reboot_by_order(run, device);
        let run = shut_down_by_order(run, device);
        let transcript = run.finish();
        assert_succeeded(&transcript);

        // cordon started the workload, then the agent stopped it.
        let lines: Vec<&str> = transcript.lines().collect();
        let first_beat = first_beat(&lines, &transcript);
        assert!(
            position_after(&lines, first_beat, &stop_requested).is_some(),
            "the agent did not stop the beating {WORKLOAD}\n{transcript}"
        );
        // One reboot: cordon started twice, the second time after the request.
        let banners: Vec<usize> = lines
            .iter()
            .enumerate()
            .filter(|(_, line)| line.contains(BANNER))
            .map(|(at, _)| at)
            .collect();
        assert_eq!(banners.len(), 2, "cordon did not start twice\n{transcript}");
        let requested = lines
            .iter()
            .position(|line| line.contains(REBOOT_REQUESTED))
            .unwrap_or_else(|| panic!("no {REBOOT_REQUESTED:?}\n{transcript}"));
        assert!(
            banners[0] < requested && requested < banners[1],
            "the reset did not follow the request\n{transcript}"
        );
        // cordon started the workload from the downloaded image, measured.
        let sha256 = hex_sha256(self.replacement);
        let loaded = format!("VM {WORKLOAD}: starting from kernel sha256 {sha256} (loaded)");
        assert!(
            lines.iter().any(|line| line.contains(&loaded)),
            "no {loaded:?}\n{transcript}"
        );
        let build = Pattern::line_with(&[&tag(WORKLOAD), REPLACEMENT_BUILD]);
        assert!(
            lines.iter().any(|line| build.matches(line)),
            "{WORKLOAD} never ran the replacement\n{transcript}"
        );
    }

    /// The controller has the workload run the image the datastore serves,
    /// with its SHA-256: the agent downloads, checks and loads it, cordon
    /// measures it again and starts the workload from it. Then a config that
    /// claims another SHA-256 for the same file: refused for the app, reported
    /// as its error, and the image that runs stays.
    fn run_images_from_the_datastore<'a>(&self, run: Run<'a>) -> Run<'a> {
        let device = self.device;
        let url = self.datastore.url(HOST_FROM_GUEST);
        let sha256 = hex_sha256(self.replacement);
        let good = ImageSource {
            datastore: &url,
            path: REPLACEMENT_PATH,
            sha256: &sha256,
        };
        run.set_config(configs::with_image(config(true, NO_ORDERS), &good));
        let (run, ()) = run.wait_for(
            "the workload running the downloaded image",
            CONFIG_DEADLINE,
            |registry| {
                let app = latest_app_info(registry.reports.get(device)?)?;
                let hash = app.software_list.first()?.sw_hash.as_str();
                (app.state == ZSwState::Running as i32 && hash == sha256).then_some(())
            },
        );
        // What the downloaded build prints first reaches the controller as
        // the app's log.
        let (run, ()) = run.wait_for(
            "the replacement's first line in the app's logs",
            CONFIG_DEADLINE,
            |registry| {
                let app_logs = registry.reports.get(device)?.app_log_contents(APP_UUID);
                app_logs
                    .iter()
                    .any(|content| content == REPLACEMENT_BUILD)
                    .then_some(())
            },
        );

        let wrong = hex_sha256(NOT_THE_IMAGE);
        let bad = ImageSource {
            sha256: &wrong,
            ..good
        };
        run.set_config(configs::with_image(config(true, NO_ORDERS), &bad));
        let (run, app) = run.wait_for(
            "the wrong SHA-256 reported for the app",
            CONFIG_DEADLINE,
            |registry| {
                let app = latest_app_info(registry.reports.get(device)?)?;
                (app.state == ZSwState::Error as i32).then_some(app)
            },
        );
        let error = app
            .app_err
            .first()
            .map(|error| error.description.clone())
            .unwrap_or_default();
        assert!(
            error.contains(&wrong) && error.contains(&sha256),
            "the app's error does not name both hashes: {app:?}"
        );
        let running = app.software_list.first().map(|sw| sw.sw_hash.as_str());
        assert_eq!(
            running,
            Some(sha256.as_str()),
            "the image that ran changed: {app:?}"
        );
        assert_eq!(
            self.datastore.store().served,
            [REPLACEMENT_PATH, REPLACEMENT_PATH],
            "downloaded once for each config"
        );
        run
    }
}

/// The latest app info of the node.
fn latest_app_info(reports: &Reports) -> Option<ZInfoApp> {
    reports.latest(|content| match content {
        InfoContent::Ainfo(app) if app.app_id == APP_UUID => Some(app.clone()),
        _ => None,
    })
}

/// The controller orders a reboot: the agent says so in the logs it sends,
/// the machine resets, the agent comes back with its kept state and keeps
/// reporting, without rebooting again.
fn reboot_by_order<'a>(run: Run<'a>, device: &str) -> Run<'a> {
    let logs_before = run.controller.registry().reports[device].logs.len();
    run.set_config(config(false, REBOOTED));
    let ordered = format!("reboot {ORDERED}");
    let (run, ()) = run.wait_for(
        "the node coming back after the reboot",
        REBOOT_DEADLINE,
        |registry| {
            let logs = &registry.reports.get(device)?.logs[logs_before..];
            let reboot = logs.iter().position(|line| line.contains(&ordered))?;
            logs[reboot..]
                .iter()
                .any(|line| line.contains(RESUMED))
                .then_some(())
        },
    );
    let infos_back = run.controller.registry().reports[device].infos.len();
    let (run, ()) = run.wait_for("reports after the reboot", CONFIG_DEADLINE, |registry| {
        let infos = registry.reports.get(device)?.infos.len();
        (infos >= infos_back + INFOS_AFTER_REBOOT).then_some(())
    });
    run
}

/// The controller orders a shutdown: every app halts, though the config
/// wants the workload running.
fn shut_down_by_order<'a>(run: Run<'a>, device: &str) -> Run<'a> {
    run.set_config(config(true, REBOOTED));
    let run = run.wait_for_app_state(device, ZSwState::Running, None);
    run.set_config(config(true, SHUT_DOWN));
    let run = run.wait_for_app_state(device, ZSwState::Halted, None);
    let ordered = format!("shutdown {ORDERED}");
    let (run, ()) = run.wait_for("the shutdown in the logs", CONFIG_DEADLINE, |registry| {
        let logs = &registry.reports.get(device)?.logs;
        logs.iter()
            .any(|line| line.contains(&ordered))
            .then_some(())
    });
    run
}
