//! A fake cordon for the unit tests: partitions whose consoles keep the end
//! of what was written, as cordon's rings do; nothing else is faked.

use std::collections::BTreeMap;
use std::path::Path;

use cordon_abi::ResetKind;

use crate::images::SHA256_LEN;
use crate::partitions::{ConsoleChunk, Node, Partition, PartitionError, Partitions};

/// One console: everything written, of which the last `kept` bytes can be
/// read, at most `answer` bytes an answer.
#[derive(Debug, Clone, Default)]
pub struct Console {
    written: Vec<u8>,
    kept: usize,
    answer: usize,
}

/// Partitions with consoles, by name.
#[derive(Debug, Clone, Default)]
pub struct FakeConsoles(pub BTreeMap<String, Console>);

impl FakeConsoles {
    /// One partition, `vm`, with a console.
    pub fn one(kept: usize, answer: usize) -> Self {
        let mut consoles = Self::default();
        consoles.add("vm", kept, answer);
        consoles
    }

    pub fn add(&mut self, name: &str, kept: usize, answer: usize) {
        self.0.insert(
            name.to_owned(),
            Console {
                written: Vec::new(),
                kept,
                answer,
            },
        );
    }

    pub fn write(&mut self, name: &str, bytes: &[u8]) {
        self.0
            .get_mut(name)
            .expect("a faked console")
            .written
            .extend_from_slice(bytes);
    }

    /// Cordon started again: every console is empty.
    pub fn restart(&mut self) {
        for console in self.0.values_mut() {
            console.written.clear();
        }
    }
}

fn not_faked() -> PartitionError {
    PartitionError::Cordon("not faked".to_owned())
}

impl Partitions for FakeConsoles {
    fn node(&mut self) -> Result<Node, PartitionError> {
        Err(not_faked())
    }

    fn list(&mut self) -> Result<Vec<Partition>, PartitionError> {
        Err(not_faked())
    }

    fn start(&mut self, _: &str) -> Result<(), PartitionError> {
        Err(not_faked())
    }

    fn stop(&mut self, _: &str) -> Result<(), PartitionError> {
        Err(not_faked())
    }

    fn restart(&mut self, _: &str) -> Result<(), PartitionError> {
        Err(not_faked())
    }

    fn load(&mut self, _: &str, _: &Path, _: &[u8; SHA256_LEN]) -> Result<(), PartitionError> {
        Err(not_faked())
    }

    fn read_console(&mut self, name: &str, position: u64) -> Result<ConsoleChunk, PartitionError> {
        let console = self
            .0
            .get(name)
            .ok_or_else(|| PartitionError::Unknown(name.to_owned()))?;
        let end = console.written.len();
        let oldest = end.saturating_sub(console.kept);
        let start = usize::try_from(position)
            .unwrap_or(usize::MAX)
            .clamp(oldest, end);
        let stop = end.min(start + console.answer);
        Ok(ConsoleChunk {
            start: start as u64,
            end: end as u64,
            bytes: console.written[start..stop].to_vec(),
        })
    }

    fn new_log_lines(&mut self) -> Result<Vec<String>, PartitionError> {
        Err(not_faked())
    }

    fn reset_device(&mut self, _: ResetKind) -> Result<(), PartitionError> {
        Err(not_faked())
    }
}
