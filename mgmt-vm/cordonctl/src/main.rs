//! `cordonctl`: see `cordonctl help` and the crate's library.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use cordonctl::cli::{self, Parsed};
use cordonctl::client::{Client, RESPONSE_TIMEOUT};
use cordonctl::commands;
use cordonctl::device_tree::{self, PROC_DEVICE_TREE};
use cordonctl::devmem::DevMem;
use cordonctl::error::Error;
use cordonctl::output::{self, ErrorReport, Format};

/// The exit status of a command line that does not parse.
const USAGE_STATUS: u8 = 2;

fn main() -> ExitCode {
    let (command, json) = match cli::parse(std::env::args().skip(1)) {
        Ok(Parsed::Run { command, json }) => (command, json),
        Ok(Parsed::Help) => {
            println!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("cordonctl: {error}\n\n{}", cli::USAGE);
            return ExitCode::from(USAGE_STATUS);
        }
    };
    let format = if json { Format::Json } else { Format::Human };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let result = device_tree::find(Path::new(PROC_DEVICE_TREE))
        .and_then(DevMem::open)
        .and_then(|region| Client::new(region, RESPONSE_TIMEOUT))
        .and_then(|mut client| commands::run(&mut client, &command, format, &mut out));
    let _ = out.flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report(&error, format),
    }
}

/// Prints `error`: on standard error, and with `--json` also as JSON on
/// standard output.
fn report(error: &Error, format: Format) -> ExitCode {
    eprintln!("cordonctl: {error}");
    if format == Format::Json {
        let report = ErrorReport {
            error: error.to_string(),
        };
        let _ = output::print(&report, format, &mut io::stdout());
    }
    ExitCode::FAILURE
}
