//! The agent's device key in a TPM, end to end: QEMU's `virt` gets a TPM 2.0
//! (`tpm-tis-device`, emulated by a swtpm this test starts), cordon passes
//! it through to the management VM (`qemu/tests/configs/agent-tpm.toml`),
//! whose kernel offers it as `/dev/tpmrm0`; the agent makes its device key
//! in it and onboards to the test controller (`eve-test-controller`) on the
//! host's loopback. The controller accepts only envelopes whose signature
//! checks out with the device certificate, so every request it takes was
//! signed by the TPM; it must hold the node's device info saying the TPM
//! holds the key, and the agent must say so on the console. The agent's
//! attestation carries a real quote: the controller must hold the TPM
//! attestation certificate the device key issued and the PCRs (0-15) of
//! the quote it verified (signature, nonce, PCR digest).
//!
//! Run this through `cargo xtask test`, which builds the config and passes
//! the machine that boots it in the environment, and installs swtpm.

// Shared with the other boot tests; this one needs only the config's machine.
#[allow(dead_code)]
mod common;
mod node;

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use cordon_eve::proto::config::EdgeDevConfig;
use cordon_eve::proto::info::{HwSecurityModuleStatus, ZInfoDevice};
use cordon_qemu::mgmt_vm::marker;
use cordon_qemu::swtpm::Swtpm;
use cordon_qemu::{Expect, boot_until};
use eve_test_controller::{Authority, TestController};

use common::config_machine;
use eve_test_controller::provisioning::onboarding_identity;
use node::{HOST_FROM_GUEST, Scratch, write_provisioning};

const CONFIG: &str = "agent-tpm";
const SERIAL: &str = "cordon-qemu-tpm-node";
/// What the agent prints when the TPM holds its key: swtpm's TPM is made by
/// IBM (its libtpms), as the TPM itself says.
const TPM_KEY: &str = "cordon-agent: device key: TPM 2.0 (/dev/tpmrm0, made by IBM)";
/// What the device info says of the TPM.
const HSM_INFO: &str = "TPM 2.0 at /dev/tpmrm0, made by IBM, holding the device key";
/// The PCRs a verified quote covers.
const QUOTED_PCRS: std::ops::Range<u32> = 0..16;
/// From power-on to the controller holding the node's device info: cordon
/// and Linux boot, DHCP, the key made in the (emulated) TPM, and the agent's
/// first round on a small, busy CI machine.
const REPORT_DEADLINE: Duration = Duration::from_secs(240);
/// Longest the whole boot may take.
const BOOT_DEADLINE: Duration = Duration::from_secs(600);
const POLL: Duration = Duration::from_millis(250);
const KERNEL_PANIC: &str = "Kernel panic";
const CORDON_ERROR: &str = "ERROR]";
const CORDON_PANIC: &str = "panic on cpu";

#[test]
fn agent_onboards_with_its_device_key_in_the_tpm() {
    let mut described = config_machine(CONFIG);
    assert!(described.tpm, "no VM of {CONFIG} is given the TPM");
    assert!(described.network, "no VM of {CONFIG} is given the network");

    let scratch = Scratch::new("controller-tpm");
    let swtpm = Swtpm::start(&scratch.0.join("swtpm")).expect("swtpm");
    let authority = Authority::generate().expect("controller keys");
    let (key, cert) = onboarding_identity();
    let controller = TestController::start_https(authority, vec![cert.clone()], HOST_FROM_GUEST)
        .expect("test controller");
    let disk = scratch.0.join("provisioning.img");
    write_provisioning(&disk, &controller, SERIAL, &key, &cert);
    described.disk = Some(disk);
    controller
        .registry()
        .configs
        .insert(SERIAL.to_owned(), EdgeDevConfig::default());

    let machine = described.machine().tpm(swtpm.socket());
    let expect = Expect::within(BOOT_DEADLINE)
        .line(marker::AGENT_STARTING)
        .line(TPM_KEY)
        .forbid(marker::FAILED)
        .forbid(KERNEL_PANIC)
        .forbid(CORDON_ERROR)
        .forbid(CORDON_PANIC);
    let (stop, told) = mpsc::channel();
    let qemu = thread::spawn(move || boot_until(&machine, &expect, &told));

    let give_up = Instant::now() + REPORT_DEADLINE;
    let info: Option<ZInfoDevice> = loop {
        let info = {
            let registry = controller.registry();
            let device = registry.devices.first().map(|device| device.uuid.clone());
            device.and_then(|uuid| registry.reports.get(&uuid)?.device_info())
        };
        if info.is_some() || qemu.is_finished() || Instant::now() >= give_up {
            break info;
        }
        thread::sleep(POLL);
    };
    let _ = stop.send(());
    let transcript = qemu
        .join()
        .expect("the boot's thread")
        .unwrap_or_else(|error| panic!("{error}"));
    let registry = controller.registry();
    let info = info.unwrap_or_else(|| {
        panic!(
            "the controller never held the node's device info (refusals: {:?}); boot: {}\n{transcript}",
            registry.refusals,
            transcript.ending()
        )
    });
    assert!(
        transcript.succeeded(),
        "boot failed: {}\n{transcript}",
        transcript.ending()
    );
    assert!(registry.refusals.is_empty(), "{:?}", registry.refusals);
    assert_eq!(registry.devices.len(), 1, "registered once");
    assert_eq!(
        info.hsm_status,
        HwSecurityModuleStatus::Enabled as i32,
        "device info: {info:?}"
    );
    assert_eq!(info.hsm_info, HSM_INFO, "device info: {info:?}");
    // Info comes after the config, which needs the token of an accepted
    // attestation: the quote was verified by then.
    let device = &registry.devices[0];
    let attestation = device
        .attestation
        .as_ref()
        .expect("the controller holds the TPM attestation certificate");
    attestation
        .check_issued_by(&device.cert)
        .expect("the device key issued the attestation certificate");
    assert_eq!(
        device.quoted_pcrs,
        Some(QUOTED_PCRS.collect::<Vec<u32>>()),
        "the controller verified a quote over PCRs 0-15"
    );
}
