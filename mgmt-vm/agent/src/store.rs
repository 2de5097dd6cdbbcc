//! The agent's state directory: files written atomically (a temporary file,
//! synced, renamed over the old one, the directory synced), so that a power
//! cut leaves either the old content or the new, never a mix.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Permissions of the state directory: owner only.
const DIRECTORY_MODE: u32 = 0o700;
/// Suffix of the temporary file a write goes to before its rename.
const TEMPORARY_SUFFIX: &str = ".new";

/// Who may read a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Owner read/write only (private keys).
    Private,
    /// Everyone may read (certificates, config).
    Public,
}

impl Access {
    fn mode(self) -> u32 {
        match self {
            Self::Private => 0o600,
            Self::Public => 0o644,
        }
    }
}

/// A file of the state directory could not be read or written.
#[derive(Debug)]
pub struct StoreError {
    pub path: PathBuf,
    pub action: &'static str,
    pub error: io::Error,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot {} {}: {}",
            self.action,
            self.path.display(),
            self.error
        )
    }
}

impl std::error::Error for StoreError {}

#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// Opens the directory, making it if needed; only its owner may enter
    /// it (it holds the device's private key).
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        let fail = |action, error| StoreError {
            path: root.to_owned(),
            action,
            error,
        };
        fs::create_dir_all(root).map_err(|error| fail("create", error))?;
        fs::set_permissions(root, fs::Permissions::from_mode(DIRECTORY_MODE))
            .map_err(|error| fail("restrict access to", error))?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// The file's content, or `None` if there is no such file.
    pub fn read(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(name);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(StoreError {
                path,
                action: "read",
                error,
            }),
        }
    }

    /// Whether there is such a file.
    pub fn exists(&self, name: &str) -> bool {
        self.path(name).is_file()
    }

    /// Replaces the file's content atomically.
    pub fn write(&self, name: &str, mut bytes: &[u8], access: Access) -> Result<(), StoreError> {
        self.write_from(name, &mut bytes, access)
    }

    /// Replaces the file's content atomically with what `source` gives; if
    /// `source` fails, the file is left as it was.
    pub fn write_from(
        &self,
        name: &str,
        source: &mut dyn Read,
        access: Access,
    ) -> Result<(), StoreError> {
        let path = self.path(name);
        let temporary = self.path(&format!("{name}{TEMPORARY_SUFFIX}"));
        let fail = |action, error| StoreError {
            path: path.clone(),
            action,
            error,
        };
        // A leftover from an interrupted write may have other permissions.
        match fs::remove_file(&temporary) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(fail("clear the temporary file of", error)),
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(access.mode())
            .open(&temporary)
            .map_err(|error| fail("create the temporary file of", error))?;
        if let Err(error) = io::copy(source, &mut file).and_then(|_| file.sync_all()) {
            // Nothing of a failed write is kept.
            let _ = fs::remove_file(&temporary);
            return Err(fail("write", error));
        }
        fs::rename(&temporary, &path).map_err(|error| fail("replace", error))?;
        File::open(&self.root)
            .and_then(|directory| directory.sync_all())
            .map_err(|error| fail("sync the directory of", error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> StateDir {
        let root =
            std::env::temp_dir().join(format!("cordon-agent-store-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        StateDir::open(&root).expect("scratch directory")
    }

    #[test]
    fn written_file_reads_back_and_replaces_the_old() {
        let dir = scratch("replace");
        dir.write("a", b"old", Access::Public).expect("write");
        dir.write("a", b"new", Access::Public).expect("write");
        assert_eq!(dir.read("a").expect("read"), Some(b"new".to_vec()));
        assert!(!dir.path(&format!("a{TEMPORARY_SUFFIX}")).exists());
    }

    #[test]
    fn private_file_is_owner_only() {
        let dir = scratch("private");
        dir.write("key", b"secret", Access::Private).expect("write");
        let mode = fs::metadata(dir.path("key"))
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn directory_is_owner_only() {
        let dir = scratch("directory");
        let mode = fs::metadata(dir.path(""))
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, DIRECTORY_MODE);
    }

    #[test]
    fn failed_write_keeps_the_old_content_and_no_temporary_file() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("source broke"))
            }
        }
        let dir = scratch("failing");
        dir.write("a", b"old", Access::Public).expect("write");
        assert!(dir.write_from("a", &mut Failing, Access::Public).is_err());
        assert_eq!(dir.read("a").expect("read"), Some(b"old".to_vec()));
        assert!(!dir.path(&format!("a{TEMPORARY_SUFFIX}")).exists());
    }

    #[test]
    fn missing_file_reads_as_none() {
        assert_eq!(scratch("missing").read("nothing").expect("read"), None);
    }
}
