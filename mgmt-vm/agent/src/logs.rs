//! The log the agent sends to the controller (`newlogs`): its own messages
//! and cordon's log lines, kept until sent (the oldest dropped past a
//! bound), sent as a gzip stream of JSON `LogEntry` lines (one object a
//! line, the protobuf's field names).

use std::collections::VecDeque;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::json;

/// Entries kept while the controller cannot be reached.
const MAX_PENDING: usize = 4096;
/// The `source` of the agent's own entries.
pub const AGENT_SOURCE: &str = "cordon-agent";
/// The `source` of cordon's log lines.
pub const CORDON_SOURCE: &str = "cordon";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    fn name(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub severity: Severity,
    pub source: &'static str,
    pub content: String,
    pub msgid: u64,
    pub time: SystemTime,
}

#[derive(Debug, Default)]
pub struct LogBuffer {
    pending: VecDeque<Entry>,
    next_msgid: u64,
}

impl LogBuffer {
    /// Keeps `content` to send; the agent's own messages also go to
    /// standard error.
    pub fn push(&mut self, severity: Severity, source: &'static str, content: String) {
        if source == AGENT_SOURCE {
            eprintln!("cordon-agent: {}: {content}", severity.name());
        }
        if self.pending.len() == MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back(Entry {
            severity,
            source,
            content,
            msgid: self.next_msgid,
            time: SystemTime::now(),
        });
        self.next_msgid += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// The pending entries as a `newlogs` body.
    pub fn encode(&self) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        for entry in &self.pending {
            let since_epoch = entry.time.duration_since(UNIX_EPOCH).unwrap_or_default();
            let line = json!({
                "severity": entry.severity.name(),
                "source": entry.source,
                "content": entry.content,
                "msgid": entry.msgid,
                "timestamp": {
                    "seconds": since_epoch.as_secs(),
                    "nanos": since_epoch.subsec_nanos(),
                },
            });
            // Writing to memory cannot fail.
            let _ = writeln!(encoder, "{line}");
        }
        encoder.finish().unwrap_or_default()
    }

    /// The controller took the entries: forget them.
    pub fn clear(&mut self) {
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::read::GzDecoder;

    use super::*;

    fn decode(body: &[u8]) -> Vec<serde_json::Value> {
        let mut text = String::new();
        GzDecoder::new(body)
            .read_to_string(&mut text)
            .expect("gzip");
        text.lines()
            .map(|line| serde_json::from_str(line).expect("json"))
            .collect()
    }

    #[test]
    fn entries_are_json_lines_with_increasing_ids() {
        let mut log = LogBuffer::default();
        log.push(Severity::Info, CORDON_SOURCE, "vm a started".to_owned());
        log.push(Severity::Error, CORDON_SOURCE, "vm b faulted".to_owned());
        let lines = decode(&log.encode());
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["content"], "vm a started");
        assert_eq!(lines[1]["severity"], "error");
        assert_eq!(lines[1]["msgid"], 1);
    }

    #[test]
    fn oldest_entries_go_past_the_bound() {
        let mut log = LogBuffer::default();
        for index in 0..=MAX_PENDING {
            log.push(Severity::Info, CORDON_SOURCE, index.to_string());
        }
        let lines = decode(&log.encode());
        assert_eq!(lines.len(), MAX_PENDING);
        assert_eq!(lines[0]["content"], "1");
    }
}
