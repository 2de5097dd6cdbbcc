//! Configs the tests set for a device: an app instance that drives a
//! partition, and the image it runs.

use cordon_eve::proto::config::{
    AppInstanceConfig, ContentTree, DatastoreConfig, EdgeDevConfig, UuiDandVersion, Volume,
    VolumeContentOrigin, VolumeRef,
};

/// The version every app of these configs has.
const APP_VERSION: &str = "1";
/// The ids of the volume, content tree and datastore of [`with_image`].
const VOLUME: &str = "volume-1";
const CONTENT_TREE: &str = "tree-1";
const DATASTORE: &str = "store-1";

/// Where an image is: a datastore's URL, the file's path in it, and the
/// SHA-256 (64 hexadecimal digits) the config claims it has.
#[derive(Debug, Clone, Copy)]
pub struct ImageSource<'a> {
    pub datastore: &'a str,
    pub path: &'a str,
    pub sha256: &'a str,
}

/// `config` with its first app running the image `source` names: the app's
/// volume, the volume's content tree, the tree's datastore.
pub fn with_image(mut config: EdgeDevConfig, source: &ImageSource<'_>) -> EdgeDevConfig {
    if let Some(app) = config.apps.first_mut() {
        app.volume_ref_list = vec![VolumeRef {
            uuid: VOLUME.to_owned(),
            ..VolumeRef::default()
        }];
    }
    config.volumes = vec![Volume {
        uuid: VOLUME.to_owned(),
        origin: Some(VolumeContentOrigin {
            download_content_tree_id: CONTENT_TREE.to_owned(),
            ..VolumeContentOrigin::default()
        }),
        ..Volume::default()
    }];
    config.content_info = vec![ContentTree {
        uuid: CONTENT_TREE.to_owned(),
        ds_id: DATASTORE.to_owned(),
        url: source.path.to_owned(),
        sha256: source.sha256.to_owned(),
        ..ContentTree::default()
    }];
    config.datastores = vec![DatastoreConfig {
        id: DATASTORE.to_owned(),
        fqdn: source.datastore.to_owned(),
        ..DatastoreConfig::default()
    }];
    config
}

/// The app `uuid` bound to the partition `partition` (by its display name,
/// as the agent binds apps), running when `activate`.
pub fn app(uuid: &str, partition: &str, activate: bool) -> AppInstanceConfig {
    AppInstanceConfig {
        uuidandversion: Some(UuiDandVersion {
            uuid: uuid.to_owned(),
            version: APP_VERSION.to_owned(),
        }),
        displayname: partition.to_owned(),
        activate,
        ..AppInstanceConfig::default()
    }
}
