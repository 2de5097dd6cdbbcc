//! The example configs under `boards/*/configs/`, and the boot tests' own
//! under `qemu/tests/configs/`, parse, name a known board and pass the
//! checks that need no device tree.

use cordon_qemu::Board;

use super::{configs_in, load};
use crate::paths::Workspace;

#[test]
fn every_example_and_test_config_is_valid() {
    let workspace = Workspace::locate();
    let mut checked = Vec::new();
    let dirs = Board::ALL
        .into_iter()
        .map(|board| (board, workspace.example_configs(board)))
        .chain([(Board::QemuVirt, workspace.boot_test_configs())]);
    for (board, dir) in dirs {
        for path in configs_in(&dir).unwrap_or_else(|error| panic!("{error}")) {
            let loaded = load(&path).unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(loaded.config.board, board.name(), "{path:?}");
            checked.push(path);
        }
    }
    assert!(checked.len() >= 4, "only {checked:?}");
}
