//! `wattevo boards --calibrate`: measure the agent's reference models on a board (the same
//! measurement as every candidate's), fit the board twin to the figures, and write what a
//! simulated copy of that board needs:
//!
//! - `DIR/twin.toml`: the fitted SoC constants; its `fitted` line names the board and the
//!   worst errors of the fit;
//! - `DIR/<board>-fitted.toml`: a simulated board profile (emulated INA219) with the fitted
//!   `[power_model]`, running on `twin.toml`: `wattevo evolve --board DIR/<board>-fitted.toml`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use wattevo_proto::{BoardProfile, CalibrationReport};

use super::board_open::{open_board, spinner};
use super::twin_tables::{calibration, error_pct};
use crate::board::profiles::load_profile;
use crate::board::{MeasureOverrides, OpenOptions, source_label};
use crate::files::write_atomic;

/// What `--calibrate` needs from `wattevo boards`' flags.
#[derive(Debug)]
pub struct CalibrateJob<'a> {
    /// The board profile (name or path).
    pub board: &'a str,
    /// Its serial port, for a real board.
    pub port: Option<String>,
    /// Changes to the profile's measurement protocol.
    pub overrides: MeasureOverrides,
    /// Where the fitted files go (default `calibration-<board>/`).
    pub out: Option<PathBuf>,
    /// JSON on stdout instead of tables.
    pub json: bool,
}

impl CalibrateJob<'_> {
    /// Runs the calibration.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let progress = spinner(self.json);
        let options = OpenOptions { port: self.port.clone(), run_dir: None, board_id: None };
        let mut session = match open_board(self.board, &options, &progress)? {
            Ok(session) => session,
            Err(exit) => return Ok(exit),
        };
        let profile = session.profile.profile.clone();
        let mut protocol = profile.measure.clone();
        self.overrides.apply(&mut protocol);
        progress.set_message(format!(
            "measuring {} reference models on {} ({})",
            wattevo_proto::REFERENCE_MODEL_COUNT,
            session.client.label(),
            session.source_label()
        ));
        let report =
            session.client.calibrate(&protocol, profile.thermal.max_wait_ms).map_err(|e| session.diagnose(e))?;
        progress.finish_and_clear();
        let source = source_label(&session.hello);
        let dir = self.out.clone().unwrap_or_else(|| PathBuf::from(format!("calibration-{}", profile.name)));
        let written = write_fitted(&dir, &profile, &report, &source)?;
        let mut out = std::io::stdout().lock();
        if self.json {
            let value = serde_json::json!({
                "source": source,
                "board": profile.name,
                "report": serde_json::to_value(&report)?,
                "twin_file": written.twin.display().to_string(),
                "profile_file": written.profile.display().to_string(),
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        } else {
            calibration(&mut out, &report, &source)?;
            writeln!(out, "wrote {} and {}", written.twin.display(), written.profile.display())?;
            writeln!(out, "simulate the fitted board with: wattevo evolve --board {}", written.profile.display())?;
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// The files a calibration writes.
#[derive(Debug)]
struct Written {
    twin: PathBuf,
    profile: PathBuf,
}

/// The worst absolute latency and dynamic-energy errors of a report, percent.
pub fn worst_errors(report: &CalibrationReport) -> (f64, f64) {
    report.rows.iter().fold((0.0f64, 0.0f64), |(l, e), r| {
        (
            l.max(error_pct(r.fitted_latency_us, r.measured_latency_us).abs()),
            e.max(error_pct(r.fitted_dynamic_uj, r.measured_dynamic_uj).abs()),
        )
    })
}

fn write_fitted(dir: &Path, board: &BoardProfile, report: &CalibrationReport, source: &str) -> anyhow::Result<Written> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let (latency, energy) = worst_errors(report);
    let header = format!(
        "# Board twin fitted by `wattevo boards --calibrate` to board {} ({source}), from {}.\n\
         # Worst error on the {} reference models: {latency:.1} % latency, {energy:.1} % dynamic energy.\n",
        board.name,
        report.prior,
        report.rows.len()
    );
    let twin = dir.join("twin.toml");
    write_atomic(&twin, format!("{header}{}", report.twin_toml).as_bytes())
        .with_context(|| format!("writing {}", twin.display()))?;

    // A simulated copy of the board: the bundled simulated board's link and sensor, the
    // board's runtime, protocol and thermal settings, and the fitted power figures.
    let mut simulated = load_profile("sim")?.profile;
    simulated.name = format!("{}-fitted", board.name);
    simulated.description = format!(
        "Simulated {} (twin fitted by calibration: worst error {latency:.1} % latency, {energy:.1} % dynamic energy; figures are simulated)",
        board.name
    );
    simulated.runtime = board.runtime.clone();
    simulated.measure = board.measure.clone();
    let mut power_model = report.power_model.clone();
    power_model.twin = Some("twin.toml".into());
    if let Some(sim_power) = &simulated.power_model {
        (power_model.noise_w, power_model.seed) = (sim_power.noise_w, sim_power.seed);
    }
    simulated.power_model = Some(power_model);
    let profile = dir.join(format!("{}.toml", simulated.name));
    let text = toml::to_string(&simulated).context("writing the fitted profile as TOML")?;
    let header = format!("# {}\n# Keys and units: boards/README.md.\n", simulated.description);
    write_atomic(&profile, format!("{header}{text}").as_bytes())
        .with_context(|| format!("writing {}", profile.display()))?;
    Ok(Written { twin, profile })
}
