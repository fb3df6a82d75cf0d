//! SIGINT, SIGTERM and SIGHUP during a run: the first one asks the run to stop after the
//! candidate being evaluated (the engine checks [`flag`] between evaluations; the run then
//! syncs its log, saves its measurements, stops its agents by dropping them and exits with
//! 128 + the signal); a second one stops the agents and exits at once.
//!
//! The handlers (signal-hook's) only write to a pipe; a watcher thread reads it and does the
//! work. The signals are not blocked instead: the serial port waits in `ppoll` with an empty
//! signal mask, so a blocked signal would be delivered to the waiting thread with its default
//! action, killing the process. A handled signal only interrupts that wait, and the link
//! retries an interrupted read.

use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The first stop signal received (its number), 0 while none came.
pub fn flag() -> &'static AtomicI32 {
    &SIGNAL
}

/// The signal that stopped the run, if one did.
pub fn received() -> Option<i32> {
    Some(SIGNAL.load(Ordering::SeqCst)).filter(|&s| s != 0)
}

/// Installs the handlers and starts the watcher thread.
pub fn install() -> std::io::Result<()> {
    let signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new().name("signals".into()).spawn(move || watch(signals))?;
    Ok(())
}

fn watch(mut signals: Signals) {
    for number in signals.forever() {
        let name = Signal::try_from(number).map_or_else(|_| format!("signal {number}"), |s| s.to_string());
        if SIGNAL.compare_exchange(0, number, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            tracing::warn!(
                "{name}: stopping after the candidate being evaluated, then saving the run (send it again to stop at once)"
            );
            continue;
        }
        tracing::warn!("{name} again: stopping the board agents and exiting now");
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
