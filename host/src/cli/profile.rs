//! `wattevo profile MODEL.onnx`: upload a model to a board (simulated or real) and measure its
//! power, energy per inference and latency; print a table, or one JSON object with `--json`.
//!
//! The measurement protocol is the board profile's, changed by the shared [`MeasureFlags`];
//! opening the board (and exit code 3 on a protocol mismatch) is `board_open`'s.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use wattevo_proto::{HelloResponse, Measurement, ModelHash, RepStats};

use super::board_open::{open_board, spinner};
use super::measure_flags::MeasureFlags;
use crate::board::{BoardSession, OpenOptions, UploadReport, measure_request, source_label};
use crate::onnx::model_info::onnx_input_shape;

/// Measure an ONNX model on a board.
#[derive(Debug, clap::Args)]
pub struct ProfileArgs {
    /// The ONNX model to measure.
    pub model: PathBuf,
    /// Board profile: a bare name (`sim`, `pi4b`) or a path (`boards/pi4b.toml`).
    #[arg(long, default_value = "sim")]
    pub board: String,
    /// Serial port of a real board (default: the profile's `serial.host_port`).
    #[arg(long)]
    pub port: Option<String>,
    /// Print one JSON object on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Changes to the profile's measurement protocol.
    #[command(flatten)]
    pub measure: MeasureFlags,
    /// Seed of the random input tensor.
    #[arg(long, default_value_t = 0)]
    pub input_seed: u64,
    /// Also print the board twin's per-operator breakdown of the model (time, bytes to DRAM,
    /// energy): where its cost goes. A prediction of the twin named in the table, on any board
    /// whose profile has a [power_model]; not a measurement.
    #[arg(long)]
    pub explain: bool,
    /// Keep the simulated agent's log in this directory.
    #[arg(long)]
    pub run_dir: Option<PathBuf>,
}

impl ProfileArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let name = self.model.display().to_string();
        let bytes = std::fs::read(&self.model).with_context(|| format!("reading model {name}"))?;
        let input_shape = onnx_input_shape(&bytes, &name)?;
        let progress = spinner(self.json);
        let options = OpenOptions { port: self.port.clone(), run_dir: self.run_dir.clone(), board_id: None };
        let mut session = match open_board(&self.board, &options, &progress)? {
            Ok(session) => session,
            Err(exit) => return Ok(exit),
        };
        progress.set_message(format!("uploading {name} ({} bytes)", bytes.len()));
        let upload = session.client.upload(&bytes).map_err(|e| session.diagnose(e))?;
        let overrides = self.measure.overrides();
        let profile = &session.profile.profile;
        let request = measure_request(profile, &overrides, ModelHash::of(&bytes), input_shape, self.input_seed);
        progress.set_message(format!("measuring on {} ({})", session.client.label(), session.source_label()));
        let measurement = session.client.measure(&request).map_err(|e| session.diagnose(e))?;
        let explanation = if self.explain {
            progress.set_message("asking the board twin where the cost goes");
            Some(session.client.explain(request.hash, request.input_shape.clone()).map_err(|e| session.diagnose(e))?)
        } else {
            None
        };
        progress.finish_and_clear();
        let report = ProfileReport { model: &name, model_bytes: bytes.len(), session: &session, upload: &upload };
        let mut out = std::io::stdout().lock();
        if self.json {
            let mut value = report.json(&request.input_shape, &measurement);
            if let Some(e) = &explanation {
                value["explanation"] = serde_json::to_value(e)?;
                value["explanation"]["hash"] = serde_json::Value::String(e.hash.to_string());
                value["explanation"]["predicted"] = serde_json::Value::Bool(true);
            }
            writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        } else {
            report.table(&mut out, &request.input_shape, &measurement)?;
            if let Some(e) = &explanation {
                writeln!(out)?;
                super::twin_tables::explanation(&mut out, e)?;
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

struct ProfileReport<'a> {
    model: &'a str,
    model_bytes: usize,
    session: &'a BoardSession,
    upload: &'a UploadReport,
}

impl ProfileReport<'_> {
    fn json(&self, input_shape: &[u32], m: &Measurement) -> serde_json::Value {
        let hello = &self.session.hello;
        let mut measurement = serde_json::to_value(m).unwrap_or_default();
        measurement["hash"] = serde_json::Value::String(m.hash.to_string());
        serde_json::json!({
            "source": source_label(hello),
            "simulated": !m.sensor.is_measured(),
            "board": hello.board_name,
            "port": self.session.client.label().port,
            "profile": self.session.profile.origin,
            "model": {
                "path": self.model,
                "bytes": self.model_bytes,
                "sha256": m.hash.to_string(),
                "input_shape": input_shape,
            },
            "handshake": serde_json::to_value(hello).unwrap_or_default(),
            "upload": {
                "chunks_total": self.upload.chunks_total,
                "chunks_sent": self.upload.chunks_sent,
                "resends": self.upload.resends,
                "first_chunk": self.upload.first_chunk,
                "skipped": self.upload.skipped.map(|skip| format!("{skip:?}")),
                "load_us": self.upload.committed.as_ref().map(|c| c.load_us),
                "wire_bytes": self.upload.wire_bytes,
            },
            "measurement": measurement,
        })
    }

    fn table(&self, out: &mut impl Write, input_shape: &[u32], m: &Measurement) -> std::io::Result<()> {
        let hello = &self.session.hello;
        let source = source_label(hello);
        let tag = if m.sensor.is_measured() { "measured" } else { "SIMULATED" };
        let shape = input_shape.iter().map(u32::to_string).collect::<Vec<_>>().join("x");
        writeln!(out, "model      {} ({} bytes, input {shape}, sha256 {:?})", self.model, self.model_bytes, m.hash)?;
        writeln!(out, "link       {}", self.session.client.label())?;
        writeln!(out, "agent      {}", describe_agent(hello))?;
        writeln!(out, "source     {source}")?;
        writeln!(out, "upload     {}", describe_upload(self.upload))?;
        writeln!(out)?;
        writeln!(out, "{:<26} {:>12} {:>12} {:>12}  source", "figure", "mean", "±95% CI", "std")?;
        let idle = RepStats { mean: m.idle_power_w, std: 0.0, ci95: 0.0 };
        row(out, "idle power (W)", idle, 1.0, tag)?;
        row(out, "total power (W)", m.total_power_w, 1.0, tag)?;
        row(out, "dynamic power (W)", m.dynamic_power_w, 1.0, tag)?;
        row(out, "energy/inference (mJ)", m.energy_per_inference_j, 1e3, tag)?;
        row(out, "dynamic energy/inf. (mJ)", m.dynamic_energy_per_inference_j, 1e3, tag)?;
        let timed = if m.sensor.is_measured() { "timed on board" } else { "timed by the sim agent" };
        writeln!(
            out,
            "{:<26} {:>12.1} p50 {:.1} p99 {:.1}  {timed}",
            "latency (µs)", m.latency_mean_us, m.latency_p50_us, m.latency_p99_us
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "{} inferences in {} repetitions ({:?}); {} sensor samples at {:.0} Hz; idle before {:.4} W, after {:.4} W{}",
            m.inferences,
            m.repetitions,
            m.stop_reason,
            m.samples,
            m.sample_rate_hz,
            m.idle_before_w,
            m.idle_after_w,
            if m.idle_mismatch { " (IDLE MISMATCH: figures unreliable)" } else { "" }
        )?;
        writeln!(out, "all power and energy figures: {source}")
    }
}

fn row(out: &mut impl Write, name: &str, stats: RepStats, scale: f64, tag: &str) -> std::io::Result<()> {
    writeln!(
        out,
        "{name:<26} {:>12.4} {:>12.4} {:>12.4}  {tag}",
        stats.mean * scale,
        stats.ci95 * scale,
        stats.std * scale
    )
}

fn describe_agent(hello: &HelloResponse) -> String {
    format!(
        "wattevo-agent {}, tract {}, {} ({}, {} cores, {} tract thread(s), governor {})",
        hello.agent_version,
        hello.tract_version,
        hello.cpu.arch,
        hello.cpu.model,
        hello.cpu.cores,
        hello.cpu.tract_threads,
        if hello.cpu.governor.is_empty() { "n/a" } else { &hello.cpu.governor }
    )
}

fn describe_upload(upload: &UploadReport) -> String {
    match upload.skipped {
        Some(skip) => format!("not needed ({skip:?})"),
        None => format!(
            "{} of {} chunks sent from chunk {}, {} re-sent, {} bytes on the wire; loaded in {} µs",
            upload.chunks_sent,
            upload.chunks_total,
            upload.first_chunk,
            upload.resends,
            upload.wire_bytes,
            upload.committed.as_ref().map_or(0, |c| c.load_us)
        ),
    }
}
