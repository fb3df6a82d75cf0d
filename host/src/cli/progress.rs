//! Progress display on stderr: one way to build a bar, hidden when the output is for a machine
//! (`--json`, `--quiet`) or stderr is not a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar of `len` steps drawn with the indicatif `template`; drawn nowhere when `hidden`.
pub fn bar(len: u64, template: &str, hidden: bool) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if hidden {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
    bar
}

/// A spinner (work of unknown length) with the indicatif `template`; drawn nowhere when `hidden`.
pub fn spinner(template: &str, hidden: bool) -> ProgressBar {
    if hidden || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner()));
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// A line above the bar, or a log line when the bar is hidden (not a terminal, `--json`).
pub fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        tracing::info!("{}", line.trim_start());
    } else {
        bar.println(line);
    }
}
