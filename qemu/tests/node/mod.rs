//! The node the controller boot tests onboard (`controller.rs`,
//! `controller_tpm.rs`): a scratch folder, an onboarding identity, and the
//! disk with the node's provisioning that the management VM's `/init`
//! unpacks before it runs the agent.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use cordon_eve::cert::Cert;
use cordon_eve::signing::SigningKey;
use cordon_qemu::cpio::Archive;
use cordon_qemu::test_disk;
use eve_test_controller::TestController;

/// The host's loopback as the VM sees it through QEMU's user networking.
pub const HOST_FROM_GUEST: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 2, 2));

/// Where the provisioning goes in the VM (the archive's paths are relative
/// to `/`), and the agent's state, on the VM's storage disk.
const SETTINGS_FILE: &str = "etc/cordon-agent.toml";
const ROOT_CA_FILE: &str = "etc/cordon/root-certificate.pem";
const ONBOARDING_CERT_FILE: &str = "etc/cordon/onboard.cert.pem";
const ONBOARDING_KEY_FILE: &str = "etc/cordon/onboard.key.pem";
const STATE_DIR: &str = "/persist/cordon-agent";
const FILE_PERMISSIONS: u32 = 0o644;
const KEY_PERMISSIONS: u32 = 0o600;
/// Seconds between the agent's rounds: a new config applies within one.
const INTERVAL_SECS: u64 = 1;

/// A scratch folder for one test, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// `<temp>/cordon-<test>-<pid>`, empty.
    pub fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("cordon-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes the disk with the provisioning of node `serial` for `controller`
/// to `disk`: a newc cpio archive, padded to whole sectors.
pub fn write_provisioning(
    disk: &Path,
    controller: &TestController,
    serial: &str,
    key: &SigningKey,
    cert: &Cert,
) {
    let settings = format!(
        "controller = \"{}\"\n\
         root_ca = \"/{ROOT_CA_FILE}\"\n\
         onboarding_cert = \"/{ONBOARDING_CERT_FILE}\"\n\
         onboarding_key = \"/{ONBOARDING_KEY_FILE}\"\n\
         serial = \"{serial}\"\n\
         state_dir = \"{STATE_DIR}\"\n\
         interval_secs = {INTERVAL_SECS}\n",
        controller.url()
    );
    let mut archive = Archive::new();
    archive
        .file(SETTINGS_FILE, FILE_PERMISSIONS, settings.as_bytes())
        .file(
            ROOT_CA_FILE,
            FILE_PERMISSIONS,
            controller.authority().root.pem().as_bytes(),
        )
        .file(
            ONBOARDING_CERT_FILE,
            FILE_PERMISSIONS,
            cert.pem().as_bytes(),
        )
        .file(
            ONBOARDING_KEY_FILE,
            KEY_PERMISSIONS,
            key.to_pkcs8_pem().as_bytes(),
        );
    let mut image = archive.finish();
    image.resize(image.len().next_multiple_of(test_disk::SECTOR_SIZE), 0);
    std::fs::write(disk, image)
        .unwrap_or_else(|error| panic!("cannot write {}: {error}", disk.display()));
}
