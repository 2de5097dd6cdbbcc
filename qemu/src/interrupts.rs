//! Linux's `/proc/interrupts`, as a guest prints it on the console: a header
//! naming the CPUs, then one row per interrupt with a count per CPU.
//!
//! ```text
//!            CPU0       CPU1
//!  11:       2104       1993     GIC-0  27 Level     arch_timer
//! IPI0:       157        201       Rescheduling interrupts
//! Err:          0
//! ```

/// One row: its label, its counts (one per CPU), and what follows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// What precedes the colon: an interrupt number, or a name like `IPI0`.
    pub label: String,
    pub counts: Vec<u64>,
    /// The controller, hardware number, trigger and handler names.
    pub description: String,
}

/// A parsed `/proc/interrupts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interrupts {
    /// How many CPUs the header names.
    pub cpus: usize,
    pub rows: Vec<Row>,
}

impl Interrupts {
    /// Parses the lines of `/proc/interrupts`; lines before the header and
    /// lines that are not rows (other console output mixed in) are skipped.
    pub fn parse<'a>(lines: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        let mut lines = lines.into_iter();
        let cpus = lines.by_ref().find_map(cpu_count)?;
        let rows = lines.filter_map(|line| row(line, cpus)).collect();
        Some(Self { cpus, rows })
    }

    /// The first row whose label is `label`.
    pub fn labelled(&self, label: &str) -> Option<&Row> {
        self.rows.iter().find(|row| row.label == label)
    }

    /// The first row whose description names `handler` as a word.
    pub fn handled_by(&self, handler: &str) -> Option<&Row> {
        self.rows.iter().find(|row| {
            row.description
                .split_whitespace()
                .any(|word| word == handler)
        })
    }
}

impl Row {
    /// Whether every one of `cpus` CPUs counted at least one interrupt.
    pub fn counted_on_every_cpu(&self, cpus: usize) -> bool {
        self.counts.len() == cpus && self.counts.iter().all(|&count| count > 0)
    }
}

/// The number of CPUs a header line (`CPU0 CPU1 ...`) names.
fn cpu_count(line: &str) -> Option<usize> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let all_cpus = !words.is_empty()
        && words.iter().all(|word| {
            word.strip_prefix("CPU")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        });
    all_cpus.then_some(words.len())
}

/// A row with up to `cpus` counts.
fn row(line: &str, cpus: usize) -> Option<Row> {
    let (label, rest) = line.split_once(':')?;
    let label = label.trim();
    if label.is_empty() || label.contains(char::is_whitespace) {
        return None;
    }
    let mut words = rest.split_whitespace().peekable();
    let mut counts = Vec::new();
    while counts.len() < cpus {
        match words.peek().and_then(|word| word.parse().ok()) {
            Some(count) => {
                counts.push(count);
                words.next();
            }
            None => break,
        }
    }
    if counts.is_empty() {
        return None;
    }
    Some(Row {
        label: label.to_owned(),
        counts,
        description: words.collect::<Vec<_>>().join(" "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "\
           CPU0       CPU1
 11:       2104       1993     GIC-0  27 Level     arch_timer
 13:          0          0     GIC-0  35 Level     virtio0
[cpu0 INFO ] exits: hvc=2
IPI0:       157        201       Rescheduling interrupts
IPI1:        12          0       Function call interrupts
Err:          0
";

    #[test]
    fn parses_rows_with_a_count_per_cpu() {
        let interrupts = Interrupts::parse(DUMP.lines()).unwrap();
        assert_eq!(interrupts.cpus, 2);
        let timer = interrupts.handled_by("arch_timer").unwrap();
        assert_eq!(timer.label, "11");
        assert_eq!(timer.counts, [2104, 1993]);
        assert_eq!(timer.description, "GIC-0 27 Level arch_timer");
        assert!(timer.counted_on_every_cpu(2));
        let ipi0 = interrupts.labelled("IPI0").unwrap();
        assert_eq!(ipi0.description, "Rescheduling interrupts");
        assert!(ipi0.counted_on_every_cpu(2));
        assert!(!interrupts.labelled("IPI1").unwrap().counted_on_every_cpu(2));
        assert_eq!(interrupts.labelled("Err").unwrap().counts, [0]);
        assert!(!interrupts.labelled("Err").unwrap().counted_on_every_cpu(2));
    }

    #[test]
    fn skips_what_is_not_a_row() {
        let interrupts = Interrupts::parse(DUMP.lines()).unwrap();
        assert_eq!(interrupts.rows.len(), 5);
        assert!(interrupts.handled_by("exits").is_none());
        assert!(interrupts.handled_by("virtio").is_none());
    }

    #[test]
    fn needs_a_header() {
        assert_eq!(Interrupts::parse(" 11: 1 2 arch_timer".lines()), None);
        assert_eq!(Interrupts::parse("".lines()), None);
    }
}
