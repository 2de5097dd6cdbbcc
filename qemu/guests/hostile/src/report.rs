//! The transcript: one line per probe, then a summary.
//!
//! ```text
//! hostile: <probe>: contained (<what happened>)
//! hostile: <probe>: ESCAPED (<what happened>)
//! hostile: summary: <n> probes, <e> escaped
//! ```

use core::fmt;

use crate::global::Global;
use crate::say;

/// The probe running, for the report of an unexpected exception.
static RUNNING: Global<Option<&'static str>> = Global::new(None);

/// The probe running now, if any.
pub fn running() -> Option<&'static str> {
    RUNNING.get()
}

#[derive(Default)]
pub struct Report {
    probes: u32,
    escaped: u32,
}

/// What a probe is given to deliver its verdict with (exactly once).
pub struct Judge {
    name: &'static str,
}

/// A verdict, delivered.
pub struct Verdict {
    escaped: bool,
}

impl Judge {
    /// The guest got nowhere; `what` says how it was stopped.
    pub fn contained(self, what: fmt::Arguments) -> Verdict {
        say!("hostile: {}: contained ({what})", self.name);
        Verdict { escaped: false }
    }

    /// The guest reached something it was not given; `what` says what.
    pub fn escaped(self, what: fmt::Arguments) -> Verdict {
        say!("hostile: {}: ESCAPED ({what})", self.name);
        Verdict { escaped: true }
    }

    /// [`contained`](Self::contained) if `contained`, else
    /// [`escaped`](Self::escaped).
    pub fn verdict(self, contained: bool, what: fmt::Arguments) -> Verdict {
        if contained {
            self.contained(what)
        } else {
            self.escaped(what)
        }
    }
}

impl Report {
    /// Runs the probe `name`, which prints its verdict line.
    pub fn probe(&mut self, name: &'static str, probe: impl FnOnce(Judge) -> Verdict) {
        RUNNING.set(Some(name));
        let verdict = probe(Judge { name });
        RUNNING.set(None);
        self.probes += 1;
        if verdict.escaped {
            self.escaped += 1;
        }
    }

    /// Says why probe `name` cannot run in this VM (it does not count).
    pub fn skip(&mut self, name: &'static str, why: fmt::Arguments) {
        say!("hostile: {name}: skipped ({why})");
    }

    pub fn print_summary(&self) {
        say!(
            "hostile: summary: {} probes, {} escaped",
            self.probes,
            self.escaped
        );
    }
}
