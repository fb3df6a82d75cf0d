//! `wattevo front RUN` (the run's Pareto front as a table) and `wattevo pick RUN` (one model of
//! it under an engineer's bounds, its ONNX copied out).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::evolve::runlog::read_log;
use crate::run::front::{Bound, Front, Model, member_onnx_path, pick};

/// Print a run's Pareto front: the models no other model of the run beats on both accuracy and
/// energy per inference (each partition is its own model).
#[derive(Debug, Args)]
pub struct FrontArgs {
    /// The run directory (holds log.jsonl; a running or unfinished run works too).
    pub run_dir: PathBuf,
    /// Energy of the hypervolume's reference point, joules [default: 1.1 × the run's largest];
    /// give two runs the same value to compare their hypervolumes.
    #[arg(long, value_name = "J")]
    pub reference_energy: Option<f64>,
    /// Print JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Choose one model of a finished run's front and copy its ONNX out: the most accurate within
/// the bounds, or the cheapest when the bounds only set a floor on accuracy.
///
/// Examples: `wattevo pick RUN --max energy=5e-5` (the most accurate model under 0.05 mJ per
/// inference); `wattevo pick RUN --min accuracy=0.9` (the cheapest above 0.90). A metric with a
/// partition suffix (`energy_1`) only admits that partition's models.
#[derive(Debug, Args)]
pub struct PickArgs {
    /// The run directory (its front/ holds the members' ONNX once the run finished).
    pub run_dir: PathBuf,
    /// An upper bound METRIC=VALUE (accuracy, energy in J, power in W, latency in µs, params).
    #[arg(long = "max", value_name = "METRIC=VALUE")]
    pub at_most: Vec<String>,
    /// A lower bound METRIC=VALUE.
    #[arg(long = "min", value_name = "METRIC=VALUE")]
    pub at_least: Vec<String>,
    /// Where to copy the chosen model [default: ./<run name>-<id>-p<partition>.onnx].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print JSON on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

fn front_of(run_dir: &Path, reference_energy: Option<f64>) -> anyhow::Result<Front> {
    let log = run_dir.join("log.jsonl");
    let lines = read_log(&log)
        .with_context(|| format!("{} is not a run directory (no readable log.jsonl)", run_dir.display()))?;
    Ok(Front::of_log(&lines, reference_energy))
}

fn row(m: &Model) -> String {
    format!(
        "{:>6} {:>4} {:>4} {:>9.4} {:>12.5} {:>8.3} {:>11.1} {:>10.0}",
        m.id,
        m.generation,
        m.partition,
        m.accuracy,
        m.energy_j * 1e3,
        m.power_w,
        m.latency_us,
        m.params
    )
}

const HEADER: &str = "    id  gen part  accuracy    energy mJ  power W  latency µs     params";

impl FrontArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let front = front_of(&self.run_dir, self.reference_energy)?;
        let mut out = std::io::stdout().lock();
        if self.json {
            writeln!(out, "{}", serde_json::to_string_pretty(&front)?)?;
            return Ok(ExitCode::SUCCESS);
        }
        writeln!(
            out,
            "{} models on the front of {} evaluated (accuracy on the fitness split)",
            front.members.len(),
            front.models_evaluated
        )?;
        writeln!(out, "{HEADER}")?;
        for m in &front.members {
            writeln!(out, "{}", row(m))?;
        }
        let last = front.hypervolume_by_generation.last().map_or(0.0, |(_, hv)| *hv);
        writeln!(
            out,
            "hypervolume {last:.5} (accuracy × mJ, reference: accuracy 0, {:.5} mJ)",
            front.reference_energy_j * 1e3
        )?;
        Ok(ExitCode::SUCCESS)
    }
}

impl PickArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let mut bounds = Vec::new();
        for text in &self.at_most {
            bounds.push(Bound::parse(text, true).map_err(anyhow::Error::msg)?);
        }
        for text in &self.at_least {
            bounds.push(Bound::parse(text, false).map_err(anyhow::Error::msg)?);
        }
        let front = front_of(&self.run_dir, None)?;
        let Some(chosen) = pick(&front, &bounds) else {
            anyhow::bail!(
                "no model of the front ({} models) meets {}; `wattevo front {}` lists them",
                front.members.len(),
                [&self.at_most[..], &self.at_least[..]].concat().join(", "),
                self.run_dir.display()
            );
        };
        let source = self.run_dir.join(member_onnx_path(chosen));
        if !source.is_file() {
            anyhow::bail!(
                "{} is missing: the run has not written its front yet (it writes front/ when it finishes; continue it with `wattevo resume {}`)",
                source.display(),
                self.run_dir.display()
            );
        }
        let run_name = self.run_dir.file_name().map_or_else(|| "run".into(), |n| n.to_string_lossy().into_owned());
        let target = self
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("{run_name}-{}-p{}.onnx", chosen.id, chosen.partition)));
        std::fs::copy(&source, &target)
            .with_context(|| format!("copying {} to {}", source.display(), target.display()))?;
        let mut out = std::io::stdout().lock();
        if self.json {
            let json = serde_json::json!({ "model": chosen, "file": target });
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        } else {
            writeln!(out, "{HEADER}\n{}", row(chosen))?;
            writeln!(out, "wrote {}", target.display())?;
        }
        Ok(ExitCode::SUCCESS)
    }
}
