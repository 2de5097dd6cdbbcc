//! The example configs under `boards/*/configs/`, and the boot tests' own
//! under `qemu/tests/configs/`, parse, name a known board and pass the
//! checks that need no device tree; x86-pc's also fit the PC the tools
//! boot.

use cordon_qemu::Board;

use cordon_config::PcFacts;
use cordon_qemu::pc::{PC_DEFAULT_CPUS, PC_MEMORY_MIB};

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
            if board == Board::X86Pc {
                let pc = PcFacts {
                    cpus: PC_DEFAULT_CPUS as usize,
                    ram: std::iter::once(1 << 20..u64::from(PC_MEMORY_MIB) << 20).collect(),
                };
                let errors = loaded.config.pc_errors(&pc);
                assert!(errors.is_empty(), "{path:?}: {errors:?}");
            }
            checked.push(path);
        }
    }
    assert!(checked.len() >= 4, "only {checked:?}");
}
