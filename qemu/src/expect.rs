//! What a boot should print: lines to wait for and text that must not
//! appear; and what to type on its console, once which lines appeared.

use std::fmt;
use std::time::Duration;

/// A console line containing all of some substrings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    parts: Vec<String>,
}

impl Pattern {
    /// A line that contains every one of `parts`, in any order.
    pub fn line_with(parts: &[&str]) -> Self {
        Self {
            parts: parts.iter().map(|&part| part.to_owned()).collect(),
        }
    }

    /// Whether `line` contains every part.
    pub fn matches(&self, line: &str) -> bool {
        self.parts.iter().all(|part| line.contains(part.as_str()))
    }
}

impl From<&str> for Pattern {
    fn from(text: &str) -> Self {
        Self::line_with(&[text])
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quoted: Vec<String> = self.parts.iter().map(|part| format!("{part:?}")).collect();
        write!(f, "a line with {}", quoted.join(" and "))
    }
}

/// The expectations for one boot.
#[derive(Debug, Clone)]
pub struct Expect {
    pub(crate) wait_for: Vec<Pattern>,
    pub(crate) forbid: Vec<String>,
    pub(crate) deadline: Duration,
    pub(crate) settle: Duration,
    pub(crate) exit: bool,
    pub(crate) typing: Vec<Typing>,
}

/// Bytes to type on the console once a line matching `after` has appeared
/// (and every earlier typing was done).
#[derive(Debug, Clone)]
pub(crate) struct Typing {
    pub(crate) after: Pattern,
    pub(crate) bytes: Vec<u8>,
}

impl Expect {
    /// Expectations that give the boot `deadline` to print everything.
    pub fn within(deadline: Duration) -> Self {
        Self {
            wait_for: Vec::new(),
            forbid: Vec::new(),
            deadline,
            settle: Duration::ZERO,
            exit: false,
            typing: Vec::new(),
        }
    }

    /// Wait for a line matching `pattern`.
    pub fn line(mut self, pattern: impl Into<Pattern>) -> Self {
        self.wait_for.push(pattern.into());
        self
    }

    /// Stop and fail as soon as a line contains `text`.
    pub fn forbid(mut self, text: &str) -> Self {
        self.forbid.push(text.to_owned());
        self
    }

    /// Type `bytes` on the serial console once a line matching `after` has
    /// appeared, at any time so far, and the typing asked for before this
    /// one was done: typings happen one after the other, so an empty one
    /// makes the next also wait for its line.
    pub fn type_after(mut self, after: impl Into<Pattern>, bytes: &[u8]) -> Self {
        self.typing.push(Typing {
            after: after.into(),
            bytes: bytes.to_vec(),
        });
        self
    }

    /// Once every pattern has been seen, keep watching for forbidden text for
    /// `settle` before stopping QEMU.
    pub fn settle(mut self, settle: Duration) -> Self {
        self.settle = settle;
        self
    }

    /// Once every pattern has been seen, keep watching until QEMU exits by
    /// itself, before the deadline, and succeed only if it exits with status 0.
    pub fn then_exit_successfully(mut self) -> Self {
        self.exit = true;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_needs_all_parts_on_the_line() {
        let banner = Pattern::line_with(&["cordon 0.1.0 on board qemu-virt", "EL2"]);
        assert!(banner.matches("[cpu0 INFO] cordon 0.1.0 on board qemu-virt, running at EL2"));
        assert!(!banner.matches("[cpu0 INFO] cordon 0.1.0 on board qemu-virt"));
        assert!(!banner.matches("EL2"));
    }

    #[test]
    fn pattern_describes_itself() {
        let pattern = Pattern::line_with(&["a", "b"]);
        assert_eq!(pattern.to_string(), r#"a line with "a" and "b""#);
    }
}
