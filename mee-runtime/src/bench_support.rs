//! Measurement helpers for benchmarks: CPU time and memory of this process (or one thread), read
//! from `/proc` so that no extra dependency is needed. Linux only; elsewhere they return `None`.

use std::time::{Duration, Instant};

/// `/proc` reports CPU times in clock ticks of `USER_HZ`, which Linux fixes at 100 for this
/// interface on every architecture, whatever the kernel's internal tick rate.
const USER_HZ: u64 = 100;

/// User plus system CPU time of the whole process so far.
pub fn process_cpu_time() -> Option<Duration> {
    cpu_time_from_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// User plus system CPU time of one thread of this process, by its kernel thread id.
pub fn thread_cpu_time(tid: u32) -> Option<Duration> {
    cpu_time_from_stat(&std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?)
}

/// The kernel id of the calling thread, for [`thread_cpu_time`] from another thread.
pub fn current_thread_id() -> Option<u32> {
    // `/proc/thread-self` links to `<pid>/task/<tid>`.
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// Peak resident memory of the process (`VmHWM`), in bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    status_kib("VmHWM:").map(|k| k * 1024)
}

/// Current resident memory of the process (`VmRSS`), in bytes.
pub fn current_rss_bytes() -> Option<u64> {
    status_kib("VmRSS:").map(|k| k * 1024)
}

fn status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Fields 14 (utime) and 15 (stime) of a `stat` line. The command name in field 2 may contain
/// spaces and parentheses, so counting starts after its closing parenthesis.
fn cpu_time_from_stat(stat: &str) -> Option<Duration> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    // After the name come field 3 (state) onwards; utime is field 14, i.e. the 12th from here.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 1000 / USER_HZ))
}

/// Wall time and process CPU time between [`Measure::start`] and [`Measure::finish`].
#[derive(Debug, Clone, Copy)]
pub struct Measure {
    wall: Instant,
    cpu: Duration,
}

/// What a [`Measure`] observed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    pub wall: Duration,
    pub cpu: Duration,
    pub peak_rss_bytes: u64,
}

impl Measure {
    pub fn start() -> Self {
        Measure {
            wall: Instant::now(),
            cpu: process_cpu_time().unwrap_or_default(),
        }
    }

    pub fn finish(&self) -> Measured {
        Measured {
            wall: self.wall.elapsed(),
            cpu: process_cpu_time()
                .unwrap_or_default()
                .saturating_sub(self.cpu),
            peak_rss_bytes: peak_rss_bytes().unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stat_line_with_a_tricky_name() {
        let line =
            "1234 (a (b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0 100 0 0";
        assert_eq!(cpu_time_from_stat(line), Some(Duration::from_millis(3250)));
    }

    #[test]
    fn reads_this_process() {
        if cfg!(target_os = "linux") {
            assert!(process_cpu_time().is_some());
            assert!(peak_rss_bytes().unwrap_or(0) > 0);
            let tid = current_thread_id().expect("tid");
            assert!(thread_cpu_time(tid).is_some());
        }
    }
}
