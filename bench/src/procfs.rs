//! What the harness reads from `/proc`: CPU time (`utime + stime` of `/proc/<pid>/stat`) and
//! resident memory (`VmRSS`) of a process and all its descendants, and the load average.

use std::collections::HashMap;

/// `USER_HZ`: the unit of `utime`/`stime`, fixed at 100 by the Linux ABI on x86 and arm.
pub const TICKS_PER_SECOND: f64 = 100.0;

/// (pid, ppid, utime + stime in ticks) of every process.
fn all_stats() -> Vec<(u32, u32, u64)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else { return out };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        if let Some((ppid, ticks)) = stat_of(pid) {
            out.push((pid, ppid, ticks));
        }
    }
    out
}

/// (ppid, utime + stime) from `/proc/<pid>/stat`.
fn stat_of(pid: u32) -> Option<(u32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(0) ppid(1) ... utime(11) stime(12).
    Some((f.get(1)?.parse().ok()?, f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?))
}

/// `root` and all its descendants.
pub fn tree(root: u32) -> Vec<u32> {
    let stats = all_stats();
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for (pid, ppid, _) in &stats {
        children.entry(*ppid).or_default().push(*pid);
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        if let Some(c) = children.get(&out[i]) {
            out.extend(c);
        }
        i += 1;
    }
    out
}

/// CPU seconds (user + system) used so far by `root` and its descendants.
pub fn cpu_seconds(root: u32) -> f64 {
    tree(root).iter().filter_map(|p| stat_of(*p)).map(|(_, t)| t).sum::<u64>() as f64 / TICKS_PER_SECOND
}

/// CPU seconds of this process.
pub fn self_cpu_seconds() -> f64 {
    stat_of(std::process::id()).map_or(0.0, |(_, t)| t as f64 / TICKS_PER_SECOND)
}

/// `VmRSS` of one process in KiB.
fn rss_of(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Resident memory of `root` and its descendants in KiB (shared pages of forked workers are
/// counted once per process, as `ps` does).
pub fn rss_kib(root: u32) -> u64 {
    tree(root).iter().filter_map(|p| rss_of(*p)).sum()
}

/// The 1-, 5- and 15-minute load averages.
pub fn loadavg() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut it = text.split_whitespace().map(|v| v.parse().unwrap_or(f64::NAN));
    [it.next().unwrap_or(f64::NAN), it.next().unwrap_or(f64::NAN), it.next().unwrap_or(f64::NAN)]
}

/// Processes (other than `exclude` trees) that used more than `min_share` of one CPU over
/// `window`: (pid, share, command).
pub fn busy_processes(window: std::time::Duration, min_share: f64, exclude: &[u32]) -> Vec<(u32, f64, String)> {
    let before: HashMap<u32, u64> = all_stats().into_iter().map(|(p, _, t)| (p, t)).collect();
    std::thread::sleep(window);
    let skip: Vec<u32> = exclude.iter().flat_map(|r| tree(*r)).collect();
    let mut out = Vec::new();
    for (pid, _, t) in all_stats() {
        if skip.contains(&pid) {
            continue;
        }
        let used = t.saturating_sub(*before.get(&pid).unwrap_or(&t)) as f64 / TICKS_PER_SECOND;
        let share = used / window.as_secs_f64();
        if share > min_share {
            let cmd = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim().to_owned();
            out.push((pid, share, cmd));
        }
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        assert!(rss_kib(std::process::id()) > 0);
        assert!(tree(std::process::id()).contains(&std::process::id()));
        assert!(loadavg()[0] >= 0.0);
    }
}
