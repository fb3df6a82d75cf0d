//! Watching a running `wattevo` from a test: waiting for it, its simulated agents (children),
//! and its run log.

use std::path::Path;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// Waits until `ready()`, failing if `child` ends first or `limit` passes.
pub fn wait_until(child: &mut Child, limit: Duration, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(child.try_wait().expect("poll").is_none(), "wattevo ended before the test could interrupt it");
        assert!(start.elapsed() < limit, "timed out waiting for the run to progress");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for `child` to exit, at most `limit`.
pub fn wait_exit(child: &mut Child, limit: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("poll") {
            return status;
        }
        assert!(start.elapsed() < limit, "wattevo did not exit within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Process ids of the direct children of `pid` (the simulated agents).
pub fn children(pid: u32) -> Vec<i32> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("proc task dir");
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|s| s.split_whitespace().filter_map(|p| p.parse().ok()).collect::<Vec<i32>>())
        .collect()
}

/// Gone, or a zombie waiting for init.
pub fn is_dead(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

/// Fails unless every process of `pids` is gone within 5 s.
pub fn assert_dead_soon(pids: &[i32]) {
    let start = Instant::now();
    while !pids.iter().all(|&p| is_dead(p)) {
        assert!(start.elapsed() < Duration::from_secs(5), "board agents {pids:?} outlived the host");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The run's `log.jsonl`, empty while it does not exist.
pub fn log_text(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("log.jsonl")).unwrap_or_default()
}

/// The run log's lines, parsed.
pub fn log_lines(dir: &Path) -> Vec<serde_json::Value> {
    log_text(dir).lines().map(|l| serde_json::from_str(l).expect("log line is JSON")).collect()
}
