//! `wattevo evolve` and `wattevo resume`: run the power-aware search, or continue one. The run
//! itself is [`crate::run`]'s; this file holds the flags, the progress display and the summary
//! table.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use indicatif::ProgressBar;

use super::measure_flags::MeasureFlags;
use super::named::named;
use super::progress;
use crate::data::DatasetName;
use crate::evolve::engine::Progress;
use crate::evolve::engine::Strategy;
use crate::evolve::fitness::Preset;
use crate::run::front::FrontSoFar;
use crate::run::{EvolveConfig, RunMode, RunObserver, RunSummary, SpacePreset, run, signals};

/// Evolve networks that are accurate and frugal on a board.
///
/// With no arguments: a short search on the embedded digits and the simulated board (its figures
/// are SIMULATED and labelled so), a few minutes on a 2-core machine. Every flag can also be set
/// in a TOML file given with --config (flags win). The run directory receives config.toml,
/// log.jsonl (every candidate), checkpoints/, weights/, best/partition{0,1}.onnx and summary.json.
#[derive(Debug, Args)]
pub struct EvolveArgs {
    /// TOML config file (keys as the flags, with underscores; see the README).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Dataset.
    #[arg(long, value_parser = named::<DatasetName>())]
    pub dataset: Option<DatasetName>,
    /// Directory of the dataset files.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Board profile (path or bundled name: sim, pi4b, pi5, pizero2w), or a farm file: a TOML
    /// list of boards (`[[board]]` with `profile`, `port`, `id`, `count`) that measure candidates
    /// in parallel; a failing board leaves the farm and the others carry on (boards/farms/sim3.toml).
    #[arg(long)]
    pub board: Option<String>,
    /// Serial port of a real board (/dev/ttyUSB0).
    #[arg(long)]
    pub port: Option<String>,
    /// Reopen attempts after a board fails, before the run stops (one board) or the board
    /// leaves the farm [default: 2].
    #[arg(long)]
    pub board_retries: Option<usize>,
    /// A farm's boards measure a reference model (and their idle power) at the start and every
    /// N generations, into farm.jsonl; 0: at the start only [default: 10].
    #[arg(long)]
    pub farm_calibrate_every: Option<usize>,
    /// At the end of a farm's run, N front models are measured again on another board and the
    /// differences reported (how far boards of one kind agree) [default: 5; 0: none].
    #[arg(long)]
    pub farm_cross_check: Option<usize>,
    /// A measurement cache shared between runs (one file per measurement, keyed by
    /// architecture, board kind, agent and tract versions and protocol): a model measured by
    /// any run using DIR is not measured again.
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Fitness preset.
    #[arg(long, value_parser = named::<Preset>())]
    pub preset: Option<Preset>,
    /// Search space.
    #[arg(long, value_parser = named::<SpacePreset>())]
    pub space: Option<SpacePreset>,
    /// Generations (generation 0 included).
    #[arg(long)]
    pub generations: Option<usize>,
    /// Offspring per generation (λ).
    #[arg(long)]
    pub lambda: Option<usize>,
    /// Search strategy: the paper's (1+λ) on the fitness preset; NSGA-II, or (1+λ) with
    /// ε-lexicase parent selection, on the config's [[objective]] list (default: accuracy_1
    /// maximised, energy_1 minimised).
    #[arg(long, value_parser = named::<Strategy>())]
    pub strategy: Option<Strategy>,
    /// NSGA-II's population size μ [default: 4].
    #[arg(long)]
    pub mu: Option<usize>,
    /// Training budget per candidate, seconds.
    #[arg(long)]
    pub train_seconds: Option<f64>,
    /// Train each candidate for N epochs instead of --train-seconds (reproducible runs).
    #[arg(long)]
    pub train_epochs: Option<usize>,
    /// Run seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run directory [default: runs/<dataset>-<preset>-seed<seed>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Use the board profile's full measurement protocol (2 s windows, CI-driven repetitions).
    #[arg(long)]
    pub profile_protocol: bool,
    /// Changes to the short measurement windows (ignored with --profile-protocol).
    #[command(flatten)]
    pub measure: MeasureFlags,
    /// Print the summary as JSON on stdout (no progress display).
    #[arg(long)]
    pub json: bool,
    /// Write into --out even if it holds files that are not a run's, or an earlier run (whose
    /// checkpoints are deleted).
    #[arg(long)]
    pub force: bool,
    /// Search accelerators.
    #[command(flatten)]
    pub search: super::search_flags::SearchFlags,
    /// Method choices, and --reference.
    #[command(flatten)]
    pub method: super::method_flags::MethodFlags,
    /// Where candidates train.
    #[command(flatten)]
    pub executor: super::executor_flags::ExecutorFlags,
}

/// Continue a run from its last checkpoint.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The run directory (holds config.toml and checkpoints/).
    pub run_dir: PathBuf,
    /// Raise the total number of generations.
    #[arg(long)]
    pub generations: Option<usize>,
    /// Serial port of a real board, if it moved.
    #[arg(long)]
    pub port: Option<String>,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

impl EvolveArgs {
    /// The config: file, then flags.
    pub fn config(&self) -> anyhow::Result<EvolveConfig> {
        let mut c = match &self.config {
            Some(path) => EvolveConfig::from_file(path)?,
            None => EvolveConfig::default(),
        };
        macro_rules! take {
            ($($field:ident),*) => { $( if let Some(v) = self.$field.clone() { c.$field = v; } )* };
        }
        take!(dataset, board, preset, space, generations, lambda, strategy, mu, train_seconds, train_epochs, seed);
        take!(board_retries, farm_calibrate_every, farm_cross_check);
        if self.data_dir.is_some() {
            c.data_dir = self.data_dir.clone();
        }
        if self.cache.is_some() {
            c.cache = self.cache.clone();
        }
        if self.port.is_some() {
            c.port = self.port.clone();
        }
        c.profile_protocol |= self.profile_protocol;
        c.measure = self.measure.overrides().or(c.measure);
        self.search.apply(&mut c);
        self.executor.apply(&mut c);
        self.method.apply(&mut c).map_err(anyhow::Error::msg)?;
        Ok(c)
    }

    /// Runs the search.
    pub fn exec(self, quiet: bool) -> anyhow::Result<ExitCode> {
        let config = self.config()?;
        let preset = config.preset.to_string();
        let out = self
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("runs/{}-{preset}-seed{}", config.dataset, config.seed)));
        let mode = if self.force { RunMode::Overwrite } else { RunMode::New };
        let summary = run_with_display(&config, &out, mode, quiet || self.json)?;
        print_summary(&summary, self.json)
    }
}

impl ResumeArgs {
    /// Continues the run.
    pub fn exec(self, quiet: bool) -> anyhow::Result<ExitCode> {
        let path = self.run_dir.join("config.toml");
        let mut config = EvolveConfig::from_file(&path)
            .with_context(|| format!("{} is not a run directory", self.run_dir.display()))?;
        if let Some(generations) = self.generations {
            config.generations = generations;
        }
        if self.port.is_some() {
            config.port = self.port.clone();
        }
        let summary = run_with_display(&config, &self.run_dir, RunMode::Resume, quiet || self.json)?;
        print_summary(&summary, self.json)
    }
}

/// Runs with a progress bar on stderr (hidden when `quiet`); a failed run says how to resume it.
/// SIGINT, SIGTERM and SIGHUP stop the run between evaluations ([`crate::run::signals`]).
fn run_with_display(config: &EvolveConfig, run_dir: &Path, mode: RunMode, quiet: bool) -> anyhow::Result<RunSummary> {
    signals::install().context("watching for stop signals")?;
    let total = config.evaluations() as u64;
    let template = "{spinner} [{elapsed_precise}] {bar:25} {pos}/{len} {prefix:>9} {msg} (eta {eta})";
    let bar = progress::bar(total, template, quiet);
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let display = RunDisplay { bar: bar.clone(), best: Cell::new(f64::NAN) };
    let result = run(config, run_dir, mode, &display);
    bar.finish_and_clear();
    match result {
        Ok(summary) => Ok(summary),
        Err(err @ crate::run::RunError::Engine(_)) => Err(anyhow::Error::new(err)
            .context(format!("the run stopped (continue it with `wattevo resume {}`)", run_dir.display()))),
        Err(err) => Err(err.into()),
    }
}

/// The progress bar of a run: one step per evaluation, the phase as its prefix, a line per
/// evaluated candidate above it.
struct RunDisplay {
    bar: ProgressBar,
    best: Cell<f64>,
}

impl RunObserver for RunDisplay {
    fn source(&self, label: &str) {
        tracing::info!("power figures: {label}");
    }

    fn started(&self, _generation: usize, evaluations_done: usize) {
        self.bar.set_position(evaluations_done as u64);
    }

    fn phase(&self, phase: &str) {
        self.bar.set_prefix(phase.to_owned());
    }

    fn progress(&self, progress: Progress<'_>) {
        let bar = &self.bar;
        match progress {
            Progress::Evaluating { generation, index, of, candidate } => {
                let best = self.best.get();
                bar.set_message(format!("gen {generation} cand {}/{of} (#{}) best {best:.4}", index + 1, candidate.id));
            }
            Progress::Evaluated { candidate } => {
                bar.inc(1);
                let fitness = candidate.fitness();
                if self.best.get().is_nan() || fitness > self.best.get() {
                    self.best.set(fitness);
                }
                let what = candidate
                    .evaluation
                    .as_ref()
                    .and_then(|e| e.invalid.clone())
                    .unwrap_or_else(|| format!("fitness {fitness:.4}"));
                bar.println(format!(
                    "  #{:<4} gen {:<3} {:<9} {what}",
                    candidate.id,
                    candidate.generation,
                    format!("{:?}", candidate.origin).to_lowercase()
                ));
            }
            Progress::GenerationDone { generation, parent } => {
                let line =
                    format!("generation {generation} done: parent #{} fitness {:.4}", parent.id, parent.fitness());
                progress::say(bar, line);
            }
        }
    }

    fn front(&self, generation: usize, front: &FrontSoFar) {
        progress::say(
            &self.bar,
            format!(
                "front after generation {generation}: {} of {} models, hypervolume {:.5} accuracy × mJ (reference: accuracy 0, {:.5} mJ)",
                front.members,
                front.models,
                front.hypervolume,
                front.reference_energy_j * 1e3
            ),
        );
    }
}

fn print_summary(s: &RunSummary, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(s)?);
        return Ok(ExitCode::SUCCESS);
    }
    let metric = |name: &str| s.best_metrics.get(name).copied().unwrap_or(f64::NAN);
    println!("run {}  ({} generations, {:.0} s)", s.run_dir.display(), s.generations, s.wall_s);
    println!("power figures: {}", s.source);
    println!("best candidate #{}  fitness {:.4}", s.best_id, s.best_fitness);
    println!(
        "{:>10} {:>10} {:>10} {:>11} {:>14} {:>12} {:>10}",
        "partition", "test acc", "fit acc", "power W", "energy/inf mJ", "latency µs", "params"
    );
    for p in 0..2 {
        let test = s.best_models.iter().find(|m| m.partition == p).map_or(f64::NAN, |m| m.test_accuracy);
        println!(
            "{p:>10} {test:>10.4} {:>10.4} {:>11.3} {:>14.4} {:>12.1} {:>10.0}",
            metric(&format!("accuracy_{p}")),
            metric(&format!("power_{p}")),
            metric(&format!("energy_{p}")) * 1e3,
            metric(&format!("latency_{p}")),
            metric(&format!("params_{p}")),
        );
    }
    let st = &s.stats;
    println!(
        "{} evaluations ({} invalid), {} measurement cache hits, {:.0} s training, {:.0} s measuring, {} archived modules",
        st.evaluations, st.invalid, st.cache_hits, st.train_s, st.measure_s, s.archived_modules
    );
    let w = &s.wall;
    println!(
        "wall time: {:.0} s training, {:.0} s measuring ({:.0} s of both at once), {:.0} s idle, {:.0} s other; {} job(s) × {} thread(s)",
        w.train_s,
        w.measure_s,
        w.overlap_s,
        w.idle_s,
        s.wall_s - w.batches_s,
        s.schedule.jobs,
        s.schedule.threads_per_job
    );
    for m in &s.best_models {
        println!("  {}", m.file.display());
    }
    println!("phenotype:\n{}", s.best_phenotype);
    Ok(ExitCode::SUCCESS)
}
