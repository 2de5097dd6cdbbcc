//! Printing results: a table (or plain lines) for people, JSON for
//! programs. Each result is a report struct that serializes to its JSON
//! form and knows how to print itself for people.

mod reports;
mod table;
mod units;

use std::io::{self, Write};

use serde::Serialize;

pub use reports::{
    ActionReport, EventReport, ImageReport, InfoReport, LoadReport, ResetReport, RingReport,
    VmReport, VmsReport,
};

/// What the user asked for: `--json` or not.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Format {
    Human,
    Json,
}

/// A result that can be printed both ways.
pub trait Report: Serialize {
    fn human(&self, out: &mut dyn Write) -> io::Result<()>;
}

/// Prints `report` in `format`; JSON as one line.
pub fn print(report: &impl Report, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Human => report.human(out),
        Format::Json => {
            serde_json::to_writer(&mut *out, report)?;
            writeln!(out)
        }
    }
}

/// An error, for `--json` users: `{"error": "..."}`.
#[derive(Serialize)]
pub struct ErrorReport {
    pub error: String,
}

impl Report for ErrorReport {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "cordonctl: {}", self.error)
    }
}

#[cfg(test)]
mod tests;
