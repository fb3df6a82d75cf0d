//! `wattevo boards`: list the bundled board profiles, check one board's wiring
//! (`--check`: handshake plus a sensor read with nothing running), or fit its twin
//! (`--calibrate`, `calibrate.rs`). Opening the board (and exit
//! code 3 on a protocol mismatch) is `board_open`'s, shared with `wattevo profile`.

use std::io::Write;
use std::process::ExitCode;

use wattevo_proto::BoardProfile;

use super::board_open::{open_board, spinner};
use crate::board::profiles::{BUNDLED_PROFILES, load_profile};
use crate::board::{OpenOptions, source_label};

/// List board profiles, or check a board's wiring.
#[derive(Debug, clap::Args)]
pub struct BoardsArgs {
    /// Print JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Handshake with the board and read its sensor with nothing running (wiring check).
    #[arg(long, requires = "board")]
    pub check: bool,
    /// Board profile to check: a bare name (`sim`, `pi4b`) or a path.
    #[arg(long)]
    pub board: Option<String>,
    /// Serial port of a real board (default: the profile's `serial.host_port`).
    #[arg(long)]
    pub port: Option<String>,
    /// How long to read the sensor, milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub duration_ms: u32,
    /// Measure the agent's reference models on the board and fit its twin to them; writes
    /// the fitted twin and a simulated profile of the board to --out, and prints each
    /// measured figure next to the fitted twin's.
    #[arg(long, requires = "board", conflicts_with = "check")]
    pub calibrate: bool,
    /// Where --calibrate writes (default: calibration-<board>/).
    #[arg(long, requires = "calibrate")]
    pub out: Option<std::path::PathBuf>,
    /// Changes to the profile's measurement protocol (--calibrate).
    #[command(flatten)]
    pub measure: super::measure_flags::MeasureFlags,
}

impl BoardsArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        match (&self.board, self.check, self.calibrate) {
            (Some(board), true, _) => self.check(board),
            (Some(board), _, true) => super::calibrate::CalibrateJob {
                board,
                port: self.port.clone(),
                overrides: self.measure.overrides(),
                out: self.out.clone(),
                json: self.json,
            }
            .run(),
            _ => self.list(),
        }
    }

    fn list(&self) -> anyhow::Result<ExitCode> {
        let mut rows = Vec::new();
        for (name, _) in BUNDLED_PROFILES {
            let loaded = load_profile(name)?;
            rows.push((loaded.origin, loaded.profile));
        }
        let mut out = std::io::stdout().lock();
        if self.json {
            let list: Vec<_> = rows.iter().map(|(origin, p)| profile_json(origin, p)).collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
            return Ok(ExitCode::SUCCESS);
        }
        writeln!(out, "{:<10} {:<16} {:>8} {:>8}  {:<32} description", "board", "sensor", "baud", "idle W", "profile")?;
        for (origin, p) in &rows {
            let idle = p.power_model.as_ref().map_or("-".to_owned(), |m| format!("{:.2}", m.idle_w));
            let sensor = format!("{:?}", p.sensor.source);
            writeln!(
                out,
                "{:<10} {sensor:<16} {:>8} {idle:>8}  {origin:<32} {}",
                p.name, p.serial.baud, p.description
            )?;
        }
        Ok(ExitCode::SUCCESS)
    }

    fn check(&self, board: &str) -> anyhow::Result<ExitCode> {
        let progress = spinner(self.json);
        let options = OpenOptions { port: self.port.clone(), run_dir: None, board_id: None };
        let mut session = match open_board(board, &options, &progress)? {
            Ok(session) => session,
            Err(exit) => return Ok(exit),
        };
        progress.set_message(format!("reading the sensor for {} ms", self.duration_ms));
        let reading = session.client.read_sensor(self.duration_ms)?;
        progress.finish_and_clear();
        let hello = &session.hello;
        let source = source_label(hello);
        let mut out = std::io::stdout().lock();
        if self.json {
            let value = serde_json::json!({
                "source": source,
                "simulated": !reading.sensor.is_measured(),
                "port": session.client.label().port,
                "handshake": serde_json::to_value(hello)?,
                "reading": serde_json::to_value(reading)?,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
            return Ok(ExitCode::SUCCESS);
        }
        let s = &hello.sensor;
        writeln!(
            out,
            "board        {} (agent {}, tract {})",
            session.client.label(),
            hello.agent_version,
            hello.tract_version
        )?;
        writeln!(
            out,
            "sensor       {:?} on i2c-{} at {:#04x}: shunt {} Ω, max {} A, current LSB {} A, calibration {}, ADC {}",
            s.kind, s.i2c_bus, s.i2c_address, s.shunt_ohms, s.max_current_a, s.current_lsb_a, s.calibration, s.adc_mode
        )?;
        writeln!(out, "bus voltage  {:.3} V", reading.bus_voltage_v)?;
        writeln!(out, "current      {:.4} A", reading.current_a)?;
        writeln!(out, "idle power   {:.4} W", reading.power_w)?;
        writeln!(
            out,
            "samples      {} at {:.0} Hz over {} ms",
            reading.samples, reading.sample_rate_hz, self.duration_ms
        )?;
        writeln!(out, "source       {source}")?;
        Ok(ExitCode::SUCCESS)
    }
}

fn profile_json(origin: &str, profile: &BoardProfile) -> serde_json::Value {
    serde_json::json!({
        "name": profile.name,
        "description": profile.description,
        "origin": origin,
        "sensor": format!("{:?}", profile.sensor.source),
        "baud": profile.serial.baud,
        "host_port": profile.serial.host_port,
        "agent_port": profile.serial.agent_port,
        "idle_w": profile.power_model.as_ref().map(|m| m.idle_w),
        "simulated": profile.sensor.source != wattevo_proto::SensorSource::Ina219,
    })
}
