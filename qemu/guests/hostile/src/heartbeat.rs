//! Heartbeat mode: `heartbeat <n>` (n = 1, 2, 3, ...) every 100 ms of
//! virtual counter time, forever, sleeping on the virtual timer between
//! beats. It is the neighbour of a hostile VM: a test checks its beats go
//! on while the other VM attacks. A beat later than it should be also
//! prints
//!
//! ```text
//! hostile: heartbeat: late: <ms> ms between heartbeat <n-1> and <n>
//! ```

use crate::counter::{self, MICROS_PER_MILLI};
use crate::platform::Platform;
use crate::say;
use crate::vtimer::VirtualTimer;

/// Time between beats.
const PERIOD_MICROS: u64 = 100_000;
/// A beat this many periods after the one before is reported late.
const LATE_PERIODS: u64 = 2;

pub fn run(platform: &Platform) -> ! {
    let timer = VirtualTimer::take(platform);
    let period = counter::ticks(PERIOD_MICROS);
    say!(
        "hostile: heartbeat: every {} ms",
        PERIOD_MICROS / MICROS_PER_MILLI
    );
    let mut deadline = counter::now();
    let mut last = deadline;
    let mut n: u64 = 0;
    loop {
        n += 1;
        deadline += period;
        timer.sleep_until(deadline);
        let now = counter::now();
        say!("heartbeat {n}");
        let since_last = now.wrapping_sub(last);
        if since_last >= LATE_PERIODS * period {
            say!(
                "hostile: heartbeat: late: {} ms between heartbeat {} and {n}",
                counter::micros(since_last) / MICROS_PER_MILLI,
                n - 1
            );
        }
        // Beats missed are not made up for: the next is a period from now.
        if now.saturating_sub(deadline) >= period {
            deadline = now;
        }
        last = now;
    }
}
