//! Boots a machine under QEMU, reads its serial console line by line until the
//! expected lines have appeared (and, if asked, QEMU has exited by itself) or
//! the deadline passes, or the test tells it to stop, then stops QEMU.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::process::{ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::expect::Expect;
use crate::machine::{Machine, MachineError, QEMU_BINARY};
use crate::pc::PcMachine;
use crate::process::Running;
use crate::transcript::{Ending, Line, Transcript};

/// How often a boot that the test may stop looks whether it was told to.
const STOP_POLL: Duration = Duration::from_millis(100);

/// A boot that could not be started or watched.
#[derive(Debug)]
pub enum HarnessError {
    /// The machine configuration is invalid.
    Machine(MachineError),
    /// A file QEMU is to read (the image, a guest, a disk) does not exist.
    MissingFile(std::path::PathBuf),
    /// QEMU could not be started.
    Spawn(io::Error),
    /// Waiting for or stopping QEMU failed.
    Wait(io::Error),
}

impl fmt::Display for HarnessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HarnessError::Machine(error) => error.fmt(f),
            HarnessError::MissingFile(path) => {
                write!(f, "{} does not exist", path.display())
            }
            HarnessError::Spawn(error) => write!(
                f,
                "cannot start {QEMU_BINARY}: {error} (`cargo xtask test` installs it)"
            ),
            HarnessError::Wait(error) => write!(f, "cannot wait for {QEMU_BINARY}: {error}"),
        }
    }
}

impl std::error::Error for HarnessError {}

/// One line QEMU printed.
enum Output {
    Serial(String),
    Stderr(String),
}

/// Boots `machine`, echoing its console to stdout, and watches it as `expect` says.
///
/// Returns the transcript however the boot went; check [`Transcript::succeeded`].
pub fn boot(machine: &Machine, expect: &Expect) -> Result<Transcript, HarnessError> {
    start(machine, expect, None)
}

/// Boots `machine` and watches it as [`boot`] does, except that once every
/// expected line appeared it keeps it running until `stop` gets a message
/// or its sender is gone: for tests that watch from the host what the
/// machine does (with a controller it talks to) and decide there when it
/// has done enough. If not every expected line appeared by then, the
/// ending is [`Ending::Stopped`].
pub fn boot_until(
    machine: &Machine,
    expect: &Expect,
    stop: &Receiver<()>,
) -> Result<Transcript, HarnessError> {
    start(machine, expect, Some(stop))
}

/// Starts QEMU on `machine` once every file it reads is there, and
/// watches it.
fn start(
    machine: &Machine,
    expect: &Expect,
    stop: Option<&Receiver<()>>,
) -> Result<Transcript, HarnessError> {
    if let Some(missing) = machine.files().into_iter().find(|file| !file.is_file()) {
        return Err(HarnessError::MissingFile(missing.to_owned()));
    }
    watch(
        machine.command().map_err(HarnessError::Machine)?,
        expect,
        stop,
    )
}

/// Boots the PC `machine` from its ISO, echoing its console to stdout, and
/// watches it as `expect` says.
pub fn boot_pc(machine: &PcMachine, expect: &Expect) -> Result<Transcript, HarnessError> {
    if !machine.iso().is_file() {
        return Err(HarnessError::MissingFile(machine.iso().to_owned()));
    }
    watch(
        machine.command().map_err(HarnessError::Spawn)?,
        expect,
        None,
    )
}

/// Runs `command`, watching its stdout as the serial console, until
/// `expect` is decided or `stop` says so.
fn watch(
    mut command: Command,
    expect: &Expect,
    stop: Option<&Receiver<()>>,
) -> Result<Transcript, HarnessError> {
    let stdin = match expect.typing.is_empty() {
        true => Stdio::null(),
        false => Stdio::piped(),
    };
    command
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut qemu = Running::spawn(&mut command).map_err(HarnessError::Spawn)?;

    let (sender, receiver) = mpsc::channel();
    let child = qemu.child_mut();
    let keyboard = child.stdin.take();
    let readers = [
        child
            .stdout
            .take()
            .map(|out| forward_lines(out, sender.clone(), Output::Serial)),
        child
            .stderr
            .take()
            .map(|err| forward_lines(err, sender.clone(), Output::Stderr)),
    ];
    drop(sender);

    let mut watcher = Watch::new(expect, started, keyboard);
    let ending = watcher.run(&receiver, &mut qemu, stop)?;
    qemu.stop().map_err(HarnessError::Wait)?;
    for reader in readers.into_iter().flatten() {
        // A reader only ends when its pipe closes, which stopping QEMU did.
        let _ = reader.join();
    }
    // Lines still in flight when watching stopped belong in the transcript.
    for output in receiver.try_iter() {
        watcher.record(output);
    }
    Ok(watcher.finish(ending))
}

/// Sends each line read from `pipe` to `sender`, until the pipe closes.
fn forward_lines(
    pipe: impl Read + Send + 'static,
    sender: Sender<Output>,
    wrap: fn(String) -> Output,
) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut bytes = Vec::new();
        loop {
            bytes.clear();
            match reader.read_until(b'\n', &mut bytes) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&bytes);
                    let line = line.trim_end_matches(['\n', '\r']).to_owned();
                    if sender.send(wrap(line)).is_err() {
                        return;
                    }
                }
            }
        }
    })
}

/// The state of watching one boot.
struct Watch<'a> {
    expect: &'a Expect,
    started: Instant,
    transcript: Transcript,
    /// QEMU's standard input (its serial console's), if there is typing.
    keyboard: Option<ChildStdin>,
    /// Which of `expect.typing` have had their line appear.
    typing_ready: Vec<bool>,
    /// How many of `expect.typing` were typed.
    typed: usize,
}

impl<'a> Watch<'a> {
    fn new(expect: &'a Expect, started: Instant, keyboard: Option<ChildStdin>) -> Self {
        Self {
            expect,
            started,
            keyboard,
            typing_ready: vec![false; expect.typing.len()],
            typed: 0,
            transcript: Transcript {
                serial: Vec::new(),
                stderr: Vec::new(),
                missing: expect.wait_for.clone(),
                ending: Ending::DeadlinePassed,
                exit_status: None,
                elapsed: Default::default(),
            },
        }
    }

    /// Reads lines until the boot is decided, or `stop` says to stop.
    fn run(
        &mut self,
        receiver: &Receiver<Output>,
        qemu: &mut Running,
        stop: Option<&Receiver<()>>,
    ) -> Result<Ending, HarnessError> {
        let mut stop_at = self.started + self.expect.deadline;
        let mut all_seen = false;
        loop {
            if !all_seen && self.transcript.missing.is_empty() {
                all_seen = true;
                if !self.expect.exit && stop.is_none() {
                    stop_at = Instant::now() + self.expect.settle;
                }
            }
            let now = Instant::now();
            if now >= stop_at {
                break;
            }
            let wait = match stop {
                Some(stop) if told_to_stop(stop) => {
                    let status = qemu.try_wait().map_err(HarnessError::Wait)?;
                    return Ok(self.stopped(all_seen, status));
                }
                Some(_) => (stop_at - now).min(STOP_POLL),
                None => stop_at - now,
            };
            match receiver.recv_timeout(wait) {
                Ok(output) => {
                    if let Some(forbidden) = self.record(output) {
                        return Ok(forbidden);
                    }
                }
                // The loop's start sees whether the deadline passed.
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    // Both pipes closed: QEMU has exited or is exiting.
                    let status = qemu.wait_until(stop_at).map_err(HarnessError::Wait)?;
                    return Ok(self.decide(all_seen, status));
                }
            }
        }
        // QEMU may have exited just now, with its last lines still in flight.
        let status = qemu.try_wait().map_err(HarnessError::Wait)?;
        Ok(self.decide(all_seen, status))
    }

    /// How the boot ended, given whether every line appeared and QEMU's exit
    /// status if it exited by itself.
    fn decide(&mut self, all_seen: bool, exited: Option<ExitStatus>) -> Ending {
        self.transcript.exit_status = exited;
        match (all_seen, exited) {
            (false, Some(status)) => Ending::Exited(status),
            (false, None) => Ending::DeadlinePassed,
            (true, _) if !self.expect.exit => Ending::AllSeen,
            (true, Some(status)) if status.success() => Ending::AllSeen,
            (true, Some(status)) => Ending::ExitFailed(status),
            (true, None) => Ending::StillRunning,
        }
    }

    /// How a boot the test stopped ended.
    fn stopped(&mut self, all_seen: bool, exited: Option<ExitStatus>) -> Ending {
        if all_seen || exited.is_some() {
            self.decide(all_seen, exited)
        } else {
            Ending::Stopped
        }
    }

    /// Echoes and keeps one line; returns the ending if it is forbidden.
    fn record(&mut self, output: Output) -> Option<Ending> {
        match output {
            Output::Serial(line) => {
                println!("{line}");
                self.transcript
                    .missing
                    .retain(|pattern| !pattern.matches(&line));
                let forbidden = self
                    .expect
                    .forbid
                    .iter()
                    .find(|text| line.contains(text.as_str()))
                    .map(|text| Ending::Forbidden {
                        text: text.clone(),
                        line: line.clone(),
                    });
                self.type_what_is_due(&line);
                self.transcript.serial.push(Line {
                    text: line,
                    at: self.started.elapsed(),
                });
                forbidden
            }
            Output::Stderr(line) => {
                println!("[qemu stderr] {line}");
                self.transcript.stderr.push(line);
                None
            }
        }
    }

    /// Notes which typings `line` makes due and types them, in order.
    fn type_what_is_due(&mut self, line: &str) {
        for (ready, typing) in self.typing_ready.iter_mut().zip(&self.expect.typing) {
            *ready |= typing.after.matches(line);
        }
        while self.typing_ready.get(self.typed) == Some(&true) {
            let bytes = &self.expect.typing[self.typed].bytes;
            // A keyboard that is gone (QEMU exited) shows in what the
            // machine did not print.
            if let Some(keyboard) = &mut self.keyboard {
                let _ = keyboard.write_all(bytes).and_then(|()| keyboard.flush());
            }
            self.typed += 1;
        }
    }

    fn finish(mut self, ending: Ending) -> Transcript {
        self.transcript.ending = ending;
        self.transcript.elapsed = self.started.elapsed();
        self.transcript
    }
}

/// Whether `stop` got a message, or its sender is gone.
fn told_to_stop(stop: &Receiver<()>) -> bool {
    matches!(stop.try_recv(), Ok(()) | Err(TryRecvError::Disconnected))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::expect::Pattern;

    /// Plenty for a shell to print a few lines, yet bounds a broken test.
    const DEADLINE: Duration = Duration::from_secs(20);

    fn shell(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    #[test]
    fn stops_once_every_line_appeared() {
        let expect = Expect::within(DEADLINE).line("two").line("one");
        let transcript = watch(shell("echo one; echo two; exec sleep 30"), &expect, None).unwrap();
        assert_eq!(transcript.ending(), &Ending::AllSeen);
        assert!(transcript.elapsed < DEADLINE);
        assert_eq!(transcript.lines().collect::<Vec<_>>(), ["one", "two"]);
    }

    #[test]
    fn reports_an_early_exit_with_what_is_missing() {
        let expect = Expect::within(DEADLINE).line("one").line("never");
        let transcript = watch(
            shell("printf 'one\\r\\n'; echo oops >&2; exit 3"),
            &expect,
            None,
        )
        .unwrap();
        assert!(matches!(transcript.ending(), Ending::Exited(status) if status.code() == Some(3)));
        assert_eq!(transcript.lines().collect::<Vec<_>>(), ["one"]);
        assert_eq!(transcript.stderr, ["oops"]);
        assert_eq!(transcript.missing, [Pattern::from("never")]);
    }

    #[test]
    fn forbidden_text_ends_the_watch() {
        let expect = Expect::within(DEADLINE).line("done").forbid("bad");
        let transcript = watch(shell("echo a bad line; exec sleep 30"), &expect, None).unwrap();
        assert_eq!(
            transcript.ending(),
            &Ending::Forbidden {
                text: "bad".to_owned(),
                line: "a bad line".to_owned()
            }
        );
    }

    #[test]
    fn settling_catches_forbidden_text_after_the_last_pattern() {
        let expect = Expect::within(DEADLINE)
            .line("ready")
            .forbid("bad")
            .settle(DEADLINE);
        let script = "echo ready; sleep 0.2; echo bad; exec sleep 30";
        let transcript = watch(shell(script), &expect, None).unwrap();
        assert!(matches!(transcript.ending(), Ending::Forbidden { .. }));
    }

    #[test]
    fn types_once_its_line_appeared_and_in_order() {
        // `read` echoes what it gets: the second typing waits for the
        // first's echo and for "go", which came before it.
        let expect = Expect::within(DEADLINE)
            .type_after("go", b"first\n")
            .type_after("got first", b"second\n")
            .line("got second");
        let script = "echo go; read a; echo got $a; read b; echo got $b; exec sleep 30";
        let transcript = watch(shell(script), &expect, None).unwrap();
        assert_eq!(transcript.ending(), &Ending::AllSeen);
        assert_eq!(
            transcript.lines().collect::<Vec<_>>(),
            ["go", "got first", "got second"]
        );
    }

    #[test]
    fn gives_up_at_the_deadline() {
        let expect = Expect::within(Duration::from_millis(300)).line("never");
        let transcript = watch(shell("echo partial; exec sleep 30"), &expect, None).unwrap();
        assert_eq!(transcript.ending(), &Ending::DeadlinePassed);
        assert_eq!(transcript.lines().collect::<Vec<_>>(), ["partial"]);
    }

    #[test]
    fn waits_for_a_successful_exit_when_asked() {
        let expect = Expect::within(DEADLINE)
            .line("powering off")
            .then_exit_successfully();
        let script = "echo powering off; sleep 0.2; echo exits: hvc=3; exit 0";
        let transcript = watch(shell(script), &expect, None).unwrap();
        assert_eq!(transcript.ending(), &Ending::AllSeen);
        assert!(transcript.exit_status().unwrap().success());
        assert_eq!(
            transcript.lines().collect::<Vec<_>>(),
            ["powering off", "exits: hvc=3"]
        );
        assert!(transcript.first_seen("exits:") >= transcript.first_seen("powering"));
        assert_eq!(transcript.first_seen("nowhere"), None);
    }

    #[test]
    fn a_failing_exit_after_every_line_fails() {
        let expect = Expect::within(DEADLINE)
            .line("done")
            .then_exit_successfully();
        let transcript = watch(shell("echo done; exit 1"), &expect, None).unwrap();
        assert!(
            matches!(transcript.ending(), Ending::ExitFailed(status) if status.code() == Some(1))
        );
    }

    #[test]
    fn not_exiting_when_asked_to_fails() {
        let expect = Expect::within(Duration::from_millis(300))
            .line("done")
            .then_exit_successfully();
        let transcript = watch(shell("echo done; exec sleep 30"), &expect, None).unwrap();
        assert_eq!(transcript.ending(), &Ending::StillRunning);
        assert_eq!(transcript.exit_status(), None);
    }

    #[test]
    fn runs_on_after_every_line_until_told_to_stop() {
        let expect = Expect::within(DEADLINE).line("one");
        // Never told: the watch goes on past `one` until the shell exits.
        let (_stop, told) = mpsc::channel();
        let script = "echo one; sleep 0.2; echo two; exit 0";
        let transcript = watch(shell(script), &expect, Some(&told)).unwrap();
        assert_eq!(transcript.ending(), &Ending::AllSeen);
        assert_eq!(transcript.lines().collect::<Vec<_>>(), ["one", "two"]);
    }

    #[test]
    fn stops_when_told_before_every_line_appeared() {
        let expect = Expect::within(DEADLINE).line("never");
        let (stop, told) = mpsc::channel();
        stop.send(()).unwrap();
        let transcript = watch(shell("exec sleep 30"), &expect, Some(&told)).unwrap();
        assert_eq!(transcript.ending(), &Ending::Stopped);
        assert!(transcript.elapsed < DEADLINE);
        assert!(!transcript.succeeded());
    }

    #[test]
    fn a_missing_file_is_reported_before_starting_qemu() {
        let machine = Machine::qemu_virt("/nonexistent/cordon.bin");
        let error = boot(&machine, &Expect::within(DEADLINE)).unwrap_err();
        assert!(matches!(error, HarnessError::MissingFile(_)));
    }
}
