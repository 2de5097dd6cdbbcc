//! Putting several sources of output (cordon's log, each VM's console) on
//! one terminal: every line starts with its source's prefix, a line one
//! source left open is ended before another writes, and guests cannot send
//! escape sequences or control characters to the terminal.

const BACKSPACE: u8 = 0x08;
const DELETE: u8 = 0x7f;
const ESCAPE: u8 = 0x1b;
/// Bytes that end a CSI escape sequence.
const CSI_FINAL: core::ops::RangeInclusive<u8> = 0x40..=0x7e;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Escape {
    None,
    /// After ESC: one more byte, or '[' for a control sequence.
    Started,
    /// After ESC '[': up to the final byte.
    ControlSequence,
}

#[derive(Debug)]
pub struct Multiplexer {
    /// The source whose line is unfinished, if any.
    open_line: Option<usize>,
    escape: Escape,
}

impl Default for Multiplexer {
    fn default() -> Self {
        Self::new()
    }
}

impl Multiplexer {
    pub const fn new() -> Self {
        Self {
            open_line: None,
            escape: Escape::None,
        }
    }

    /// Passes `bytes` of guest output from `source` to `out`, each line
    /// after `prefix`.
    pub fn guest_output(
        &mut self,
        source: usize,
        prefix: &str,
        bytes: &[u8],
        out: &mut impl FnMut(u8),
    ) {
        for &byte in bytes {
            if self.open_line != Some(source) {
                self.end_open_line(out);
                prefix.bytes().for_each(&mut *out);
                self.open_line = Some(source);
            }
            match (self.escape, byte) {
                (Escape::Started, b'[') => self.escape = Escape::ControlSequence,
                (Escape::Started, _) => self.escape = Escape::None,
                (Escape::ControlSequence, b) => {
                    if CSI_FINAL.contains(&b) {
                        self.escape = Escape::None;
                    }
                }
                (Escape::None, ESCAPE) => self.escape = Escape::Started,
                (Escape::None, b'\n') => {
                    out(b'\r');
                    out(b'\n');
                    self.open_line = None;
                }
                (Escape::None, b'\t' | BACKSPACE) => out(byte),
                (Escape::None, b) if b < b' ' || b == DELETE => {}
                (Escape::None, b) => out(b),
            }
        }
    }

    /// Ends a line a guest left open (before cordon writes a line of its own).
    pub fn end_open_line(&mut self, out: &mut impl FnMut(u8)) {
        self.escape = Escape::None;
        if self.open_line.take().is_some() {
            out(b'\r');
            out(b'\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(steps: &[(usize, &str, &[u8])]) -> String {
        let mut mux = Multiplexer::new();
        let mut out = Vec::new();
        for &(source, prefix, bytes) in steps {
            if source == usize::MAX {
                mux.end_open_line(&mut |b| out.push(b));
                out.extend_from_slice(bytes);
            } else {
                mux.guest_output(source, prefix, bytes, &mut |b| out.push(b));
            }
        }
        String::from_utf8(out).unwrap()
    }

    const LOG: usize = usize::MAX;

    #[test]
    fn prefixes_every_line() {
        assert_eq!(run(&[(1, "[a] ", b"one\ntwo\n")]), "[a] one\r\n[a] two\r\n");
    }

    #[test]
    fn sources_never_share_a_line() {
        let text = run(&[
            (1, "[a] ", b"prompt# "),
            (2, "[b] ", b"hello\n"),
            (1, "[a] ", b"ls\n"),
            (LOG, "", b"[cpu0 INFO ] log\r\n"),
            (1, "[a] ", b"x"),
            (LOG, "", b"[cpu0 INFO ] more\r\n"),
        ]);
        assert_eq!(
            text,
            "[a] prompt# \r\n[b] hello\r\n[a] ls\r\n[cpu0 INFO ] log\r\n[a] x\r\n[cpu0 INFO ] more\r\n"
        );
    }

    #[test]
    fn escape_sequences_and_control_characters_are_dropped() {
        let text = run(&[(1, "", b"a\x1b[6nb\x1b[1;31mc\x1b7d\x07e\x7f\tf\x08g\rh\n")]);
        assert_eq!(text, "abcde\tf\x08gh\r\n");
    }
}
