//! The management VM's initramfs: the tree under `mgmt-vm/initramfs/` (its
//! `/init`), busybox, the programs built for the VM, the kernel modules and
//! guest images to load into other VMs, as a gzip-compressed newc cpio
//! archive.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use cordon_qemu::cpio::{Archive, Device};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use crate::error::{Error, Result};

/// Where busybox goes; `/init` runs it and installs its applets beside it.
const BUSYBOX: &str = "bin/busybox";
/// Where the programs go.
const PROGRAMS: &str = "bin";
/// Where the kernel modules go; `/init` loads them from there.
const MODULES: &str = "lib/modules";
/// Where guest images for `cordonctl load` go.
const GUEST_IMAGES: &str = "lib/cordon/images";
/// Mount points `/init` uses.
const MOUNT_POINTS: [&str; 3] = ["proc", "sys", "dev"];
/// The console Linux opens for `/init`'s standard streams, before `/init`
/// mounts devtmpfs on `/dev`.
const CONSOLE: &str = "dev/console";
const CONSOLE_DEVICE: Device = Device { major: 5, minor: 1 };

const DIRECTORY_PERMISSIONS: u32 = 0o755;
const EXECUTABLE_PERMISSIONS: u32 = 0o755;
const FILE_PERMISSIONS: u32 = 0o644;
const CONSOLE_PERMISSIONS: u32 = 0o600;
/// Any of the execute bits.
const EXECUTE_BITS: u32 = 0o111;

/// What goes into the initramfs.
#[derive(Debug, Clone, Copy)]
pub struct Contents<'a> {
    /// A directory copied as the archive's root.
    pub tree: &'a Path,
    /// A static busybox.
    pub busybox: &'a Path,
    /// Programs for `/bin`, under their file names.
    pub programs: &'a [PathBuf],
    /// Kernel modules for `/lib/modules`, under their file names.
    pub modules: &'a [PathBuf],
    /// Guest images for `/lib/cordon/images`, under their file names.
    pub guest_images: &'a [PathBuf],
}

/// Writes the initramfs of `contents` to `dest`, unless the one there holds
/// the same archive already; returns whether it wrote.
pub fn build(contents: &Contents<'_>, dest: &Path) -> Result<bool> {
    let archive = layout(contents)?.archive();
    if unpacked(dest).as_ref() == Some(&archive) {
        return Ok(false);
    }
    let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
    let compressed = gzip
        .write_all(&archive)
        .and_then(|()| gzip.finish())
        .map_err(|error| Error::io("cannot compress the initramfs", error))?;
    let mut scratch = dest.as_os_str().to_owned();
    scratch.push(".new");
    fs::write(&scratch, compressed)
        .and_then(|()| fs::rename(&scratch, dest))
        .map_err(|error| Error::io(format!("cannot write {}", dest.display()), error))?;
    Ok(true)
}

/// The archive in the initramfs at `path`, if there is a readable one.
fn unpacked(path: &Path) -> Option<Vec<u8>> {
    let mut archive = Vec::new();
    GzDecoder::new(fs::File::open(path).ok()?)
        .read_to_end(&mut archive)
        .ok()?;
    Some(archive)
}

/// Where everything goes.
fn layout(contents: &Contents<'_>) -> Result<Layout> {
    let mut layout = Layout::default();
    for mount_point in MOUNT_POINTS {
        layout.add(mount_point, Node::Directory)?;
    }
    layout.add(CONSOLE, Node::CharDevice(CONSOLE_DEVICE))?;
    layout.add(
        BUSYBOX,
        Node::file(read(contents.busybox)?, EXECUTABLE_PERMISSIONS),
    )?;
    for program in contents.programs {
        let path = format!("{PROGRAMS}/{}", file_name(program)?);
        layout.add(&path, Node::file(read(program)?, EXECUTABLE_PERMISSIONS))?;
    }
    for (dir, files) in [
        (MODULES, contents.modules),
        (GUEST_IMAGES, contents.guest_images),
    ] {
        for file in files {
            let path = format!("{dir}/{}", file_name(file)?);
            layout.add(&path, Node::file(read(file)?, FILE_PERMISSIONS))?;
        }
    }
    add_tree(&mut layout, contents.tree, "")?;
    Ok(layout)
}

/// Adds the files and directories under `dir` at `prefix` in the archive.
fn add_tree(layout: &mut Layout, dir: &Path, prefix: &str) -> Result<()> {
    let io_error = |path: &Path| {
        let context = format!("cannot read {}", path.display());
        move |error| Error::io(context, error)
    };
    let mut entries = fs::read_dir(dir)
        .and_then(|entries| entries.collect::<std::io::Result<Vec<_>>>())
        .map_err(io_error(dir))?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let source = entry.path();
        let path = format!("{prefix}{}", file_name(&source)?);
        let metadata = fs::symlink_metadata(&source).map_err(io_error(&source))?;
        if metadata.is_dir() {
            layout.add(&path, Node::Directory)?;
            add_tree(layout, &source, &format!("{path}/"))?;
        } else if metadata.is_file() {
            let executable = metadata.permissions().mode() & EXECUTE_BITS != 0;
            let permissions = if executable {
                EXECUTABLE_PERMISSIONS
            } else {
                FILE_PERMISSIONS
            };
            layout.add(&path, Node::file(read(&source)?, permissions))?;
        } else {
            return Err(Error::BadFile {
                path: source,
                problem: "only plain files and directories go into the initramfs".to_owned(),
            });
        }
    }
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|error| Error::io(format!("cannot read {}", path.display()), error))
}

fn file_name(path: &Path) -> Result<&str> {
    path.file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| Error::BadFile {
            path: path.to_owned(),
            problem: "the initramfs takes only UTF-8 file names".to_owned(),
        })
}

/// One entry of the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Directory,
    File { data: Vec<u8>, permissions: u32 },
    CharDevice(Device),
}

impl Node {
    fn file(data: Vec<u8>, permissions: u32) -> Self {
        Node::File { data, permissions }
    }
}

/// The archive's entries by path. A path sorts before every path below it,
/// so writing them in order creates each directory before its contents.
#[derive(Debug, Default)]
struct Layout {
    nodes: BTreeMap<String, Node>,
}

impl Layout {
    /// Adds `node` at `path` (relative, `/`-separated), and the directories
    /// above it.
    fn add(&mut self, path: &str, node: Node) -> Result<()> {
        let parents = path.match_indices('/').map(|(at, _)| &path[..at]);
        for parent in parents {
            self.put(parent, Node::Directory)?;
        }
        self.put(path, node)
    }

    /// Puts `node` at `path`; a directory may be put more than once.
    fn put(&mut self, path: &str, node: Node) -> Result<()> {
        match self.nodes.get(path) {
            None => {
                self.nodes.insert(path.to_owned(), node);
                Ok(())
            }
            Some(Node::Directory) if node == Node::Directory => Ok(()),
            Some(_) => Err(Error::BadFile {
                path: Path::new("/").join(path),
                problem: "the initramfs would hold two entries here (is it in \
                          mgmt-vm/initramfs/ too?)"
                    .to_owned(),
            }),
        }
    }

    fn archive(&self) -> Vec<u8> {
        let mut archive = Archive::new();
        for (path, node) in &self.nodes {
            match node {
                Node::Directory => archive.directory(path, DIRECTORY_PERMISSIONS),
                Node::File { data, permissions } => archive.file(path, *permissions, data),
                Node::CharDevice(device) => archive.char_device(path, CONSOLE_PERMISSIONS, *device),
            };
        }
        archive.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory that is removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        fn write(&self, path: &str, data: &[u8], permissions: u32) -> PathBuf {
            let path = self.0.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, data).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(permissions)).unwrap();
            path
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// The paths in a newc archive, in order.
    fn paths(archive: &[u8]) -> Vec<String> {
        const HEADER_SIZE: usize = 110;
        const FIELD: usize = 8;
        let field = |at: usize, index: usize| {
            let start = at + 6 + index * FIELD;
            usize::from_str_radix(
                std::str::from_utf8(&archive[start..start + FIELD]).unwrap(),
                16,
            )
            .unwrap()
        };
        let mut at = 0;
        let mut paths = Vec::new();
        while at < archive.len() {
            let (size, name_size) = (field(at, 6), field(at, 11));
            let name = &archive[at + HEADER_SIZE..at + HEADER_SIZE + name_size - 1];
            paths.push(String::from_utf8(name.to_vec()).unwrap());
            at = (at + HEADER_SIZE + name_size).next_multiple_of(4);
            at = (at + size).next_multiple_of(4);
        }
        paths
    }

    #[test]
    fn lays_out_the_tree_busybox_programs_modules_and_images() {
        let scratch = Scratch::new("initramfs-layout");
        scratch.write("tree/init", b"#!/bin/busybox sh\n", 0o755);
        scratch.write("tree/etc/motd", b"hello\n", 0o644);
        let busybox = scratch.write("busybox", b"busybox", 0o644);
        let program = scratch.write("cordon-vcounter", b"program", 0o755);
        let module = scratch.write("virtio.ko", b"module", 0o644);
        let image = scratch.write("guest.bin", b"image", 0o644);
        let contents = Contents {
            tree: &scratch.0.join("tree"),
            busybox: &busybox,
            programs: &[program],
            modules: &[module],
            guest_images: &[image],
        };
        let layout = layout(&contents).unwrap();
        assert_eq!(
            paths(&layout.archive()),
            [
                "bin",
                "bin/busybox",
                "bin/cordon-vcounter",
                "dev",
                "dev/console",
                "etc",
                "etc/motd",
                "init",
                "lib",
                "lib/cordon",
                "lib/cordon/images",
                "lib/cordon/images/guest.bin",
                "lib/modules",
                "lib/modules/virtio.ko",
                "proc",
                "sys",
                "TRAILER!!!",
            ]
        );
        assert_eq!(
            layout.nodes["init"],
            Node::file(b"#!/bin/busybox sh\n".to_vec(), 0o755)
        );
        assert_eq!(
            layout.nodes["etc/motd"],
            Node::file(b"hello\n".to_vec(), 0o644)
        );
        assert_eq!(
            layout.nodes["bin/busybox"],
            Node::file(b"busybox".to_vec(), 0o755)
        );
    }

    #[test]
    fn a_path_given_twice_is_an_error() {
        let scratch = Scratch::new("initramfs-twice");
        scratch.write("tree/bin/busybox", b"other", 0o755);
        let busybox = scratch.write("busybox", b"busybox", 0o755);
        let contents = Contents {
            tree: &scratch.0.join("tree"),
            busybox: &busybox,
            programs: &[],
            modules: &[],
            guest_images: &[],
        };
        assert!(layout(&contents).is_err());
    }

    #[test]
    fn rebuilds_only_when_the_contents_change() {
        let scratch = Scratch::new("initramfs-build");
        scratch.write("tree/init", b"one", 0o755);
        let busybox = scratch.write("busybox", b"busybox", 0o755);
        let contents = Contents {
            tree: &scratch.0.join("tree"),
            busybox: &busybox,
            programs: &[],
            modules: &[],
            guest_images: &[],
        };
        let dest = scratch.0.join("initramfs.cpio.gz");
        assert!(build(&contents, &dest).unwrap());
        assert!(!build(&contents, &dest).unwrap());
        scratch.write("tree/init", b"two", 0o755);
        assert!(build(&contents, &dest).unwrap());
        assert_eq!(
            unpacked(&dest).unwrap(),
            layout(&contents).unwrap().archive()
        );
    }
}
