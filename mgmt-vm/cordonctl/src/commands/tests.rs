//! Each command against the fake cordon, through the whole client.

use std::time::Duration;

use cordon_abi::{ABI_MAJOR, ABI_MINOR, ErrorCode, ImageHasher, Opcode, ResetKind, VmState};

use super::{info, list, load, read_ring, run};
use crate::cli::{Command, ImageFile, Load, parse_digest};
use crate::client::{BUSY_ATTEMPTS, Client, RESPONSE_TIMEOUT};
use crate::error::Error;
use crate::fake::{FakeCordon, FakeVm, TempDir};
use crate::output::Format;

fn client(cordon: FakeCordon) -> Client<FakeCordon> {
    Client::new(cordon, RESPONSE_TIMEOUT).unwrap()
}

fn output(client: &mut Client<FakeCordon>, command: Command, format: Format) -> String {
    let mut out = Vec::new();
    run(client, &command, format, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn refused(result: Result<impl std::fmt::Debug, Error>) -> (Opcode, ErrorCode) {
    match result.unwrap_err() {
        Error::Refused { opcode, code } => (opcode, code),
        other => panic!("not a refusal: {other}"),
    }
}

#[test]
fn info_as_a_table_and_as_json() {
    let mut client = client(FakeCordon::standard());
    let abi = format!("{ABI_MAJOR}.{ABI_MINOR}");
    assert_eq!(
        output(&mut client, Command::Info, Format::Human),
        format!(
            "cordon  0.1.0 (ABI {abi})\n\
             board   fake\n\
             CPUs    4\n\
             VMs     2\n\
             memory  2 GiB, 1 GiB free\n\
             uptime  0.001s\n"
        )
    );
    assert_eq!(
        output(&mut client, Command::Info, Format::Json),
        format!(
            "{{\"version\":\"0.1.0\",\"abi\":\"{abi}\",\"board\":\"fake\",\"cpus\":4,\"vms\":2,\
             \"memory_total\":2147483648,\"memory_free\":1073741824,\"uptime_ns\":2000000}}\n"
        )
    );
}

#[test]
fn list_as_a_table_and_as_json() {
    let mut client = client(FakeCordon::standard());
    let table = output(&mut client, Command::List, Format::Human);
    assert_eq!(
        table,
        "NAME  STATE    ROLE        VCPUS  CPUS  MEMORY  RESTARTS  UPTIME  EXITS\n\
         mgmt  running  management  1      1     64 MiB  0         0.007s  1\n\
         rt    stopped  workload    1      1     64 MiB  0         -       1\n\
         \n\
         mgmt: exits hvc=1 smc=0 mmio=0 stage2-fault=0 wfi=0 wfe=0 sysreg=0 irq=0 other=0\n\
         \n\
         rt: exits hvc=1 smc=0 mmio=0 stage2-fault=0 wfi=0 wfe=0 sysreg=0 irq=0 other=0\n"
    );
    let json: serde_json::Value =
        serde_json::from_str(&output(&mut client, Command::List, Format::Json)).unwrap();
    assert_eq!(json[1]["name"], "rt");
    assert_eq!(json[1]["state"], "stopped");
    assert_eq!(json[0]["role"], "management");
    assert_eq!(json[0]["cpus"], serde_json::json!([1]));
    assert_eq!(json[0]["exits"]["hvc"], 1);
    assert_eq!(json[0]["kernel_sha256"], serde_json::Value::Null);
}

#[test]
fn reset_device_asks_cordon_once() {
    let mut client = client(FakeCordon::standard());
    assert_eq!(
        output(
            &mut client,
            Command::ResetDevice(ResetKind::Reboot),
            Format::Human
        ),
        "machine reboot requested\n"
    );
    assert_eq!(
        output(
            &mut client,
            Command::ResetDevice(ResetKind::PowerOff),
            Format::Json
        ),
        "{\"reset\":\"poweroff\"}\n"
    );
    assert_eq!(
        client.region().resets,
        [ResetKind::Reboot, ResetKind::PowerOff]
    );
}

#[test]
fn start_stop_restart_and_their_refusals() {
    let mut client = client(FakeCordon::standard());
    let start = Command::Start("rt".into());
    assert_eq!(
        output(&mut client, start.clone(), Format::Human),
        "rt started\n"
    );
    assert_eq!(
        output(&mut client, Command::Restart("rt".into()), Format::Json),
        "{\"vm\":\"rt\",\"done\":\"restarted\"}\n"
    );
    let mut sink = Vec::new();
    let again = run(&mut client, &start, Format::Human, &mut sink);
    assert_eq!(refused(again), (Opcode::Start, ErrorCode::WrongState));
    let missing = run(
        &mut client,
        &Command::Stop("nope".into()),
        Format::Human,
        &mut sink,
    );
    assert_eq!(refused(missing), (Opcode::Stop, ErrorCode::NoSuchVm));
    let mgmt = run(
        &mut client,
        &Command::Stop("mgmt".into()),
        Format::Human,
        &mut sink,
    );
    assert_eq!(refused(mgmt), (Opcode::Stop, ErrorCode::NotPermitted));
    let vms = list(&mut client).unwrap();
    assert_eq!(vms.0[1].state, "running");
    assert_eq!(vms.0[1].restarts, 1);
}

#[test]
fn a_console_read_in_pieces_and_the_log() {
    let mut cordon = FakeCordon::standard();
    cordon.vms[1].console = b"older bytes are gone; these remain\n".to_vec();
    cordon.vms[1].console_dropped = 1000;
    let mut client = client(cordon);
    let console = read_ring(&mut client, Some("mgmt")).unwrap();
    assert_eq!(console.bytes, b"[mgmt] Booting Linux\n[mgmt] ready\n");
    assert_eq!(console.start, 0);
    let rt = read_ring(&mut client, Some("rt")).unwrap();
    assert_eq!(rt.start, 1000);
    assert_eq!(rt.text, "older bytes are gone; these remain\n");
    assert_eq!(
        output(&mut client, Command::Log, Format::Human),
        "[cpu0 INFO ] cordon 0.1.0 on board fake\n"
    );
    assert_eq!(
        output(&mut client, Command::Console("rt".into()), Format::Json),
        "{\"vm\":\"rt\",\"start\":1000,\"text\":\"older bytes are gone; these remain\\n\"}\n"
    );
}

fn image(dir: &TempDir, name: &str, size: usize) -> (ImageFile, String) {
    let path = dir.0.join(name);
    let bytes: Vec<u8> = (0..size).map(|n| (n * 7) as u8).collect();
    std::fs::write(&path, &bytes).unwrap();
    let mut hasher = ImageHasher::new();
    hasher.update(&bytes);
    let file = ImageFile { path, sha256: None };
    (file, hasher.finish().to_string())
}

#[test]
fn load_measures_and_start_launches_what_was_measured() {
    let dir = TempDir::new("load");
    // Several chunks, the last one short.
    let (kernel, kernel_sha) = image(&dir, "Image", 3 * cordon_abi::MAX_CHUNK_SIZE + 5);
    let (initrd, initrd_sha) = image(&dir, "initrd", 10);
    let mut client = client(FakeCordon::standard());
    let request = Load {
        vm: "rt".into(),
        kernel: ImageFile {
            sha256: parse_digest(&kernel_sha),
            ..kernel
        },
        initrd: Some(initrd),
    };
    let report = load(&mut client, &request).unwrap();
    assert_eq!(report.images[0].sha256, kernel_sha);
    assert_eq!(report.images[1].sha256, initrd_sha);
    assert_eq!(report.images[1].size, 10);
    let text = output(&mut client, Command::Load(request), Format::Human);
    assert!(text.starts_with("rt: kernel "), "{text}");
    assert!(text.contains(&format!("sha256 {initrd_sha} verified by cordon")));
    assert!(list(&mut client).unwrap().0[1].images_pending);

    output(&mut client, Command::Start("rt".into()), Format::Human);
    let rt = &list(&mut client).unwrap().0[1];
    assert_eq!(rt.kernel_sha256.as_deref(), Some(kernel_sha.as_str()));
    assert_eq!(rt.initrd_sha256.as_deref(), Some(initrd_sha.as_str()));
    assert!(!rt.images_pending);
    let table = output(&mut client, Command::List, Format::Human);
    assert!(table.contains(&format!("rt: kernel sha256 {kernel_sha}\n")));
}

#[test]
fn a_wrong_hash_is_refused_and_the_vm_does_not_start() {
    let dir = TempDir::new("wrong-hash");
    let (kernel, _) = image(&dir, "Image", 100);
    let mut client = client(FakeCordon::standard());
    let request = Load {
        vm: "rt".into(),
        kernel: ImageFile {
            sha256: Some(cordon_abi::Digest([0x11; 32])),
            ..kernel.clone()
        },
        initrd: None,
    };
    assert_eq!(
        refused(load(&mut client, &request)),
        (Opcode::LoadEnd, ErrorCode::HashMismatch)
    );
    let mut sink = Vec::new();
    let start = run(
        &mut client,
        &Command::Start("rt".into()),
        Format::Human,
        &mut sink,
    );
    assert_eq!(refused(start), (Opcode::Start, ErrorCode::HashMismatch));
    // A good load lifts the refusal.
    let good = Load {
        kernel,
        ..request.clone()
    };
    load(&mut client, &good).unwrap();
    run(
        &mut client,
        &Command::Start("rt".into()),
        Format::Human,
        &mut sink,
    )
    .unwrap();
    // A running VM takes no images.
    assert_eq!(
        refused(load(&mut client, &good)),
        (Opcode::LoadBegin, ErrorCode::WrongState)
    );
}

#[test]
fn a_missing_image_file_is_named() {
    let mut client = client(FakeCordon::standard());
    let request = Load {
        vm: "rt".into(),
        kernel: ImageFile {
            path: "/nonexistent/Image".into(),
            sha256: None,
        },
        initrd: None,
    };
    let error = load(&mut client, &request).unwrap_err().to_string();
    assert!(
        error.starts_with("cannot read /nonexistent/Image: "),
        "{error}"
    );
}

#[test]
fn events_of_state_changes() {
    let mut client = client(FakeCordon::standard());
    assert_eq!(
        output(
            &mut client,
            Command::Events { follow: false },
            Format::Human
        ),
        ""
    );
    output(&mut client, Command::Start("rt".into()), Format::Human);
    output(&mut client, Command::Stop("rt".into()), Format::Human);
    assert_eq!(
        output(
            &mut client,
            Command::Events { follow: false },
            Format::Human
        ),
        "#1 at 0.001s: rt running (restarts 0)\n#2 at 0.002s: rt stopped (restarts 0)\n"
    );
    let json = output(&mut client, Command::Events { follow: false }, Format::Json);
    let lines: Vec<&str> = json.lines().collect();
    assert_eq!(
        lines[1],
        "{\"sequence\":2,\"uptime_ns\":2000000,\"vm\":\"rt\",\"state\":\"stopped\",\"restarts\":0}"
    );
}

#[test]
fn busy_requests_are_sent_again() {
    let mut cordon = FakeCordon::standard();
    cordon.busy_rings = 3;
    let mut client = client(cordon);
    assert_eq!(info(&mut client).unwrap().board, "fake");
    assert_eq!(client.region().rings, 4);
}

#[test]
fn a_cordon_busy_for_long_is_reported() {
    let mut cordon = FakeCordon::standard();
    cordon.busy_rings = u32::MAX;
    let mut client = client(cordon);
    assert_eq!(refused(info(&mut client)), (Opcode::Info, ErrorCode::Busy));
    assert_eq!(client.region().rings, BUSY_ATTEMPTS);
}

#[test]
fn a_silent_cordon_times_out() {
    let mut cordon = FakeCordon::standard();
    cordon.silent = true;
    let mut client = Client::new(cordon, Duration::from_millis(20)).unwrap();
    assert!(matches!(
        info(&mut client),
        Err(Error::Timeout { sequence: 1 })
    ));
}

#[test]
fn a_region_that_is_not_cordons_is_refused() {
    let mut cordon = FakeCordon::new(vec![FakeVm::new("a", VmState::Running)]);
    cordon.memory[0] = 0;
    let error = Client::new(cordon, RESPONSE_TIMEOUT).err().unwrap();
    assert!(matches!(
        error,
        Error::Abi(cordon_abi::AbiError::BadMagic { .. })
    ));
}
