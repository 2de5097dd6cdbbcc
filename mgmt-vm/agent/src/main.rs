//! `cordon-agent [SETTINGS]`: runs the management VM's agent for an EVE
//! API controller with the settings file given (default
//! `/etc/cordon-agent.toml`) until killed.

mod cordon;

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cordon_agent::agent::{Agent, Provisioning};
use cordon_agent::backoff::Backoff;
use cordon_agent::identity::Identity;
use cordon_agent::settings::Settings;
use cordon_agent::store::StateDir;
use cordon_agent::tpm::{self, Tpm};
use cordon_agent::transport::{HttpDatastores, HttpTransport};
use cordon_eve::cert::Cert;

/// Where the image puts the settings.
const DEFAULT_SETTINGS: &str = "/etc/cordon-agent.toml";

fn main() -> ExitCode {
    let path = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from(DEFAULT_SETTINGS), PathBuf::from);
    match start(&path) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cordon-agent: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Sets the agent up and runs it; rounds go on until the process is
/// killed, so this returns only if the agent cannot start.
fn start(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings::load(path)?;
    let state = StateDir::open(&settings.state_dir)?;
    let tpm = tpm::find().map(|device| Tpm::open(&device)).transpose()?;
    let identity = Identity::load_or_create(
        &settings.onboarding_cert,
        &settings.onboarding_key,
        &settings.serial,
        &state,
        tpm,
    )?;
    eprintln!("cordon-agent: device key: {}", identity.device_key);
    let root_pem = std::fs::read_to_string(&settings.root_ca).map_err(|error| {
        format!(
            "cannot read the root CA {}: {error}",
            settings.root_ca.display()
        )
    })?;
    let root = Cert::from_pem(&root_pem)?;
    let transport = HttpTransport::new(&settings.controller, root_pem.as_bytes())?;
    let partitions = cordon::open()?;
    let provisioning = Provisioning {
        identity,
        root,
        serial: settings.serial.clone(),
    };
    let datastores = Box::new(HttpDatastores::default());
    let mut agent = Agent::new(transport, datastores, partitions, provisioning, state)?;
    agent.resume();
    agent.run(settings.interval(), &mut Backoff::default(), |wait| {
        std::thread::sleep(wait);
        ControlFlow::Continue(())
    });
    Ok(())
}
