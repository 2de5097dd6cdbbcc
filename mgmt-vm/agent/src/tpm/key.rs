//! Keys in the TPM: ECDSA P-256 (SHA-256) signing keys made by TPM2_Create
//! under the owner hierarchy's storage primary key (an ECC P-256 key of the
//! TCG's usual storage template, which TPM2_CreatePrimary derives again
//! from the hierarchy's seed at every start), loaded with TPM2_Load from
//! the blobs kept in the state directory. The device key signs any message
//! with TPM2_Sign; the attestation key is restricted: it signs only what
//! the TPM itself made, such as quotes ([`super::quote`]). Keys loaded in
//! one TPM share its connection ([`SharedTpm`]): /dev/tpm0 opens once.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use cordon_eve::signing::{Sign, SignError};
use p256::ecdsa::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};
use tpm2_protocol::basic::{TpmHandle, TpmUint16};
use tpm2_protocol::data::{
    Tpm2bDigest, Tpm2bPrivate, Tpm2bPublic, TpmAlgId, TpmCc, TpmEccCurve, TpmRh, TpmSt, TpmaObject,
    TpmsEccParms, TpmsEccPoint, TpmsSchemeHash, TpmtEccScheme, TpmtKdfScheme, TpmtPublic,
    TpmtSigScheme, TpmtSignature, TpmtSymDef, TpmtTkHashcheck, TpmuAsymScheme, TpmuPublicId,
    TpmuPublicParms, TpmuSigScheme, TpmuSignature, TpmuSymKeyBits, TpmuSymMode,
};
use tpm2_protocol::frame::{
    TpmCreateCommand, TpmCreatePrimaryCommand, TpmCreatePrimaryResponse, TpmCreateResponse,
    TpmFlushContextCommand, TpmFlushContextResponse, TpmLoadCommand, TpmLoadResponse,
    TpmSignCommand, TpmSignResponse,
};
use tpm2_protocol::{TpmMarshal, TpmUnmarshal, TpmWriter};

use super::TpmError;
use super::channel::{Auth, Tpm};

/// Bytes of a P-256 coordinate, and of each half of a signature.
const COORDINATE_LEN: usize = 32;
/// SEC1's tag of an uncompressed point (`04 || x || y`).
const SEC1_UNCOMPRESSED: u8 = 0x04;
/// Bits of the storage key's AES key, which wraps its children.
const STORAGE_AES_BITS: u16 = 128;
/// Room for one marshalled blob (a TPM message holds at most 4 KiB).
const BLOB_ROOM: usize = 4096;

/// The key as the state directory keeps it: its public area and its
/// private area wrapped by the storage key (`TPM2B_PUBLIC`,
/// `TPM2B_PRIVATE`, as the TPM gave them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyBlobs {
    pub public: Vec<u8>,
    pub private: Vec<u8>,
}

/// One connection to a TPM, shared by the keys loaded through it.
pub type SharedTpm = Arc<Mutex<Tpm>>;

/// What a key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Signs any message (the device key).
    Signing,
    /// Restricted: signs only what the TPM made, such as a quote of its
    /// PCRs (the attestation key).
    Attestation,
}

/// A P-256 signing key loaded in a TPM.
pub struct TpmKey {
    tpm: SharedTpm,
    handle: TpmHandle,
    public: VerifyingKey,
    device: String,
}

impl TpmKey {
    /// A new signing key, made in `tpm`; its blobs are for
    /// [`TpmKey::load`] later.
    pub fn create(tpm: Tpm) -> Result<(Self, KeyBlobs), TpmError> {
        Self::create_in(Arc::new(Mutex::new(tpm)), Purpose::Signing)
    }

    /// A new key for `purpose`, made in the TPM of `shared`.
    pub fn create_in(shared: SharedTpm, purpose: Purpose) -> Result<(Self, KeyBlobs), TpmError> {
        let mut guard = lock(&shared);
        let tpm = &mut *guard;
        let parent = storage_primary(tpm)?;
        let create = TpmCreateCommand {
            handles: [parent],
            in_sensitive: Default::default(),
            in_public: Tpm2bPublic {
                inner: signing_template(purpose),
            },
            outside_info: Default::default(),
            creation_pcr: Default::default(),
        };
        let created: Result<TpmCreateResponse, _> = tpm.execute(&create, Auth::EmptyPassword);
        let loaded = created.and_then(|created| {
            let handle = load(tpm, parent, &created.out_public, &created.out_private)?;
            let blobs = KeyBlobs {
                public: marshal(&created.out_public, TpmCc::Create)?,
                private: marshal(&created.out_private, TpmCc::Create)?,
            };
            Ok((handle, created.out_public.inner, blobs))
        });
        flush(tpm, parent)?;
        let (handle, public, blobs) = loaded?;
        let device = tpm.name().to_owned();
        drop(guard);
        Ok((Self::new(shared, device, handle, &public)?, blobs))
    }

    /// The key of `blobs`, loaded in `tpm` (the TPM that made it).
    pub fn load(tpm: Tpm, blobs: &KeyBlobs) -> Result<Self, TpmError> {
        Self::load_in(Arc::new(Mutex::new(tpm)), blobs)
    }

    /// The key of `blobs`, loaded in the TPM of `shared`.
    pub fn load_in(shared: SharedTpm, blobs: &KeyBlobs) -> Result<Self, TpmError> {
        let public = unmarshal::<Tpm2bPublic>(&blobs.public)?;
        let private = unmarshal::<Tpm2bPrivate>(&blobs.private)?;
        let mut guard = lock(&shared);
        let tpm = &mut *guard;
        let parent = storage_primary(tpm)?;
        let loaded = load(tpm, parent, &public, &private);
        flush(tpm, parent)?;
        let handle = loaded?;
        let device = tpm.name().to_owned();
        drop(guard);
        Self::new(shared, device, handle, &public.inner)
    }

    fn new(
        tpm: SharedTpm,
        device: String,
        handle: TpmHandle,
        public: &TpmtPublic,
    ) -> Result<Self, TpmError> {
        Ok(Self {
            device,
            tpm,
            handle,
            public: verifying_key(public)?,
        })
    }

    /// The connection to the TPM the key is in, for more keys there.
    pub fn connection(&self) -> SharedTpm {
        Arc::clone(&self.tpm)
    }

    /// The key's handle in its TPM, for commands of its own.
    pub(super) fn handle(&self) -> TpmHandle {
        self.handle
    }

    /// The TPM the key is in, for one command or a few.
    pub(super) fn tpm(&self) -> MutexGuard<'_, Tpm> {
        lock(&self.tpm)
    }

    /// The TPM device the key is in.
    pub fn device(&self) -> &str {
        &self.device
    }

    /// ECDSA over SHA-256(`message`) by the TPM, as raw `r || s`.
    fn sign_in_tpm(&self, message: &[u8]) -> Result<Vec<u8>, TpmError> {
        let digest = Sha256::digest(message);
        let command = TpmSignCommand {
            handles: [self.handle],
            digest: Tpm2bDigest::try_from(digest.as_slice()).map_err(|error| {
                TpmError::Marshal {
                    command: TpmCc::Sign,
                    error,
                }
            })?,
            in_scheme: TpmtSigScheme {
                scheme: TpmAlgId::Ecdsa,
                details: TpmuSigScheme::Hash(TpmsSchemeHash {
                    hash_alg: TpmAlgId::Sha256,
                }),
            },
            // An unrestricted key signs any digest: no ticket needed.
            validation: TpmtTkHashcheck {
                tag: TpmSt::HashCheck,
                hierarchy: TpmRh::Null,
                digest: Tpm2bDigest::default(),
            },
        };
        let signed: TpmSignResponse = self.tpm().execute(&command, Auth::EmptyPassword)?;
        let signature = ecdsa_signature(&signed.signature)?;
        Ok(signature.to_bytes().to_vec())
    }
}

impl Sign for TpmKey {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        self.sign_in_tpm(message)
            .map_err(|error| SignError::Holder(error.to_string()))
    }

    fn public_key(&self) -> VerifyingKey {
        self.public
    }
}

impl Drop for TpmKey {
    /// Unloads the key: through /dev/tpm0, with no resource manager to do
    /// it when the device is closed, a loaded object would take one of the
    /// TPM's few object slots until it resets.
    fn drop(&mut self) {
        // Best effort: a drop cannot report, and the TPM may be gone.
        let _ = flush(&mut lock(&self.tpm), self.handle);
    }
}

impl fmt::Debug for TpmKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TpmKey(P-256 in {})", self.device)
    }
}

/// The TPM of `shared`; a thread that panicked holding it left no command
/// half sent (each is written whole), so a poisoned lock is still good.
fn lock(shared: &SharedTpm) -> MutexGuard<'_, Tpm> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The owner hierarchy's storage primary key, made (again) in `tpm`.
fn storage_primary(tpm: &mut Tpm) -> Result<TpmHandle, TpmError> {
    let command = TpmCreatePrimaryCommand {
        handles: [TpmHandle::new(TpmRh::Owner.value())],
        in_public: Tpm2bPublic {
            inner: storage_template(),
        },
        ..TpmCreatePrimaryCommand::default()
    };
    let primary: TpmCreatePrimaryResponse = tpm.execute(&command, Auth::EmptyPassword)?;
    Ok(primary.handles[0])
}

fn load(
    tpm: &mut Tpm,
    parent: TpmHandle,
    public: &Tpm2bPublic,
    private: &Tpm2bPrivate,
) -> Result<TpmHandle, TpmError> {
    let command = TpmLoadCommand {
        handles: [parent],
        in_private: *private,
        in_public: public.clone(),
    };
    let loaded: TpmLoadResponse = tpm.execute(&command, Auth::EmptyPassword)?;
    Ok(loaded.handles[0])
}

fn flush(tpm: &mut Tpm, handle: TpmHandle) -> Result<(), TpmError> {
    let command = TpmFlushContextCommand {
        flush_handle: handle,
        ..TpmFlushContextCommand::default()
    };
    let _: TpmFlushContextResponse = tpm.execute(&command, Auth::None)?;
    Ok(())
}

/// What both keys share: ECC P-256, SHA-256 names, made in this TPM and
/// never to leave it, used with an empty authorization value, and not
/// subject to dictionary-attack lockout (the value is empty anyway).
fn ecc_key(attributes: TpmaObject, parameters: TpmsEccParms) -> TpmtPublic {
    TpmtPublic {
        object_type: TpmAlgId::Ecc,
        name_alg: TpmAlgId::Sha256,
        object_attributes: TpmaObject::FIXED_TPM
            | TpmaObject::FIXED_PARENT
            | TpmaObject::SENSITIVE_DATA_ORIGIN
            | TpmaObject::USER_WITH_AUTH
            | TpmaObject::NO_DA
            | attributes,
        auth_policy: Tpm2bDigest::default(),
        parameters: TpmuPublicParms::Ecc(parameters),
        unique: TpmuPublicId::Ecc(TpmsEccPoint::default()),
    }
}

/// A restricted decryption key that wraps its children with AES-128-CFB.
fn storage_template() -> TpmtPublic {
    ecc_key(
        TpmaObject::RESTRICTED | TpmaObject::DECRYPT,
        TpmsEccParms {
            symmetric: TpmtSymDef {
                algorithm: TpmAlgId::Aes,
                key_bits: TpmuSymKeyBits::Aes(TpmUint16::new(STORAGE_AES_BITS)),
                mode: TpmuSymMode::Aes(TpmAlgId::Cfb),
            },
            scheme: TpmtEccScheme::default(),
            curve_id: TpmEccCurve::NistP256,
            kdf: TpmtKdfScheme::default(),
        },
    )
}

/// A signing key, ECDSA with SHA-256 only; restricted for attestation.
fn signing_template(purpose: Purpose) -> TpmtPublic {
    let restriction = match purpose {
        Purpose::Signing => TpmaObject::empty(),
        Purpose::Attestation => TpmaObject::RESTRICTED,
    };
    ecc_key(
        TpmaObject::SIGN_ENCRYPT | restriction,
        TpmsEccParms {
            symmetric: TpmtSymDef {
                algorithm: TpmAlgId::Null,
                key_bits: TpmuSymKeyBits::Null,
                mode: TpmuSymMode::Null,
            },
            scheme: TpmtEccScheme {
                scheme: TpmAlgId::Ecdsa,
                details: TpmuAsymScheme::Hash(TpmsSchemeHash {
                    hash_alg: TpmAlgId::Sha256,
                }),
            },
            curve_id: TpmEccCurve::NistP256,
            kdf: TpmtKdfScheme::default(),
        },
    )
}

/// The ECDSA P-256 signature of a TPM's answer.
pub(super) fn ecdsa_signature(signature: &TpmtSignature) -> Result<Signature, TpmError> {
    let TpmuSignature::Ecdsa(ecdsa) = &signature.signature else {
        return Err(TpmError::UnexpectedKey(format!(
            "signature is {:?}, not ECDSA",
            signature.sig_alg
        )));
    };
    let r = padded(&ecdsa.signature_r)?;
    let s = padded(&ecdsa.signature_s)?;
    Signature::from_scalars(r, s)
        .map_err(|_| TpmError::UnexpectedKey("its signature is not a P-256 one".to_owned()))
}

/// The P-256 public key of a TPM public area.
fn verifying_key(public: &TpmtPublic) -> Result<VerifyingKey, TpmError> {
    let TpmuPublicId::Ecc(point) = &public.unique else {
        return Err(TpmError::UnexpectedKey(format!(
            "a {:?} key, not ECC",
            public.object_type
        )));
    };
    let mut sec1 = vec![SEC1_UNCOMPRESSED];
    sec1.extend_from_slice(&padded(&point.x)?);
    sec1.extend_from_slice(&padded(&point.y)?);
    VerifyingKey::from_sec1_bytes(&sec1)
        .map_err(|_| TpmError::UnexpectedKey("its point is not on P-256".to_owned()))
}

/// A big-endian number as a P-256 coordinate: TPMs may leave out leading
/// zero bytes.
fn padded(number: &[u8]) -> Result<[u8; COORDINATE_LEN], TpmError> {
    let start = COORDINATE_LEN.checked_sub(number.len()).ok_or_else(|| {
        TpmError::UnexpectedKey(format!("a {}-byte number, not P-256's", number.len()))
    })?;
    let mut coordinate = [0u8; COORDINATE_LEN];
    coordinate[start..].copy_from_slice(number);
    Ok(coordinate)
}

pub(super) fn marshal(value: &impl TpmMarshal, command: TpmCc) -> Result<Vec<u8>, TpmError> {
    let mut room = [0u8; BLOB_ROOM];
    let mut writer = TpmWriter::new(&mut room);
    value
        .marshal(&mut writer)
        .map_err(|error| TpmError::Marshal { command, error })?;
    Ok(writer.as_bytes().to_vec())
}

fn unmarshal<T: TpmUnmarshal>(blob: &[u8]) -> Result<T, TpmError> {
    match T::unmarshal(blob) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(TpmError::BadBlob(tpm2_protocol::TpmError::TrailingData {
            offset: blob.len() - rest.len(),
            actual: rest.len(),
        })),
        Err(error) => Err(TpmError::BadBlob(error)),
    }
}
