//! `cargo xtask`: builds cordon's board images and its management VM, boots
//! them under QEMU, and runs the tests and the benchmark, installing what they
//! need. `cargo xtask help` lists the tasks.

mod cli;
mod commands;
mod error;
mod exec;
mod guests;
mod image;
mod mgmt_vm;
mod musl;
mod partition;
mod paths;
mod pc_iso;
mod prereq;
mod sdcard;
#[cfg(test)]
mod test_elf;

use std::env;
use std::process::ExitCode;

use cordon_qemu::Board;

use cli::Task;
use error::Result;
use paths::Workspace;

fn main() -> ExitCode {
    match run(env::args().skip(1)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: impl IntoIterator<Item = String>) -> Result<()> {
    let workspace = Workspace::locate();
    match cli::parse(args)? {
        Task::Help => {
            println!("{}", cli::USAGE);
            Ok(())
        }
        Task::Build {
            board,
            config: Some(file),
        } => commands::build::build_with_config(&workspace, board, &file),
        Task::Build {
            board,
            config: None,
        } => {
            let boards = match board {
                Some(board) => vec![board],
                None => Board::ALL.to_vec(),
            };
            commands::build::build(&workspace, &boards)
        }
        Task::Image {
            board,
            config,
            append,
        } => commands::image::image(
            &workspace,
            board,
            config.as_deref(),
            append.as_deref().unwrap_or_default(),
        )
        .map(|_| ()),
        Task::Run(options) => commands::run::run(&workspace, &options),
        Task::SdCard {
            board,
            config,
            guest_append,
        } => commands::sdcard::sdcard(
            &workspace,
            board,
            config.as_deref(),
            guest_append.as_deref(),
        ),
        Task::Test => commands::test::test(&workspace),
        Task::Bench => commands::bench::bench(&workspace),
        Task::MgmtImage => commands::mgmt_image::mgmt_image(&workspace),
        Task::Fuzz { time } => commands::fuzz::fuzz(&workspace, time),
    }
}
