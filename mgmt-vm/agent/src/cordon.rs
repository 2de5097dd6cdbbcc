//! The agent's [`Partitions`] over cordon's management interface, through
//! cordonctl's client library. Only this file knows cordonctl.

use std::path::Path;

use cordon_abi::{Digest, Request, ResetKind, Response, VmState};
use cordon_agent::images::SHA256_LEN;
use cordon_agent::partitions::{Node, Partition, PartitionError, PartitionState, Partitions};
use cordonctl::cli::{ImageFile, Load};
use cordonctl::client::{Client, RESPONSE_TIMEOUT, SharedRegion};
use cordonctl::commands;
use cordonctl::device_tree::{self, PROC_DEVICE_TREE};
use cordonctl::devmem::DevMem;
use cordonctl::error::Error;

/// A line break in cordon's log.
const NEWLINE: u8 = b'\n';

pub struct Cordon<R> {
    client: Client<R>,
    /// Stream position of cordon's log up to which lines were given.
    log_seen: u64,
}

/// Cordon as found through the device tree and `/dev/mem`.
pub fn open() -> Result<Cordon<DevMem>, PartitionError> {
    let client = device_tree::find(Path::new(PROC_DEVICE_TREE))
        .and_then(DevMem::open)
        .and_then(|region| Client::new(region, RESPONSE_TIMEOUT))
        .map_err(failed)?;
    Ok(Cordon {
        client,
        log_seen: 0,
    })
}

fn failed(error: Error) -> PartitionError {
    PartitionError::Cordon(error.to_string())
}

impl<R: SharedRegion> Cordon<R> {
    fn act(&mut self, request: Request<'_>) -> Result<(), PartitionError> {
        self.client.call(&request).map(|_| ()).map_err(failed)
    }
}

impl<R: SharedRegion> Partitions for Cordon<R> {
    fn node(&mut self) -> Result<Node, PartitionError> {
        let info = commands::info(&mut self.client).map_err(failed)?;
        Ok(Node {
            cordon_version: info.version,
            cpus: info.cpus,
            memory_total: info.memory_total,
            memory_free: info.memory_free,
            uptime_ns: info.uptime_ns,
        })
    }

    fn list(&mut self) -> Result<Vec<Partition>, PartitionError> {
        match self.client.call(&Request::ListVms).map_err(failed)? {
            Response::Vms(vms) => Ok(vms
                .iter()
                .map(|vm| Partition {
                    name: vm.name.to_owned(),
                    state: match vm.state {
                        VmState::Running => PartitionState::Running,
                        VmState::Stopping | VmState::Stopped => PartitionState::Halted,
                    },
                    management: vm.management,
                    vcpus: vm.vcpus,
                    memory: vm.memory,
                    uptime_ns: vm.uptime_ns,
                    image_sha256: vm.kernel_sha256.map(|digest| digest.to_string()),
                })
                .collect()),
            _ => Err(PartitionError::Cordon(
                "cordon did not answer the VM list".to_owned(),
            )),
        }
    }

    fn start(&mut self, name: &str) -> Result<(), PartitionError> {
        self.act(Request::Start { vm: name })
    }

    fn stop(&mut self, name: &str) -> Result<(), PartitionError> {
        self.act(Request::Stop { vm: name })
    }

    fn restart(&mut self, name: &str) -> Result<(), PartitionError> {
        self.act(Request::Restart { vm: name })
    }

    fn load(
        &mut self,
        name: &str,
        kernel: &Path,
        sha256: &[u8; SHA256_LEN],
    ) -> Result<(), PartitionError> {
        let load = Load {
            vm: name.to_owned(),
            kernel: ImageFile {
                path: kernel.to_owned(),
                sha256: Some(Digest(*sha256)),
            },
            initrd: None,
        };
        commands::load(&mut self.client, &load)
            .map(|_| ())
            .map_err(failed)
    }

    fn reset_device(&mut self, kind: ResetKind) -> Result<(), PartitionError> {
        commands::reset_device(&mut self.client, kind)
            .map(|_| ())
            .map_err(failed)
    }

    /// Whole lines of cordon's log after those already given; an
    /// unfinished line waits for the next call.
    fn new_log_lines(&mut self) -> Result<Vec<String>, PartitionError> {
        let ring = commands::read_ring(&mut self.client, None).map_err(failed)?;
        let skip = usize::try_from(self.log_seen.saturating_sub(ring.start)).unwrap_or(usize::MAX);
        let fresh = ring.bytes.get(skip..).unwrap_or_default();
        let Some(last_newline) = fresh.iter().rposition(|byte| *byte == NEWLINE) else {
            return Ok(Vec::new());
        };
        let complete = &fresh[..=last_newline];
        self.log_seen = ring.start + (skip + complete.len()) as u64;
        Ok(String::from_utf8_lossy(complete)
            .lines()
            .map(str::to_owned)
            .collect())
    }
}
