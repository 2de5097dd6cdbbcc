//! The apps' logs (EVE's per-app `newlogs`): an app's log is the console
//! output of the partition it is bound to (see [`crate::partitions`]).
//! Each round reads every bound console on from where the last read ended;
//! the lines wait until the controller takes them (the oldest dropped past
//! [`MAX_PENDING_LINES`], with a message) and go in uploads of at most
//! [`MAX_UPLOAD_BYTES`], each a gzip stream of JSON `LogEntry` lines as
//! EVE's own app logs are: `source` (the partition), `content`, `msgid`
//! (counting up per app from 1) and `timestamp` (when the agent read the
//! line; consoles carry no times), without `severity`.
//!
//! How far each console was sent, and the `msgid` that comes next, are
//! kept in the state directory ([`APP_LOGS_FILE`]) and written after each
//! upload: an agent started again reads on from there, so that it sends no
//! line twice and misses none that cordon still keeps.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::console::{self, ConsoleRead};
use crate::partitions::Partitions;
use crate::store::{Access, StateDir, StoreError};

/// The state file of the app logs.
pub const APP_LOGS_FILE: &str = "app-logs.json";
/// What an unreadable state file is renamed to, so that it is not lost.
pub const UNREADABLE_SUFFIX: &str = ".unreadable";
/// Lines kept per app while the controller does not take them.
pub const MAX_PENDING_LINES: usize = 4096;
/// Bytes of JSON text in one upload, before gzip, so that the gzip stream
/// stays under the 50,000 bytes EVE's own app log uploads are cut at.
pub const MAX_UPLOAD_BYTES: usize = 48 << 10;
/// The `msgid` of an app's first line.
const FIRST_MSGID: u64 = 1;

#[derive(Debug)]
pub enum AppLogsError {
    Store(StoreError),
    /// The state file is not what this agent writes; it was renamed to
    /// `kept_as`.
    Unreadable {
        kept_as: PathBuf,
        error: String,
    },
}

impl fmt::Display for AppLogsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Store(error) => error.fmt(f),
            Self::Unreadable { kept_as, error } => write!(
                f,
                "the app logs' state is unreadable ({error}); it is kept as {} \
                 and the apps' consoles are read from the oldest output cordon keeps",
                kept_as.display()
            ),
        }
    }
}

impl std::error::Error for AppLogsError {}

impl From<StoreError> for AppLogsError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// An app and the partition it is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub app: String,
    pub partition: String,
}

/// One app's state as kept in the state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Saved {
    partition: String,
    /// The console's stream position the controller has everything before.
    position: u64,
    /// The `msgid` of the first line after `position`.
    next_msgid: u64,
}

/// The state file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct SavedFile {
    /// Cordon's uptime when the file was written: a lower uptime later
    /// means cordon started again, with new consoles.
    cordon_uptime_ns: u64,
    apps: BTreeMap<String, Saved>,
}

/// A line waiting for the controller.
#[derive(Debug, Clone)]
struct Pending {
    text: String,
    msgid: u64,
    time: SystemTime,
    /// The stream position after the line.
    end: u64,
}

#[derive(Debug, Clone)]
struct AppLog {
    /// What the controller has.
    sent: Saved,
    /// Where the next read starts, and the `msgid` of the next line read.
    read: u64,
    next_msgid: u64,
    pending: VecDeque<Pending>,
}

impl AppLog {
    fn new(sent: Saved) -> Self {
        Self {
            read: sent.position,
            next_msgid: sent.next_msgid,
            sent,
            pending: VecDeque::new(),
        }
    }

    /// Everything read was sent.
    fn all_sent(&mut self) {
        self.sent.position = self.read;
        self.sent.next_msgid = self.next_msgid;
    }
}

/// One upload: app `app`'s first `lines` waiting lines, as a `newlogs`
/// body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub app: String,
    pub body: Vec<u8>,
    pub lines: usize,
}

#[derive(Debug, Clone, Default)]
pub struct AppLogs {
    cordon_uptime_ns: u64,
    apps: BTreeMap<String, AppLog>,
    /// The apps' part of the state file as last written or read.
    saved: BTreeMap<String, Saved>,
}

impl AppLogs {
    /// The app logs as an earlier run left them. An unreadable state file
    /// is renamed (see [`AppLogsError::Unreadable`]); the caller then
    /// starts afresh.
    pub fn load(state: &StateDir) -> Result<Self, AppLogsError> {
        let Some(bytes) = state.read(APP_LOGS_FILE)? else {
            return Ok(Self::default());
        };
        let saved: SavedFile = match serde_json::from_slice(&bytes) {
            Ok(saved) => saved,
            Err(error) => {
                let kept_as = state.path(&format!("{APP_LOGS_FILE}{UNREADABLE_SUFFIX}"));
                std::fs::rename(state.path(APP_LOGS_FILE), &kept_as).map_err(|error| {
                    StoreError {
                        path: state.path(APP_LOGS_FILE),
                        action: "set aside",
                        error,
                    }
                })?;
                return Err(AppLogsError::Unreadable {
                    kept_as,
                    error: error.to_string(),
                });
            }
        };
        Ok(Self {
            cordon_uptime_ns: saved.cordon_uptime_ns,
            apps: saved
                .apps
                .iter()
                .map(|(app, sent)| (app.clone(), AppLog::new(sent.clone())))
                .collect(),
            saved: saved.apps,
        })
    }

    /// Writes what the controller has, atomically, if it changed since the
    /// last write (the uptime alone is no change: an older one tells a
    /// restart of cordon as well).
    pub fn save(&mut self, state: &StateDir) -> Result<(), StoreError> {
        let apps: BTreeMap<String, Saved> = self
            .apps
            .iter()
            .map(|(app, log)| (app.clone(), log.sent.clone()))
            .collect();
        if apps == self.saved && state.exists(APP_LOGS_FILE) {
            return Ok(());
        }
        let file = SavedFile {
            cordon_uptime_ns: self.cordon_uptime_ns,
            apps,
        };
        let text = serde_json::to_vec_pretty(&file).unwrap_or_default();
        state.write(APP_LOGS_FILE, &text, Access::Public)?;
        self.saved = file.apps;
        Ok(())
    }

    /// Reads the consoles of the `bound` apps on; cordon has been up for
    /// `uptime_ns`. Apps no longer bound are forgotten. Returns what the
    /// agent should log (lost or dropped output, unreadable consoles).
    pub fn collect(
        &mut self,
        bound: &[Binding],
        uptime_ns: u64,
        partitions: &mut dyn Partitions,
    ) -> Vec<String> {
        let mut notes = Vec::new();
        if uptime_ns < self.cordon_uptime_ns {
            notes.push(
                "cordon started again: the apps' consoles are read from their beginning".to_owned(),
            );
            for log in self.apps.values_mut() {
                log.read = 0;
                log.sent.position = 0;
            }
        }
        self.cordon_uptime_ns = uptime_ns;
        self.apps.retain(|app, log| {
            let kept = bound.iter().any(|binding| binding.app == *app);
            if !kept && !log.pending.is_empty() {
                notes.push(format!(
                    "app {app} is no longer bound to a partition: {} lines of its log \
                     not sent are dropped",
                    log.pending.len()
                ));
            }
            kept
        });
        for binding in bound {
            let log = self.apps.entry(binding.app.clone()).or_insert_with(|| {
                AppLog::new(Saved {
                    partition: binding.partition.clone(),
                    position: 0,
                    next_msgid: FIRST_MSGID,
                })
            });
            if log.sent.partition != binding.partition {
                notes.push(format!(
                    "app {} is now bound to partition {} (was {}): {} lines of its log \
                     not sent are dropped",
                    binding.app,
                    binding.partition,
                    log.sent.partition,
                    log.pending.len()
                ));
                log.pending.clear();
                log.sent.partition = binding.partition.clone();
                log.read = 0;
                log.all_sent();
            }
            match console::read_lines(partitions, &binding.partition, log.read) {
                Ok(read) => {
                    notes.extend(take(&binding.app, log, read));
                }
                Err(error) => notes.push(format!(
                    "app {}: cannot read the console of partition {}: {error}",
                    binding.app, binding.partition
                )),
            }
        }
        notes
    }

    /// The apps with lines waiting.
    pub fn waiting(&self) -> Vec<String> {
        self.apps
            .iter()
            .filter(|(_, log)| !log.pending.is_empty())
            .map(|(app, _)| app.clone())
            .collect()
    }

    /// The next upload of app `app`: its oldest waiting lines, as many as
    /// fit in [`MAX_UPLOAD_BYTES`] (one at least).
    pub fn next_upload(&self, app: &str) -> Option<Upload> {
        let log = self.apps.get(app)?;
        let mut text = Vec::new();
        let mut lines = 0;
        for line in &log.pending {
            let since_epoch = line.time.duration_since(UNIX_EPOCH).unwrap_or_default();
            let entry = json!({
                "source": log.sent.partition,
                "content": line.text,
                "msgid": line.msgid,
                "timestamp": {
                    "seconds": since_epoch.as_secs(),
                    "nanos": since_epoch.subsec_nanos(),
                },
            })
            .to_string();
            if lines > 0 && text.len() + entry.len() + 1 > MAX_UPLOAD_BYTES {
                break;
            }
            text.extend_from_slice(entry.as_bytes());
            text.push(b'\n');
            lines += 1;
        }
        if lines == 0 {
            return None;
        }
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        // Writing to memory cannot fail.
        let _ = encoder.write_all(&text);
        Some(Upload {
            app: app.to_owned(),
            body: encoder.finish().unwrap_or_default(),
            lines,
        })
    }

    /// The controller took `upload`: its lines are sent.
    pub fn uploaded(&mut self, upload: &Upload) {
        let Some(log) = self.apps.get_mut(&upload.app) else {
            return;
        };
        let taken = upload.lines.min(log.pending.len());
        if let Some(last) = log.pending.drain(..taken).next_back() {
            log.sent.position = last.end;
            log.sent.next_msgid = last.msgid + 1;
        }
        if log.pending.is_empty() {
            log.all_sent();
        }
    }
}

/// Keeps the lines of `read` for app `app`; returns what to log about it.
fn take(app: &str, log: &mut AppLog, read: ConsoleRead) -> Vec<String> {
    let mut notes = Vec::new();
    let partition = &log.sent.partition;
    if read.restarted {
        notes.push(format!(
            "app {app}: the console of partition {partition} started again \
             (cordon restarted): read from its beginning"
        ));
    }
    // Output before an app's first read was never the agent's to lose.
    if read.lost > 0 && (log.read > 0 || read.restarted) {
        notes.push(format!(
            "app {app}: {} bytes of partition {partition}'s console were overwritten \
             before they were read: lost",
            read.lost
        ));
    }
    let now = SystemTime::now();
    let mut dropped = 0;
    for line in read.lines {
        if log.pending.len() == MAX_PENDING_LINES {
            log.pending.pop_front();
            dropped += 1;
        }
        log.pending.push_back(Pending {
            text: line.text,
            msgid: log.next_msgid,
            time: now,
            end: line.end,
        });
        log.next_msgid += 1;
    }
    if dropped > 0 {
        notes.push(format!(
            "app {app}: the controller has not taken its log: the oldest {dropped} lines \
             of partition {partition}'s console are dropped (at most {MAX_PENDING_LINES} wait)"
        ));
    }
    log.read = read.next;
    if log.pending.is_empty() {
        log.all_sent();
    }
    notes
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::read::GzDecoder;

    use super::*;
    use crate::testing::FakeConsoles;

    const APP: &str = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";
    const VM: &str = "vm";
    const UPTIME: u64 = 1_000;

    fn bound() -> Vec<Binding> {
        vec![Binding {
            app: APP.to_owned(),
            partition: VM.to_owned(),
        }]
    }

    fn scratch(name: &str) -> StateDir {
        let root = std::env::temp_dir().join(format!(
            "cordon-agent-app-logs-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&root);
        StateDir::open(&root).expect("scratch directory")
    }

    fn decode(upload: &Upload) -> Vec<serde_json::Value> {
        let mut text = String::new();
        GzDecoder::new(upload.body.as_slice())
            .read_to_string(&mut text)
            .expect("gzip");
        text.lines()
            .map(|line| serde_json::from_str(line).expect("json"))
            .collect()
    }

    /// Sends every waiting line of `APP`; their contents.
    fn send_all(logs: &mut AppLogs) -> Vec<String> {
        let mut contents = Vec::new();
        while let Some(upload) = logs.next_upload(APP) {
            contents.extend(
                decode(&upload)
                    .iter()
                    .map(|entry| entry["content"].as_str().expect("content").to_owned()),
            );
            logs.uploaded(&upload);
        }
        contents
    }

    #[test]
    fn lines_are_json_log_entries_as_eve_sends_app_logs() {
        let mut consoles = FakeConsoles::one(1024, 1024);
        consoles.write(VM, b"hello\nworld\n");
        let mut logs = AppLogs::default();
        assert!(logs.collect(&bound(), UPTIME, &mut consoles).is_empty());
        assert_eq!(logs.waiting(), [APP]);
        let upload = logs.next_upload(APP).expect("an upload");
        assert_eq!(upload.lines, 2);
        let entries = decode(&upload);
        assert_eq!(entries[0]["source"], VM);
        assert_eq!(entries[0]["content"], "hello");
        assert_eq!(entries[0]["msgid"], FIRST_MSGID);
        assert_eq!(entries[1]["msgid"], FIRST_MSGID + 1);
        assert!(
            entries[1]["timestamp"]["seconds"]
                .as_u64()
                .expect("seconds")
                > 0
        );
        assert!(entries[0].get("severity").is_none());
    }

    #[test]
    fn an_agent_started_again_sends_on_from_the_last_upload() {
        let state = scratch("resume");
        let mut consoles = FakeConsoles::one(1024, 1024);
        consoles.write(VM, b"one\ntwo\n");
        let mut logs = AppLogs::load(&state).expect("load");
        logs.collect(&bound(), UPTIME, &mut consoles);
        assert_eq!(send_all(&mut logs), ["one", "two"]);
        logs.save(&state).expect("save");
        // Read but never sent: the next agent reads it again.
        consoles.write(VM, b"three\n");
        logs.collect(&bound(), UPTIME, &mut consoles);

        let mut again = AppLogs::load(&state).expect("load");
        consoles.write(VM, b"four\n");
        again.collect(&bound(), UPTIME + 1, &mut consoles);
        let upload = again.next_upload(APP).expect("an upload");
        let entries = decode(&upload);
        assert_eq!(entries[0]["content"], "three");
        assert_eq!(entries[0]["msgid"], 3, "msgids go on");
        assert_eq!(entries.len(), 2);
    }

    #[test]
    fn a_failed_upload_keeps_its_lines() {
        let mut consoles = FakeConsoles::one(1024, 1024);
        consoles.write(VM, b"kept\n");
        let mut logs = AppLogs::default();
        logs.collect(&bound(), UPTIME, &mut consoles);
        let failed = logs.next_upload(APP).expect("an upload");
        consoles.write(VM, b"next\n");
        logs.collect(&bound(), UPTIME, &mut consoles);
        assert_eq!(logs.next_upload(APP).expect("an upload").lines, 2);
        assert_eq!(failed.lines, 1);
        assert_eq!(send_all(&mut logs), ["kept", "next"]);
        assert!(logs.waiting().is_empty());
    }

    #[test]
    fn uploads_are_bounded() {
        let mut consoles = FakeConsoles::one(1 << 20, 1 << 20);
        let line = format!("{}\n", "y".repeat(1000));
        let count = 3 * MAX_UPLOAD_BYTES / line.len();
        consoles.write(VM, line.repeat(count).as_bytes());
        let mut logs = AppLogs::default();
        logs.collect(&bound(), UPTIME, &mut consoles);
        let mut uploads = 0;
        let mut sent = 0;
        while let Some(upload) = logs.next_upload(APP) {
            let mut text = Vec::new();
            GzDecoder::new(upload.body.as_slice())
                .read_to_end(&mut text)
                .expect("gzip");
            assert!(text.len() <= MAX_UPLOAD_BYTES, "{} bytes", text.len());
            sent += upload.lines;
            uploads += 1;
            logs.uploaded(&upload);
        }
        assert_eq!(sent, count);
        assert!(uploads >= 3, "{uploads} uploads");
    }

    #[test]
    fn lines_past_the_bound_are_dropped_with_a_message() {
        let mut consoles = FakeConsoles::one(1 << 20, 1 << 20);
        let text: String = (0..=MAX_PENDING_LINES).map(|n| format!("{n}\n")).collect();
        consoles.write(VM, text.as_bytes());
        let mut logs = AppLogs::default();
        let notes = logs.collect(&bound(), UPTIME, &mut consoles);
        assert!(
            notes.iter().any(|note| note.contains("oldest 1 lines")),
            "{notes:?}"
        );
        let sent = send_all(&mut logs);
        assert_eq!(sent.len(), MAX_PENDING_LINES);
        assert_eq!(sent[0], "1");
    }

    #[test]
    fn overwritten_output_is_reported_lost() {
        let mut consoles = FakeConsoles::one(16, 1024);
        consoles.write(VM, b"first\n");
        let mut logs = AppLogs::default();
        logs.collect(&bound(), UPTIME, &mut consoles);
        consoles.write(VM, b"0123456789abcdef\nlast\n");
        let notes = logs.collect(&bound(), UPTIME, &mut consoles);
        assert!(
            notes
                .iter()
                .any(|note| note.contains("6 bytes") && note.contains("lost")),
            "{notes:?}"
        );
        assert_eq!(send_all(&mut logs), ["first", "6789abcdef", "last"]);
    }

    #[test]
    fn a_cordon_that_started_again_is_read_from_the_beginning() {
        let state = scratch("reboot");
        let mut consoles = FakeConsoles::one(1024, 1024);
        consoles.write(VM, b"a long first life\n");
        let mut logs = AppLogs::default();
        logs.collect(&bound(), UPTIME, &mut consoles);
        send_all(&mut logs);
        logs.save(&state).expect("save");

        // Cordon starts again and its console grows past where the first
        // life's was read: only the lower uptime tells.
        consoles.restart();
        consoles.write(VM, b"second life, first line\n");
        let mut again = AppLogs::load(&state).expect("load");
        let notes = again.collect(&bound(), UPTIME / 2, &mut consoles);
        assert!(
            notes
                .iter()
                .any(|note| note.contains("cordon started again")),
            "{notes:?}"
        );
        assert_eq!(send_all(&mut again), ["second life, first line"]);
    }

    #[test]
    fn an_unbound_app_is_forgotten() {
        let state = scratch("unbound");
        let mut consoles = FakeConsoles::one(1024, 1024);
        consoles.write(VM, b"line\n");
        let mut logs = AppLogs::default();
        logs.collect(&bound(), UPTIME, &mut consoles);
        let notes = logs.collect(&[], UPTIME, &mut consoles);
        assert!(
            notes.iter().any(|note| note.contains("no longer bound")),
            "{notes:?}"
        );
        assert!(logs.waiting().is_empty());
        logs.save(&state).expect("save");
        assert!(AppLogs::load(&state).expect("load").apps.is_empty());
    }

    #[test]
    fn an_unreadable_state_file_is_set_aside_not_lost() {
        let state = scratch("unreadable");
        state
            .write(APP_LOGS_FILE, b"not json", Access::Public)
            .expect("write");
        let error = AppLogs::load(&state).expect_err("unreadable");
        assert!(matches!(error, AppLogsError::Unreadable { .. }), "{error}");
        let kept = state.path(&format!("{APP_LOGS_FILE}{UNREADABLE_SUFFIX}"));
        assert_eq!(std::fs::read(kept).expect("kept"), b"not json");
        assert!(AppLogs::load(&state).expect("load afresh").apps.is_empty());
    }

    #[test]
    fn an_unreadable_console_is_reported() {
        let mut consoles = FakeConsoles::default();
        let notes = AppLogs::default().collect(&bound(), UPTIME, &mut consoles);
        assert!(
            notes
                .iter()
                .any(|note| note.contains("cannot read the console")),
            "{notes:?}"
        );
    }
}
