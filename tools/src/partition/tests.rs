//! The example configs under `boards/*/configs/` parse, name a known board
//! and pass the checks that need no device tree.

use cordon_qemu::Board;

use super::{examples, load};
use crate::paths::Workspace;

#[test]
fn every_example_config_is_valid() {
    let workspace = Workspace::locate();
    let mut checked = Vec::new();
    for board in Board::ALL {
        for path in examples(&workspace, board).unwrap_or_else(|error| panic!("{error}")) {
            let loaded = load(&path).unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(loaded.config.board, board.name(), "{path:?}");
            checked.push(path);
        }
    }
    assert!(checked.len() >= 3, "only {checked:?}");
}
