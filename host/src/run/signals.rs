//! SIGINT, SIGTERM and SIGHUP during a run: the first one asks the run to stop after the
//! candidate being evaluated (the engine checks [`flag`] between evaluations; the run then
//! syncs its log, saves its measurements, stops its agents by dropping them and exits with
//! 128 + the signal); a second one stops the agents and exits at once.
//!
//! No signal handler runs: the three signals are blocked in every thread (spawned children get
//! a clean mask from `std::process::Command`) and a watcher thread takes them with `sigwait`.

use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::signal::{SigSet, Signal, kill};
use nix::unistd::Pid;

static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The first stop signal received (its number), 0 while none came.
pub fn flag() -> &'static AtomicI32 {
    &SIGNAL
}

/// The signal that stopped the run, if one did.
pub fn received() -> Option<i32> {
    Some(SIGNAL.load(Ordering::SeqCst)).filter(|&s| s != 0)
}

fn stop_signals() -> SigSet {
    let mut set = SigSet::empty();
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        set.add(signal);
    }
    set
}

/// Blocks the stop signals in this thread (and so in every thread it spawns later) and starts
/// the watcher. Call before any other thread exists.
pub fn install() -> std::io::Result<()> {
    let set = stop_signals();
    set.thread_block().map_err(std::io::Error::from)?;
    std::thread::Builder::new().name("signals".into()).spawn(move || watch(set))?;
    Ok(())
}

fn watch(set: SigSet) {
    loop {
        let Ok(signal) = set.wait() else { continue };
        let number = signal as i32;
        if SIGNAL.compare_exchange(0, number, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            tracing::warn!(
                "{signal}: stopping after the candidate being evaluated, then saving the run (send it again to stop at once)"
            );
            continue;
        }
        tracing::warn!("{signal} again: stopping the board agents and exiting now");
        kill_children();
        std::process::exit(128 + number);
    }
}

/// SIGKILLs the direct children of this process (the simulated board agents).
fn kill_children() {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return };
    for task in tasks.flatten() {
        let Ok(children) = std::fs::read_to_string(task.path().join("children")) else { continue };
        for pid in children.split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}
