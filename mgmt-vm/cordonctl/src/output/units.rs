//! Numbers for people: sizes, durations, CPU lists.

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;
const NANOS_PER_SECOND: u64 = 1_000_000_000;
const SECONDS_PER_MINUTE: u64 = 60;
const SECONDS_PER_HOUR: u64 = 60 * SECONDS_PER_MINUTE;
const SECONDS_PER_DAY: u64 = 24 * SECONDS_PER_HOUR;

/// `512 MiB`, `2 GiB`, `1.5 GiB`, `4 KiB`, `100 B`.
pub fn bytes(value: u64) -> String {
    let (unit, name) = [(GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")]
        .into_iter()
        .find(|(unit, _)| value >= *unit)
        .unwrap_or((1, "B"));
    if value.is_multiple_of(unit) {
        format!("{} {name}", value / unit)
    } else {
        format!("{:.1} {name}", value as f64 / unit as f64)
    }
}

/// `3d04h05m`, `2h03m04s`, `5m06s`, `7.250s`.
pub fn duration(nanos: u64) -> String {
    let seconds = nanos / NANOS_PER_SECOND;
    let (days, hours) = (
        seconds / SECONDS_PER_DAY,
        seconds % SECONDS_PER_DAY / SECONDS_PER_HOUR,
    );
    let minutes = seconds % SECONDS_PER_HOUR / SECONDS_PER_MINUTE;
    let secs = seconds % SECONDS_PER_MINUTE;
    if days > 0 {
        format!("{days}d{hours:02}h{minutes:02}m")
    } else if hours > 0 {
        format!("{hours}h{minutes:02}m{secs:02}s")
    } else if minutes > 0 {
        format!("{minutes}m{secs:02}s")
    } else {
        let millis = nanos % NANOS_PER_SECOND / (NANOS_PER_SECOND / 1000);
        format!("{secs}.{millis:03}s")
    }
}

/// CPUs in increasing order, as ranges: `0-3,6`; `-` for none.
pub fn cpus(cpus: &[u32]) -> String {
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for &cpu in cpus {
        match ranges.last_mut() {
            Some((_, last)) if last.checked_add(1) == Some(cpu) => *last = cpu,
            _ => ranges.push((cpu, cpu)),
        }
    }
    if ranges.is_empty() {
        return "-".to_owned();
    }
    let text: Vec<String> = ranges
        .into_iter()
        .map(|(first, last)| {
            if first == last {
                first.to_string()
            } else {
                format!("{first}-{last}")
            }
        })
        .collect();
    text.join(",")
}

/// The CPUs whose bits are set in `mask`.
pub fn cpu_list(mask: u64) -> Vec<u32> {
    (0..u64::BITS).filter(|cpu| mask >> cpu & 1 == 1).collect()
}
