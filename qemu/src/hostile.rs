//! The hostile test guest (`qemu/guests/hostile`): the machine that boots
//! it as cordon's only VM, and what its report lines say.
//!
//! ```text
//! hostile: started: RAM <start>-<end>, ...
//! hostile: <probe>: contained (<what happened>)
//! hostile: <probe>: ESCAPED (<what happened>)
//! hostile: <probe>: skipped (<why it cannot apply>)
//! hostile: summary: <n> probes, <e> escaped
//! hostile: FATAL: ...
//! ```
//!
//! Skipped probes do not count in the summary.

use std::path::PathBuf;

use crate::expect::{Expect, Pattern};
use crate::machine::{GUEST_KERNEL_ADDR, Machine, PlacedFile, PlacedGuest};
use crate::mgmt_vm;

/// What starts each of the guest's lines (after the tag cordon puts before
/// a VM's console lines).
const PREFIX: &str = "hostile: ";
/// Names the first line instead of a probe.
const STARTED: &str = "started";
/// Names the line of an exception no probe expected instead of a probe;
/// the run ends there.
const FATAL: &str = "FATAL";
/// The verdict of a probe that reached what it was not given.
const ESCAPED: &str = "ESCAPED";
/// The verdict of a probe that got nowhere.
const CONTAINED: &str = "contained";
/// What a probe that cannot apply in its VM says instead of a verdict.
const SKIPPED: &str = "skipped";
/// Names the summary line instead of a probe.
const SUMMARY: &str = "summary";
/// How the summary line goes on: `<n> probes, <e> escaped`.
const SUMMARY_PROBES: &str = " probes, ";
const SUMMARY_ESCAPED: &str = " escaped";

/// The guest's command line; it only shows in its `started` line.
const BOOTARGS: &str = "hostile";
/// More CPUs than the two cordon's default partition gives its VM, so that
/// probes can try CPUs that exist but are not the VM's.
const CPUS: u32 = 4;

/// cordon's `image` on `virt` with the guest `image` as its only VM: with
/// no partition config, cordon makes it the management VM (2 vCPUs and
/// 512 MiB mapped 1:1 from just above the guest, which needs the
/// management VM's machine RAM).
pub fn under_cordon(image: impl Into<PathBuf>, guest: impl Into<PathBuf>) -> Machine {
    Machine::qemu_virt(image)
        .cpus(CPUS)
        .memory_mib(mgmt_vm::MEMORY_MIB)
        .placed_guest(PlacedGuest {
            kernel: PlacedFile {
                file: guest.into(),
                address: GUEST_KERNEL_ADDR,
            },
            initrd: None,
            bootargs: BOOTARGS.to_owned(),
        })
}

/// `expect` with the guest's summary saying nothing escaped, the guest's
/// console line tagged `tag` (`[<VM>] `); fails at the first escape or
/// fatal exception.
pub fn expect_contained(expect: Expect, tag: &str) -> Expect {
    let summary = format!("{tag}{PREFIX}{SUMMARY}: ");
    let none_escaped = format!("{SUMMARY_PROBES}0{SUMMARY_ESCAPED}");
    expect
        .line(Pattern::line_with(&[&summary, &none_escaped]))
        .forbid(ESCAPED)
        .forbid(&format!("{PREFIX}{FATAL}"))
}

/// The summary line's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub probes: usize,
    pub escaped: usize,
}

/// The guest's report, from its console lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report<'a> {
    /// The probes that got nowhere, by name.
    pub contained: Vec<&'a str>,
    pub escaped: Vec<&'a str>,
    pub skipped: Vec<&'a str>,
    /// Lines that name a probe but no verdict this module knows.
    pub unrecognised: Vec<&'a str>,
    /// The first summary line's counts.
    pub summary: Option<Summary>,
}

impl<'a> Report<'a> {
    /// Reads the guest's lines among `lines`, whatever precedes [`PREFIX`].
    pub fn parse(lines: impl IntoIterator<Item = &'a str>) -> Self {
        let mut report = Report::default();
        for line in lines {
            let Some((_, said)) = line.split_once(PREFIX) else {
                continue;
            };
            let Some((name, rest)) = said.split_once(": ") else {
                continue;
            };
            let verdict = rest.split_whitespace().next().unwrap_or_default();
            match (name, verdict) {
                (STARTED | FATAL, _) => {}
                (SUMMARY, _) => report.summary = report.summary.or(summary(rest)),
                (_, CONTAINED) => report.contained.push(name),
                (_, ESCAPED) => report.escaped.push(name),
                (_, SKIPPED) => report.skipped.push(name),
                _ => report.unrecognised.push(line),
            }
        }
        report
    }

    /// How many probes gave a verdict: what the summary should count.
    pub fn verdicts(&self) -> usize {
        self.contained.len() + self.escaped.len()
    }
}

/// The counts in `<n> probes, <e> escaped`.
fn summary(text: &str) -> Option<Summary> {
    let (probes, escaped) = text
        .strip_suffix(SUMMARY_ESCAPED)?
        .split_once(SUMMARY_PROBES)?;
    Some(Summary {
        probes: probes.parse().ok()?,
        escaped: escaped.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const LINES: [&str; 8] = [
        "[mgmt] hostile: started: RAM 0x60200000-0x80200000, 2 vCPUs, bootargs \"hostile\"",
        "[cpu0 WARN ] VM mgmt vCPU 0: read at 0x601ffffc (pc 0x60202d28): abort injected",
        "[mgmt] hostile: read-below-ram: contained (read 0x601ffffc: data abort)",
        "[mgmt] hostile: read-cordon-image: skipped (0x40200000 is in its own RAM)",
        "[mgmt] hostile: read-gich: ESCAPED (read 0x8030004: 0x0)",
        "[mgmt] hostile: read-rtc: conta",
        "[mgmt] hostile: summary: 3 probes, 1 escaped",
        "[mgmt] hostile: summary: 9 probes, 0 escaped",
    ];

    #[test]
    fn sorts_probes_by_verdict() {
        let report = Report::parse(LINES);
        assert_eq!(report.contained, ["read-below-ram"]);
        assert_eq!(report.escaped, ["read-gich"]);
        assert_eq!(report.skipped, ["read-cordon-image"]);
        assert_eq!(report.unrecognised, ["[mgmt] hostile: read-rtc: conta"]);
        assert_eq!(
            report.summary,
            Some(Summary {
                probes: 3,
                escaped: 1
            })
        );
        assert_eq!(report.verdicts(), 2);
    }

    #[test]
    fn a_report_without_summary_has_none() {
        let report = Report::parse(["hostile: summary: many probes, 0 escaped", "other"]);
        assert_eq!(report, Report::default());
    }

    #[test]
    fn the_expected_summary_is_the_vms() {
        let expect = expect_contained(Expect::within(Default::default()), "[rt] ");
        assert!(expect.wait_for[0].matches("[rt] hostile: summary: 26 probes, 0 escaped"));
        assert!(!expect.wait_for[0].matches("[rt] hostile: summary: 26 probes, 10 escaped"));
        assert!(!expect.wait_for[0].matches("[mgmt] hostile: summary: 26 probes, 0 escaped"));
    }

    #[test]
    fn the_guest_boots_as_the_default_management_vm() {
        let args: Vec<String> = under_cordon("cordon.bin", "hostile.bin")
            .args()
            .unwrap()
            .into_iter()
            .map(|arg| arg.into_string().unwrap())
            .collect();
        for (flag, value) in [
            ("-smp", "4"),
            ("-m", "2G"),
            (
                "-device",
                "guest-loader,addr=0x60000000,kernel=hostile.bin,bootargs=hostile",
            ),
        ] {
            assert!(
                args.windows(2).any(|pair| pair == [flag, value]),
                "{args:?}"
            );
        }
    }

    /// The guest prints the lines this module reads, so a changed guest
    /// cannot silently break the tests.
    #[test]
    fn the_guest_prints_what_is_read_here() {
        let guest = Path::new(env!("CARGO_MANIFEST_DIR")).join("guests/hostile/src");
        let report = std::fs::read_to_string(guest.join("report.rs")).unwrap();
        for verdict in [CONTAINED, ESCAPED, SKIPPED] {
            let says = report.lines().any(|line| {
                line.contains(&format!("say!(\"{PREFIX}{{"))
                    && line.contains(&format!(": {verdict} ("))
            });
            assert!(says, "report.rs never prints {verdict:?}");
        }
        let summary = format!("{PREFIX}{SUMMARY}: {{}}{SUMMARY_PROBES}{{}}{SUMMARY_ESCAPED}\"");
        assert!(
            report.contains(&summary),
            "report.rs never prints {summary:?}"
        );
        let main = std::fs::read_to_string(guest.join("main.rs")).unwrap();
        for name in [STARTED, FATAL] {
            let line = format!("\"{PREFIX}{name}: ");
            assert!(main.contains(&line), "main.rs never prints {line:?}");
        }
    }
}
