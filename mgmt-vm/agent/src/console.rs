//! A partition's console read as lines, from a stream position on: cordon
//! keeps the end of each console's output in a ring and answers reads from
//! any position, saying when the bytes asked for were overwritten already.

use crate::partitions::{PartitionError, Partitions};

/// Longest line kept whole; a longer one is cut into lines this long (the
/// per-message limit of EVE's log pipeline).
pub const MAX_LINE_BYTES: usize = 8192;
/// A line break on the console.
const NEWLINE: u8 = b'\n';
/// What a serial console ends lines with before the line break.
const CARRIAGE_RETURN: u8 = b'\r';

/// One line of console output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    /// The stream position after the line (and its line break).
    pub end: u64,
}

/// What a read of a console found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleRead {
    /// Whole lines, and lines cut at [`MAX_LINE_BYTES`]; empty lines are
    /// left out.
    pub lines: Vec<Line>,
    /// Where the next read starts: after the last line given (an unfinished
    /// line waits for the next read).
    pub next: u64,
    /// Bytes from the position asked for that cordon no longer had.
    pub lost: u64,
    /// The console's stream ends before the position asked for: cordon
    /// started again since, and the read was from the stream's beginning.
    pub restarted: bool,
}

/// Reads partition `name`'s console from stream position `from` up to the
/// end it had at the first answer.
pub fn read_lines(
    partitions: &mut dyn Partitions,
    name: &str,
    from: u64,
) -> Result<ConsoleRead, PartitionError> {
    let mut first = partitions.read_console(name, from)?;
    let restarted = first.end < from;
    let asked = if restarted { 0 } else { from };
    if restarted {
        first = partitions.read_console(name, asked)?;
    }
    let (start, end) = (first.start, first.end);
    let mut bytes = first.bytes;
    let mut next = start + bytes.len() as u64;
    while next < end {
        let chunk = partitions.read_console(name, next)?;
        // Empty: nothing more to read. Later than asked: overwritten while
        // read; the next read finds (and reports) the gap.
        if chunk.bytes.is_empty() || chunk.start != next {
            break;
        }
        bytes.extend_from_slice(&chunk.bytes);
        next += chunk.bytes.len() as u64;
    }
    let (lines, consumed) = split(&bytes, start);
    Ok(ConsoleRead {
        lines,
        next: start + consumed as u64,
        lost: start.saturating_sub(asked),
        restarted,
    })
}

/// The lines in `bytes`, which start at stream position `start`, and how
/// many bytes they take.
fn split(bytes: &[u8], start: u64) -> (Vec<Line>, usize) {
    let mut lines = Vec::new();
    let mut consumed = 0;
    let mut push = |piece: &[u8], end: usize| {
        let piece = piece.strip_suffix(&[CARRIAGE_RETURN]).unwrap_or(piece);
        if !piece.is_empty() {
            lines.push(Line {
                text: String::from_utf8_lossy(piece).into_owned(),
                end: start + end as u64,
            });
        }
    };
    loop {
        let rest = &bytes[consumed..];
        let (piece, taken) = match rest.iter().position(|byte| *byte == NEWLINE) {
            Some(at) if at <= MAX_LINE_BYTES => (&rest[..at], at + 1),
            _ if rest.len() >= MAX_LINE_BYTES => (&rest[..MAX_LINE_BYTES], MAX_LINE_BYTES),
            _ => return (lines, consumed),
        };
        consumed += taken;
        push(piece, consumed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeConsoles;

    fn texts(read: &ConsoleRead) -> Vec<&str> {
        read.lines.iter().map(|line| line.text.as_str()).collect()
    }

    #[test]
    fn whole_lines_are_read_and_an_unfinished_one_waits() {
        let mut console = FakeConsoles::one(1024, 1024);
        console.write("vm", b"one\r\ntwo\n\nthr");
        let read = read_lines(&mut console, "vm", 0).expect("read");
        assert_eq!(texts(&read), ["one", "two"]);
        assert_eq!(read.lines[0].end, 5);
        assert_eq!(read.next, 10, "after the empty line, before 'thr'");
        assert_eq!((read.lost, read.restarted), (0, false));
        console.write("vm", b"ee\n");
        let read = read_lines(&mut console, "vm", read.next).expect("read");
        assert_eq!(texts(&read), ["three"]);
        assert_eq!(read.next, 16);
    }

    #[test]
    fn a_read_goes_on_over_short_answers() {
        let mut console = FakeConsoles::one(1024, 3);
        console.write("vm", b"alpha\nbeta\n");
        let read = read_lines(&mut console, "vm", 0).expect("read");
        assert_eq!(texts(&read), ["alpha", "beta"]);
    }

    #[test]
    fn overwritten_output_is_counted_as_lost() {
        let mut console = FakeConsoles::one(8, 1024);
        console.write("vm", b"old\n");
        let read = read_lines(&mut console, "vm", 0).expect("read");
        assert_eq!(read.next, 4);
        console.write("vm", b"lost\nkept\n");
        let read = read_lines(&mut console, "vm", read.next).expect("read");
        // The ring keeps "st\nkept\n": the cut line comes first.
        assert_eq!(read.lost, 2);
        assert_eq!(texts(&read), ["st", "kept"]);
    }

    #[test]
    fn a_stream_that_started_again_is_read_from_its_beginning() {
        let mut console = FakeConsoles::one(1024, 1024);
        console.write("vm", b"after the reboot\n");
        let read = read_lines(&mut console, "vm", 500).expect("read");
        assert!(read.restarted);
        assert_eq!(texts(&read), ["after the reboot"]);
        assert_eq!(read.next, 17);
    }

    #[test]
    fn a_long_line_is_cut() {
        let mut console = FakeConsoles::one(4 * MAX_LINE_BYTES, 1024);
        let long = vec![b'x'; MAX_LINE_BYTES + 10];
        console.write("vm", &long);
        let read = read_lines(&mut console, "vm", 0).expect("read");
        assert_eq!(read.lines.len(), 1, "the cut's rest waits for its end");
        assert_eq!(read.lines[0].text.len(), MAX_LINE_BYTES);
        assert_eq!(read.next, MAX_LINE_BYTES as u64);
        console.write("vm", b"\n");
        let read = read_lines(&mut console, "vm", read.next).expect("read");
        assert_eq!(read.lines[0].text, "x".repeat(10));
    }
}
