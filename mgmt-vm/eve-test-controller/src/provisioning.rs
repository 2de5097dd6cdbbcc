//! What a node is provisioned with to onboard to this controller: an
//! onboarding key and its self-signed certificate, which the controller is
//! started to accept; for tests that run the agent on the host, both are
//! written as the agent's onboarding files in a scratch folder.

use std::path::PathBuf;
use std::time::Duration;

use cordon_eve::cert::Cert;
use cordon_eve::issue::{Issuer, Role, issue};
use cordon_eve::signing::SigningKey;

/// How long a test's onboarding certificate is valid.
const LIFETIME: Duration = Duration::from_secs(60 * 60);
const COMMON_NAME: &str = "cordon test node onboarding";
const CERT_FILE: &str = "onboard.cert.pem";
const KEY_FILE: &str = "onboard.key.pem";

/// A new onboarding key and its self-signed certificate.
pub fn onboarding_identity() -> (SigningKey, Cert) {
    let key = SigningKey::generate().expect("onboarding key");
    let cert = issue(
        COMMON_NAME,
        &key,
        Role::EndEntity,
        Issuer::SelfSigned,
        LIFETIME,
    )
    .expect("onboarding certificate");
    (key, cert)
}

/// A scratch folder, `<temp>/cordon-<name>-<pid>`, made afresh with a new
/// onboarding identity's files in it.
pub struct OnboardingFiles {
    pub dir: PathBuf,
    pub cert: Cert,
}

impl OnboardingFiles {
    pub fn create(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("cordon-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch folder");
        let (key, cert) = onboarding_identity();
        std::fs::write(dir.join(KEY_FILE), key.to_pkcs8_pem().as_bytes()).expect("write key");
        std::fs::write(dir.join(CERT_FILE), cert.pem()).expect("write certificate");
        Self { dir, cert }
    }

    pub fn cert_path(&self) -> PathBuf {
        self.dir.join(CERT_FILE)
    }

    pub fn key_path(&self) -> PathBuf {
        self.dir.join(KEY_FILE)
    }
}
