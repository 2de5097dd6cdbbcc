//! `cargo xtask bench`: what cordon costs the management VM's boot.
//!
//! The same kernel and initramfs (with `cordon.check`) boot under cordon and
//! directly on QEMU `virt` ("native"), both counting instructions for time
//! (`-icount`), so that the guest's clock tells virtual time, the same from
//! run to run. Native Linux gets as much RAM as cordon gave the VM, since
//! Linux takes longer to boot with more. For each, the guest reads its
//! virtual counter right after `/init` starts: the time since reset. The
//! host's wall clock from starting QEMU to the marker line is printed too.
//! Figures only; nothing is asserted.

use std::time::Duration;

use cordon_qemu::mgmt_vm::{self, CHECK_OPTION, bootargs, marker};
use cordon_qemu::{Board, Machine, boot};

use super::build::build_image;
use crate::error::{Error, Result};
use crate::mgmt_vm as vm_files;
use crate::paths::Workspace;
use crate::prereq;

/// Generous: with `-icount` QEMU runs every CPU on one host thread.
const DEADLINE: Duration = Duration::from_secs(300);
/// How cordon's line with its VM exit counts starts, after the log prefix.
const EXITS: &str = "exits:";
/// Linux's line with the RAM it found: `Memory: <free>K/<total>K available`.
const LINUX_MEMORY: &str = "Memory: ";
const KIB_PER_MIB: u64 = 1024;

/// What one boot measured.
struct Measurement {
    name: &'static str,
    /// The RAM Linux found.
    memory_mib: Option<u64>,
    /// From reset to `/init`, by the guest's virtual counter.
    since_reset: Option<Duration>,
    /// From starting QEMU to the `/init` marker, by the host's clock.
    wall: Option<Duration>,
    /// cordon's exit counts lines.
    exits: Vec<String>,
    /// Why the boot did not go as expected, if it did not.
    failure: Option<String>,
}

/// Boots natively and under cordon and prints the figures.
pub fn bench(workspace: &Workspace) -> Result<()> {
    prereq::for_boot(workspace, &[Board::QemuVirt])?;
    let image = build_image(workspace, Board::QemuVirt)?;
    let vm = vm_files::prepare(workspace)?;
    let bootargs = bootargs([CHECK_OPTION]);
    let cordon = measure(
        "under cordon",
        &vm.under_cordon(image, &bootargs).deterministic(),
    )?;
    let native_memory = match cordon.memory_mib.and_then(|mib| u32::try_from(mib).ok()) {
        Some(mib) => mib,
        None => {
            eprintln!(
                "xtask: the VM's RAM is unknown; native Linux gets the machine's {} MiB",
                mgmt_vm::MEMORY_MIB
            );
            mgmt_vm::MEMORY_MIB
        }
    };
    let native = measure(
        "native",
        &vm.native(&bootargs)
            .memory_mib(native_memory)
            .deterministic(),
    )?;
    let runs = [native, cordon];
    println!("{}", report(&runs, &bootargs));
    let failed: Vec<&str> = runs
        .iter()
        .filter(|run| run.failure.is_some())
        .map(|run| run.name)
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::Boot(format!(
            "the {} boot did not go as expected (see above)",
            failed.join(" and the ")
        )))
    }
}

/// Boots `machine` with the VM checking itself and powering off.
fn measure(name: &'static str, machine: &Machine) -> Result<Measurement> {
    eprintln!("\n=== bench: {name}");
    let expect = mgmt_vm::expect_checks(DEADLINE).line(marker::VIRTUAL_COUNTER);
    let transcript =
        boot(machine, &expect).map_err(|error| Error::Boot(format!("{name}: {error}")))?;
    Ok(Measurement {
        name,
        memory_mib: mgmt_vm::value_after(transcript.lines(), LINUX_MEMORY).and_then(memory_mib),
        since_reset: mgmt_vm::value_after(transcript.lines(), marker::VIRTUAL_COUNTER)
            .and_then(counter_time),
        wall: transcript.first_seen(marker::INIT_STARTED),
        exits: transcript
            .lines()
            .filter_map(exit_counts)
            .map(str::to_owned)
            .collect(),
        failure: (!transcript.succeeded()).then(|| transcript.ending().to_string()),
    })
}

/// The time `<ticks> ticks at <hz> Hz` stands for.
fn counter_time(text: &str) -> Option<Duration> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let [ticks, "ticks", "at", hz, "Hz"] = words.as_slice() else {
        return None;
    };
    let ticks: u128 = ticks.parse().ok()?;
    let hz: u128 = hz.parse().ok().filter(|&hz| hz > 0)?;
    let nanos = ticks * Duration::from_secs(1).as_nanos() / hz;
    u64::try_from(nanos).ok().map(Duration::from_nanos)
}

/// The total RAM in Linux's `<free>K/<total>K available (...)`, in MiB.
fn memory_mib(text: &str) -> Option<u64> {
    let sizes = text.split_whitespace().next()?;
    let total = sizes.split_once('/')?.1.strip_suffix('K')?;
    total.parse::<u64>().ok().map(|kib| kib / KIB_PER_MIB)
}

/// `line` from `exits:` on, if it is cordon's exit counts (after any
/// `[cpuN LEVEL]` log prefix and `VM <name>: `).
fn exit_counts(line: &str) -> Option<&str> {
    let text = line.trim_start();
    let text = match text.strip_prefix('[') {
        Some(rest) => rest.split_once(']')?.1.trim_start(),
        None => text,
    };
    let text = match text.strip_prefix("VM ") {
        Some(rest) => rest.split_once(": ")?.1,
        None => text,
    };
    text.starts_with(EXITS).then_some(text)
}

/// The table of figures for `runs` (native first, then under cordon).
fn report(runs: &[Measurement; 2], bootargs: &str) -> String {
    let seconds = |time: Option<Duration>| match time {
        Some(time) => format!("{:.4} s", time.as_secs_f64()),
        None => "-".to_owned(),
    };
    let ratio = |pick: fn(&Measurement) -> Option<Duration>| match (pick(&runs[0]), pick(&runs[1]))
    {
        (Some(native), Some(cordon)) if !native.is_zero() => {
            format!("{:.3}", cordon.as_secs_f64() / native.as_secs_f64())
        }
        _ => "-".to_owned(),
    };
    let row = |name: &str, memory: &str, since_reset: &str, wall: &str| {
        format!("{name:<18}{memory:>10}{since_reset:>16}{wall:>18}\n")
    };
    let mut out = format!(
        "\n=== cargo xtask bench: from reset to {:?}\n\
         ({} CPUs, -icount; VM command line: {bootargs})\n\n",
        marker::INIT_STARTED,
        mgmt_vm::CPUS,
    );
    out.push_str(&row("", "RAM", "virtual time", "host wall clock"));
    for run in runs {
        let memory = run
            .memory_mib
            .map_or_else(|| "-".to_owned(), |mib| format!("{mib} MiB"));
        out.push_str(&row(
            run.name,
            &memory,
            &seconds(run.since_reset),
            &seconds(run.wall),
        ));
    }
    out.push_str(&row(
        "cordon / native",
        "",
        &ratio(|run| run.since_reset),
        &ratio(|run| run.wall),
    ));
    out.push('\n');
    for run in runs {
        if let Some(failure) = &run.failure {
            out.push_str(&format!("{}: FAILED: {failure}\n", run.name));
        }
    }
    for exits in &runs[1].exits {
        out.push_str(&format!("cordon's VM exits: {exits}\n"));
    }
    if runs[1].exits.is_empty() {
        out.push_str("cordon printed no `exits:` line\n");
    }
    if runs.iter().any(|run| run.since_reset.is_none()) {
        out.push_str(
            "a guest printed no virtual counter: compare the host wall clock instead (it \
             varies with the host's load)\n",
        );
    }
    out.push_str(
        "RAM: what Linux found; native Linux is given what cordon gave the VM\n\
         virtual time: CNTVCT_EL0 / CNTFRQ_EL0, read by the guest right after the marker; it \
         counts from reset while cordon leaves CNTVOFF_EL2 at 0\n\
         host wall clock: from starting QEMU to the marker line\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &'static str, since_reset_ms: Option<u64>, wall_ms: u64) -> Measurement {
        Measurement {
            name,
            memory_mib: Some(512),
            since_reset: since_reset_ms.map(Duration::from_millis),
            wall: Some(Duration::from_millis(wall_ms)),
            exits: Vec::new(),
            failure: None,
        }
    }

    #[test]
    fn reads_the_virtual_counter() {
        assert_eq!(
            counter_time("125000000 ticks at 62500000 Hz"),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            counter_time("1 ticks at 1000000000 Hz"),
            Some(Duration::from_nanos(1))
        );
        assert_eq!(counter_time("12 ticks at 0 Hz"), None);
        assert_eq!(counter_time("twelve ticks at 10 Hz"), None);
        assert_eq!(counter_time("12 ticks"), None);
    }

    #[test]
    fn reads_the_ram_linux_found() {
        let line = "419656K/524288K available (10240K kernel code, 1610K rwdata)";
        assert_eq!(memory_mib(line), Some(512));
        assert_eq!(memory_mib("lots"), None);
        assert_eq!(memory_mib("1K/2M available"), None);
    }

    #[test]
    fn finds_exit_counts_with_or_without_a_log_prefix() {
        assert_eq!(
            exit_counts("[cpu0 INFO ] exits: hvc=12 dabt=3400"),
            Some("exits: hvc=12 dabt=3400")
        );
        assert_eq!(exit_counts("exits: wfi=7"), Some("exits: wfi=7"));
        assert_eq!(
            exit_counts("[cpu0 INFO ] VM mgmt: exits: hvc=8 mmio=35"),
            Some("exits: hvc=8 mmio=35")
        );
        assert_eq!(exit_counts("[cpu1 DEBUG] vcpu0 exits to EL2"), None);
        assert_eq!(exit_counts("cordon-mgmt-vm: powering off"), None);
    }

    #[test]
    fn reports_both_runs_and_their_ratio() {
        let mut cordon = run("under cordon", Some(1100), 3000);
        cordon.exits.push("exits: hvc=2".to_owned());
        let report = report(
            &[run("native", Some(1000), 2000), cordon],
            "console=ttyAMA0",
        );
        assert!(report.contains("native"), "{report}");
        assert!(report.contains("512 MiB"), "{report}");
        assert!(report.contains("1.0000 s"), "{report}");
        assert!(report.contains("1.1000 s"), "{report}");
        assert!(report.contains("1.100"), "{report}");
        assert!(report.contains("1.500"), "{report}");
        assert!(
            report.contains("cordon's VM exits: exits: hvc=2"),
            "{report}"
        );
        assert!(!report.contains("FAILED"), "{report}");
    }

    #[test]
    fn reports_what_is_missing() {
        let mut cordon = run("under cordon", None, 3000);
        cordon.failure = Some("QEMU exited".to_owned());
        let report = report(&[run("native", Some(1000), 2000), cordon], "");
        assert!(
            report.contains("under cordon: FAILED: QEMU exited"),
            "{report}"
        );
        assert!(report.contains("no virtual counter"), "{report}");
        assert!(report.contains("printed no `exits:` line"), "{report}");
    }
}
