//! The example configs under `boards/*/configs/` parse, name a known board
//! and pass the checks that need no device tree.

use std::fs;

use cordon_qemu::Board;

use super::load;
use crate::paths::Workspace;

#[test]
fn every_example_config_is_valid() {
    let boards = Workspace::locate().root().join("boards");
    let mut checked = Vec::new();
    for board in Board::ALL {
        let dir = boards.join(board.name()).join("configs");
        let entries = fs::read_dir(&dir).unwrap_or_else(|error| panic!("{dir:?}: {error}"));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|ext| ext != "toml") {
                continue;
            }
            let loaded = load(&path).unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(loaded.config.board, board.name(), "{path:?}");
            checked.push(path);
        }
    }
    assert!(checked.len() >= 3, "only {checked:?}");
}
