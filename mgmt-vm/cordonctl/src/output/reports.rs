//! The results of each command, as printed: built from cordon's answers,
//! serialized for `--json`, laid out for people.

use std::collections::BTreeMap;
use std::io::{self, Write};

use cordon_abi::{Event, ExitReason, HeaderInfo, Info, VmStatus};
use serde::Serialize;

use super::table::Table;
use super::{Report, units};

#[derive(Serialize, PartialEq, Debug)]
pub struct InfoReport {
    pub version: String,
    /// The management ABI's version, `major.minor`.
    pub abi: String,
    pub board: String,
    pub cpus: u32,
    pub vms: u32,
    pub memory_total: u64,
    pub memory_free: u64,
    pub uptime_ns: u64,
}

impl InfoReport {
    pub fn new(info: &Info<'_>, header: &HeaderInfo) -> Self {
        Self {
            version: info.version.to_owned(),
            abi: format!("{}.{}", header.version_major, header.version_minor),
            board: info.board.to_owned(),
            cpus: info.cpus,
            vms: info.vms,
            memory_total: info.memory_total,
            memory_free: info.memory_free,
            uptime_ns: info.uptime_ns,
        }
    }
}

impl Report for InfoReport {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut table = Table::new(&["cordon", &format!("{} (ABI {})", self.version, self.abi)]);
        table.row(vec!["board".into(), self.board.clone()]);
        table.row(vec!["CPUs".into(), self.cpus.to_string()]);
        table.row(vec!["VMs".into(), self.vms.to_string()]);
        let memory = format!(
            "{}, {} free",
            units::bytes(self.memory_total),
            units::bytes(self.memory_free)
        );
        table.row(vec!["memory".into(), memory]);
        table.row(vec!["uptime".into(), units::duration(self.uptime_ns)]);
        table.print(out)
    }
}

#[derive(Serialize, PartialEq, Debug)]
pub struct VmReport {
    pub name: String,
    pub state: &'static str,
    pub role: &'static str,
    pub vcpus: u32,
    /// Physical CPUs that run its vCPUs.
    pub cpus: Vec<u32>,
    pub memory: u64,
    pub restarts: u32,
    pub uptime_ns: u64,
    /// Exits by reason.
    pub exits: BTreeMap<&'static str, u64>,
    /// SHA-256 of the images it was last started from.
    pub kernel_sha256: Option<String>,
    pub initrd_sha256: Option<String>,
    /// Images were loaded and verified; the next start uses them.
    pub images_pending: bool,
}

impl From<&VmStatus<'_>> for VmReport {
    fn from(vm: &VmStatus<'_>) -> Self {
        Self {
            name: vm.name.to_owned(),
            state: vm.state.name(),
            role: if vm.management {
                "management"
            } else {
                "workload"
            },
            vcpus: vm.vcpus,
            cpus: units::cpu_list(vm.cpu_mask),
            memory: vm.memory,
            restarts: vm.restarts,
            uptime_ns: vm.uptime_ns,
            exits: ExitReason::ALL
                .into_iter()
                .map(|reason| (reason.name(), vm.exits.get(reason)))
                .collect(),
            kernel_sha256: vm.kernel_sha256.map(|digest| digest.to_string()),
            initrd_sha256: vm.initrd_sha256.map(|digest| digest.to_string()),
            images_pending: vm.images_pending,
        }
    }
}

/// `ListVms`: a table of the VMs, then each one's exits and images.
#[derive(Serialize, PartialEq, Debug)]
#[serde(transparent)]
pub struct VmsReport(pub Vec<VmReport>);

impl Report for VmsReport {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut table = Table::new(&[
            "NAME", "STATE", "ROLE", "VCPUS", "CPUS", "MEMORY", "RESTARTS", "UPTIME", "EXITS",
        ]);
        for vm in &self.0 {
            let uptime = match vm.uptime_ns {
                0 => "-".to_owned(),
                nanos => units::duration(nanos),
            };
            table.row(vec![
                vm.name.clone(),
                vm.state.to_owned(),
                vm.role.to_owned(),
                vm.vcpus.to_string(),
                units::cpus(&vm.cpus),
                units::bytes(vm.memory),
                vm.restarts.to_string(),
                uptime,
                vm.exits.values().sum::<u64>().to_string(),
            ]);
        }
        table.print(out)?;
        for vm in &self.0 {
            writeln!(out)?;
            let exits: Vec<String> = ExitReason::ALL
                .iter()
                .map(|reason| format!("{}={}", reason.name(), vm.exits[reason.name()]))
                .collect();
            writeln!(out, "{}: exits {}", vm.name, exits.join(" "))?;
            let images = [("kernel", &vm.kernel_sha256), ("initrd", &vm.initrd_sha256)];
            for (image, digest) in images {
                if let Some(digest) = digest {
                    writeln!(out, "{}: {image} sha256 {digest}", vm.name)?;
                }
            }
            if vm.images_pending {
                writeln!(out, "{}: new images loaded for its next start", vm.name)?;
            }
        }
        Ok(())
    }
}

/// `start`, `stop`, `restart` done.
#[derive(Serialize, PartialEq, Debug)]
pub struct ActionReport {
    pub vm: String,
    /// What was done: `started`, `stopped`, `restarted`.
    pub done: &'static str,
}

impl Report for ActionReport {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{} {}", self.vm, self.done)
    }
}

/// `reset-device` asked for.
#[derive(Serialize, PartialEq, Debug)]
pub struct ResetReport {
    /// `reboot` or `poweroff`.
    pub reset: &'static str,
}

impl Report for ResetReport {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "machine {} requested", self.reset)
    }
}

/// What a console or the log holds.
#[derive(Serialize, PartialEq, Debug)]
pub struct RingReport {
    /// The VM whose console it is; none for cordon's log.
    pub vm: Option<String>,
    /// The stream position of the first byte: cordon no longer has the
    /// bytes written before it.
    pub start: u64,
    /// As printed (invalid UTF-8 replaced).
    pub text: String,
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

impl Report for RingReport {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(&self.bytes)
    }
}

#[derive(Serialize, PartialEq, Debug)]
pub struct ImageReport {
    pub image: &'static str,
    pub path: String,
    pub size: u64,
    /// What cordon measured, equal to the expected.
    pub sha256: String,
}

#[derive(Serialize, PartialEq, Debug)]
pub struct LoadReport {
    pub vm: String,
    pub images: Vec<ImageReport>,
}

impl Report for LoadReport {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        for image in &self.images {
            writeln!(
                out,
                "{}: {} {} ({}) loaded, sha256 {} verified by cordon",
                self.vm,
                image.image,
                image.path,
                units::bytes(image.size),
                image.sha256
            )?;
        }
        Ok(())
    }
}

#[derive(Serialize, PartialEq, Debug)]
pub struct EventReport {
    pub sequence: u32,
    pub uptime_ns: u64,
    pub vm: String,
    pub state: &'static str,
    pub restarts: u32,
}

impl From<&Event<'_>> for EventReport {
    fn from(event: &Event<'_>) -> Self {
        Self {
            sequence: event.sequence,
            uptime_ns: event.uptime_ns,
            vm: event.vm.to_owned(),
            state: event.state.name(),
            restarts: event.restarts,
        }
    }
}

impl Report for EventReport {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "#{} at {}: {} {} (restarts {})",
            self.sequence,
            units::duration(self.uptime_ns),
            self.vm,
            self.state,
            self.restarts
        )
    }
}
