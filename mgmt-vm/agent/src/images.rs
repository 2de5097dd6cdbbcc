//! The image a config asks an app's partition to run, and getting it: the
//! app's first volume names a content tree, which names a datastore, a
//! path in it and the image's SHA-256. The image is downloaded from
//! `fqdn[/dpath]/url` into the state directory and kept only if its
//! SHA-256 is the one in the (signed) config; that check, not the
//! connection, is what makes the image trusted, so datastores may be plain
//! HTTP or HTTPS under the public web PKI.

use std::fmt;
use std::io::{self, Read};
use std::path::PathBuf;

use cordon_eve::cert::hex;
use cordon_eve::proto::config::{AppInstanceConfig, EdgeDevConfig};
use sha2::{Digest, Sha256};

use crate::store::{Access, StateDir, StoreError};

/// Bytes of a SHA-256.
pub const SHA256_LEN: usize = 32;
/// Where images are kept in the state directory, by SHA-256.
const IMAGE_PREFIX: &str = "image-";

/// An image to run, as the config gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub url: String,
    pub sha256: [u8; SHA256_LEN],
}

#[derive(Debug)]
pub enum ImageError {
    /// The app names a volume the config does not have.
    NoVolume { volume: String },
    /// A volume names a content tree the config does not have.
    NoContentTree { tree: String },
    /// A content tree names a datastore the config does not have.
    NoDatastore { datastore: String },
    /// A content tree's `sha256` is not 64 hexadecimal digits.
    BadSha256 { tree: String, value: String },
    /// The datastore did not give the image.
    Download { url: String, error: String },
    /// The image's SHA-256 is not the config's, or it could not be stored.
    Store(StoreError),
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoVolume { volume } => {
                write!(f, "app names volume {volume}, which the config lacks")
            }
            Self::NoContentTree { tree } => {
                write!(
                    f,
                    "volume names content tree {tree}, which the config lacks"
                )
            }
            Self::NoDatastore { datastore } => {
                write!(
                    f,
                    "content tree names datastore {datastore}, which the config lacks"
                )
            }
            Self::BadSha256 { tree, value } => {
                write!(
                    f,
                    "content tree {tree} sha256 '{value}' is not 64 hex digits"
                )
            }
            Self::Download { url, error } => write!(f, "cannot download {url}: {error}"),
            Self::Store(error) => write!(f, "image not kept: {error}"),
        }
    }
}

impl std::error::Error for ImageError {}

/// The image of `app`'s first volume, if it has one.
pub fn image_of(
    app: &AppInstanceConfig,
    config: &EdgeDevConfig,
) -> Result<Option<ImageRef>, ImageError> {
    let Some(volume_ref) = app.volume_ref_list.first() else {
        return Ok(None);
    };
    let volume = config
        .volumes
        .iter()
        .find(|volume| volume.uuid == volume_ref.uuid)
        .ok_or_else(|| ImageError::NoVolume {
            volume: volume_ref.uuid.clone(),
        })?;
    let tree_id = volume
        .origin
        .as_ref()
        .map_or("", |origin| origin.download_content_tree_id.as_str());
    let tree = config
        .content_info
        .iter()
        .find(|tree| tree.uuid == tree_id)
        .ok_or_else(|| ImageError::NoContentTree {
            tree: tree_id.to_owned(),
        })?;
    let datastore = config
        .datastores
        .iter()
        .find(|datastore| datastore.id == tree.ds_id)
        .ok_or_else(|| ImageError::NoDatastore {
            datastore: tree.ds_id.clone(),
        })?;
    let sha256 = parse_sha256(&tree.sha256).ok_or_else(|| ImageError::BadSha256 {
        tree: tree.uuid.clone(),
        value: tree.sha256.clone(),
    })?;
    let mut url = datastore.fqdn.trim_end_matches('/').to_owned();
    let dpath = datastore.dpath.trim_matches('/');
    if !dpath.is_empty() {
        url = format!("{url}/{dpath}");
    }
    url = format!("{url}/{}", tree.url.trim_start_matches('/'));
    Ok(Some(ImageRef { url, sha256 }))
}

fn parse_sha256(text: &str) -> Option<[u8; SHA256_LEN]> {
    let text = text.trim();
    if text.len() != 2 * SHA256_LEN || !text.is_ascii() {
        return None;
    }
    let mut bytes = [0; SHA256_LEN];
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * index..2 * index + 2], 16).ok()?;
    }
    Some(bytes)
}

/// Where images come from.
pub trait Datastores {
    /// The body at `url`, to read once.
    fn open(&self, url: &str) -> Result<Box<dyn Read>, String>;
}

/// The image, downloaded into `state` unless it is there already; its path.
pub fn fetch(
    image: &ImageRef,
    datastores: &dyn Datastores,
    state: &StateDir,
) -> Result<PathBuf, ImageError> {
    let name = format!("{IMAGE_PREFIX}{}", hex(&image.sha256));
    if state.exists(&name) {
        return Ok(state.path(&name));
    }
    let body = datastores
        .open(&image.url)
        .map_err(|error| ImageError::Download {
            url: image.url.clone(),
            error,
        })?;
    let mut verified = Verified {
        inner: body,
        hasher: Sha256::new(),
        expected: image.sha256,
    };
    state
        .write_from(&name, &mut verified, Access::Public)
        .map_err(ImageError::Store)?;
    Ok(state.path(&name))
}

/// A reader that fails at its end if what it gave does not have the
/// expected SHA-256, so that a bad image is never kept.
struct Verified {
    inner: Box<dyn Read>,
    hasher: Sha256,
    expected: [u8; SHA256_LEN],
}

impl Read for Verified {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buffer)?;
        if read == 0 {
            let got: [u8; SHA256_LEN] = self.hasher.clone().finalize().into();
            if got != self.expected {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "SHA-256 {} is not the config's {}",
                        hex(&got),
                        hex(&self.expected)
                    ),
                ));
            }
        }
        self.hasher.update(&buffer[..read]);
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use cordon_eve::proto::config::{ContentTree, Volume, VolumeContentOrigin, VolumeRef};

    use super::*;

    const SHA: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    fn app_with_volume() -> AppInstanceConfig {
        AppInstanceConfig {
            volume_ref_list: vec![VolumeRef {
                uuid: "v".to_owned(),
                ..VolumeRef::default()
            }],
            ..AppInstanceConfig::default()
        }
    }

    fn config(sha256: &str) -> EdgeDevConfig {
        EdgeDevConfig {
            volumes: vec![Volume {
                uuid: "v".to_owned(),
                origin: Some(VolumeContentOrigin {
                    download_content_tree_id: "t".to_owned(),
                    ..VolumeContentOrigin::default()
                }),
                ..Volume::default()
            }],
            content_info: vec![ContentTree {
                uuid: "t".to_owned(),
                ds_id: "d".to_owned(),
                url: "/kernel.img".to_owned(),
                sha256: sha256.to_owned(),
                ..ContentTree::default()
            }],
            datastores: vec![cordon_eve::proto::config::DatastoreConfig {
                id: "d".to_owned(),
                fqdn: "https://store.example/".to_owned(),
                dpath: "/images/".to_owned(),
                ..Default::default()
            }],
            ..EdgeDevConfig::default()
        }
    }

    #[test]
    fn image_url_joins_datastore_path_and_content_tree() {
        let image = image_of(&app_with_volume(), &config(SHA))
            .expect("image")
            .expect("some");
        assert_eq!(image.url, "https://store.example/images/kernel.img");
        assert_eq!(hex(&image.sha256), SHA);
    }

    #[test]
    fn app_without_volumes_has_no_image() {
        let app = AppInstanceConfig::default();
        assert_eq!(image_of(&app, &config(SHA)).expect("no error"), None);
    }

    #[test]
    fn missing_volume_is_named() {
        let mut config = config(SHA);
        config.volumes.clear();
        let result = image_of(&app_with_volume(), &config);
        assert!(
            matches!(result, Err(ImageError::NoVolume { ref volume }) if volume == "v"),
            "{result:?}"
        );
    }

    #[test]
    fn missing_datastore_is_named() {
        let mut config = config(SHA);
        config.datastores.clear();
        let result = image_of(&app_with_volume(), &config);
        assert!(
            matches!(result, Err(ImageError::NoDatastore { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn sha256_that_is_not_hex_is_refused() {
        let result = image_of(&app_with_volume(), &config("not a hash"));
        assert!(
            matches!(result, Err(ImageError::BadSha256 { .. })),
            "{result:?}"
        );
    }
}
