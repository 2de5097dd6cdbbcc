//! The reports the agent sends: device and per-app info (`ZInfoMsg`) and
//! metrics (`ZMetricMsg`), made from what cordon reports of the node and
//! its partitions.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cordon_eve::proto::config::EdgeDevConfig;
use cordon_eve::proto::info::{
    ErrorInfo, HwSecurityModuleStatus, ZDeviceState, ZInfoApp, ZInfoDevSw, ZInfoDevice, ZInfoMsg,
    ZInfoSw, ZInfoTypes, ZSwState, z_info_msg::InfoContent,
};
use cordon_eve::proto::metrics::{
    AppCpuMetric, AppMetric, DeviceMetric, MemoryMetric, ZMetricMsg, z_metric_msg::MetricContent,
};
use prost_types::Timestamp;

use crate::identity::KeyHolder;
use crate::partitions::{AppOutcome, Node, Partition, PartitionState, app_id, bound_partition};

/// Bytes in the mebibytes the EVE API counts memory and storage in.
const MIB: u64 = 1 << 20;
/// Name of cordon in the device's software list.
const CORDON_SOFTWARE: &str = "cordon";
/// Percent of a whole.
const PERCENT: f64 = 100.0;

/// What a report is made of.
pub struct Facts<'a> {
    pub device: &'a str,
    pub now: SystemTime,
    pub node: &'a Node,
    pub partitions: &'a [Partition],
    /// The config in force, if any, and what applying it did.
    pub config: Option<&'a EdgeDevConfig>,
    pub outcomes: &'a BTreeMap<String, AppOutcome>,
    /// Bytes of the management VM's persistent storage.
    pub storage: u64,
    pub device_key: &'a KeyHolder,
}

fn timestamp(time: SystemTime) -> Timestamp {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    Timestamp {
        seconds: i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(since_epoch.subsec_nanos()).unwrap_or(0),
    }
}

/// A duration as the metrics' `up_time` carries it: seconds since zero.
fn elapsed(nanos: u64) -> Timestamp {
    timestamp(UNIX_EPOCH + Duration::from_nanos(nanos))
}

fn boot_time(now: SystemTime, uptime_ns: u64) -> Timestamp {
    timestamp(
        now.checked_sub(Duration::from_nanos(uptime_ns))
            .unwrap_or(UNIX_EPOCH),
    )
}

fn mib(bytes: u64) -> u32 {
    u32::try_from(bytes / MIB).unwrap_or(u32::MAX)
}

/// The device's info.
pub fn device_info(facts: &Facts<'_>) -> ZInfoMsg {
    let node = facts.node;
    let cordon = ZInfoDevSw {
        activated: true,
        partition_label: CORDON_SOFTWARE.to_owned(),
        status: ZSwState::Running as i32,
        short_version: node.cordon_version.clone(),
        long_version: format!("{CORDON_SOFTWARE} {}", node.cordon_version),
        ..ZInfoDevSw::default()
    };
    let (hsm_status, hsm_info) = hsm(facts.device_key);
    let device = ZInfoDevice {
        machine_arch: std::env::consts::ARCH.to_owned(),
        cpu_arch: std::env::consts::ARCH.to_owned(),
        ncpu: node.cpus,
        memory: node.memory_total / MIB,
        storage: facts.storage / MIB,
        boot_time: Some(boot_time(facts.now, node.uptime_ns)),
        sw_list: vec![cordon],
        state: ZDeviceState::ZdeviceStateOnline as i32,
        hsm_status: hsm_status as i32,
        hsm_info,
        ..ZInfoDevice::default()
    };
    info_msg(facts, ZInfoTypes::ZiDevice, InfoContent::Dinfo(device))
}

/// The TPM as the device info reports it (`HSMStatus`, `HSMInfo`): used
/// when it holds the device key.
fn hsm(device_key: &KeyHolder) -> (HwSecurityModuleStatus, String) {
    match device_key {
        KeyHolder::Tpm {
            device,
            manufacturer,
        } => (
            HwSecurityModuleStatus::Enabled,
            format!("TPM 2.0 at {device}, made by {manufacturer}, holding the device key"),
        ),
        KeyHolder::Software {
            unused_tpm: Some(device),
        } => (
            HwSecurityModuleStatus::Disabled,
            format!("TPM 2.0 at {device}, not used: the device key was made before it was there"),
        ),
        KeyHolder::Software { unused_tpm: None } => {
            (HwSecurityModuleStatus::Notfound, String::new())
        }
    }
}

fn info_msg(facts: &Facts<'_>, ztype: ZInfoTypes, content: InfoContent) -> ZInfoMsg {
    ZInfoMsg {
        ztype: ztype as i32,
        dev_id: facts.device.to_owned(),
        at_time_stamp: Some(timestamp(facts.now)),
        info_content: Some(content),
    }
}

/// One info message per app of the config in force.
pub fn app_infos(facts: &Facts<'_>) -> Vec<ZInfoMsg> {
    let Some(config) = facts.config else {
        return Vec::new();
    };
    config
        .apps
        .iter()
        .map(|app| {
            let id = app_id(app);
            let partition = bound_partition(app, facts.partitions);
            let failure = match facts.outcomes.get(id) {
                Some(AppOutcome::Failed(error)) => Some(error.to_string()),
                _ if partition.is_none() => {
                    Some(format!("no partition named '{}'", app.displayname))
                }
                _ => None,
            };
            let state = match (partition.map(|partition| partition.state), &failure) {
                (_, Some(_)) | (Some(PartitionState::Error), None) | (None, None) => {
                    ZSwState::Error
                }
                (Some(PartitionState::Running), None) => ZSwState::Running,
                (Some(PartitionState::Halted), None) => ZSwState::Halted,
            };
            let info = ZInfoApp {
                app_id: id.to_owned(),
                app_name: app.displayname.clone(),
                state: state as i32,
                boot_time: partition
                    .filter(|partition| partition.state == PartitionState::Running)
                    .map(|partition| boot_time(facts.now, partition.uptime_ns)),
                software_list: partition
                    .and_then(|partition| partition.image_sha256.clone())
                    .map(|hash| ZInfoSw {
                        sw_hash: hash,
                        target: "kernel".to_owned(),
                        ..ZInfoSw::default()
                    })
                    .into_iter()
                    .collect(),
                app_err: failure
                    .map(|description| ErrorInfo {
                        description,
                        timestamp: Some(timestamp(facts.now)),
                        ..ErrorInfo::default()
                    })
                    .into_iter()
                    .collect(),
                ..ZInfoApp::default()
            };
            info_msg(facts, ZInfoTypes::ZiApp, InfoContent::Ainfo(info))
        })
        .collect()
}

fn memory(used: u64, total: u64) -> MemoryMetric {
    let available = total.saturating_sub(used);
    let share = |part: u64| {
        if total == 0 {
            0.0
        } else {
            part as f64 * PERCENT / total as f64
        }
    };
    MemoryMetric {
        used_mem: mib(used),
        avail_mem: mib(available),
        used_percentage: share(used),
        avail_percentage: share(available),
    }
}

/// The device's and each bound partition's metrics. A partition's vCPUs
/// run on physical CPUs of their own, so its CPU seconds are its uptime
/// times its vCPUs.
pub fn metrics(facts: &Facts<'_>) -> ZMetricMsg {
    let node = facts.node;
    let used = node.memory_total.saturating_sub(node.memory_free);
    let device = DeviceMetric {
        memory: Some(memory(used, node.memory_total)),
        cpu_metric: Some(AppCpuMetric {
            up_time: Some(elapsed(node.uptime_ns)),
            ..AppCpuMetric::default()
        }),
        ..DeviceMetric::default()
    };
    let apps = facts
        .config
        .map(|config| config.apps.as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(|app| {
            let partition = bound_partition(app, facts.partitions)?;
            let cpu_seconds =
                Duration::from_nanos(partition.uptime_ns).as_secs() * u64::from(partition.vcpus);
            Some(AppMetric {
                app_id: app_id(app).to_owned(),
                app_name: app.displayname.clone(),
                cpu: Some(AppCpuMetric {
                    up_time: Some(elapsed(partition.uptime_ns)),
                    total: cpu_seconds,
                    ..AppCpuMetric::default()
                }),
                memory: Some(memory(partition.memory, partition.memory)),
                ..AppMetric::default()
            })
        })
        .collect();
    ZMetricMsg {
        dev_id: facts.device.to_owned(),
        at_time_stamp: Some(timestamp(facts.now)),
        am: apps,
        metric_content: Some(MetricContent::Dm(device)),
        ..ZMetricMsg::default()
    }
}
