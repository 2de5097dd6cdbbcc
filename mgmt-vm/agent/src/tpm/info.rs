//! What a TPM says of itself, for the device info: who made it
//! (`TPM_PT_MANUFACTURER`, four ASCII characters, such as `IBM` or `IFX`).

use tpm2_protocol::basic::TpmUint32;
use tpm2_protocol::data::{TpmCap, TpmCc, TpmPt, TpmuCapabilities};
use tpm2_protocol::frame::{TpmGetCapabilityCommand, TpmGetCapabilityResponse};

use super::TpmError;
use super::channel::{Auth, Tpm};

/// The characters a manufacturer's code is padded with.
const PADDING: [char; 2] = [' ', '\0'];

/// The TPM's manufacturer, as the TCG's vendor registry codes it.
pub fn manufacturer(tpm: &mut Tpm) -> Result<String, TpmError> {
    let command = TpmGetCapabilityCommand {
        handles: [],
        cap: TpmCap::TpmProperties,
        property: TpmUint32::new(TpmPt::Manufacturer.value()),
        property_count: TpmUint32::new(1),
    };
    let answer: TpmGetCapabilityResponse = tpm.execute(&command, Auth::None)?;
    let code = match &answer.capability_data.data {
        TpmuCapabilities::TpmProperties(properties) => properties
            .iter()
            .find(|tagged| tagged.property == TpmPt::Manufacturer)
            .map(|tagged| tagged.value.value()),
        _ => None,
    }
    .ok_or(TpmError::Unanswered {
        command: TpmCc::GetCapability,
        what: "its manufacturer",
    })?;
    let text: String = code
        .to_be_bytes()
        .iter()
        .map(|&byte| char::from(byte))
        .collect();
    Ok(text.trim_matches(PADDING).to_owned())
}
