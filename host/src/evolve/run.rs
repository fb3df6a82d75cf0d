//! A whole run: load the data, open the board, evolve, then report the best candidate (its two
//! partitions re-exported from the saved weights, accuracy on the official test set by tract)
//! into `best/` and `summary.json` of the run directory.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::board::MeasureOverrides;
use crate::data::{DataSplits, LoadOptions, SplitConfig, load_splits};
use crate::evolve::candidate::Candidate;
use crate::evolve::config::{EvolveConfig, SpacePreset};
use crate::evolve::engine::{Engine, Progress};
use crate::evolve::fitness::Metrics;
use crate::evolve::pipeline::{BoardTarget, PipelineEvaluator, onnx_accuracy, weights_dir};
use crate::evolve::state::{RunStats, write_atomic};
use crate::genome::{GenomeConfig, GrammarChoice, SearchSpace};
use crate::netspec::Partition;
use crate::nn::train::Trainer;
use crate::nn::{Model, training_device};
use crate::onnx::{ExportOptions, encode, export_partition};

/// What a finished run reports.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// The run directory.
    pub run_dir: PathBuf,
    /// Where the power figures come from (`SIMULATED (...)` or `measured on ...`).
    pub source: String,
    /// Generations completed.
    pub generations: usize,
    /// The best candidate's id, fitness and phenotype.
    pub best_id: u64,
    /// Its fitness.
    pub best_fitness: f64,
    /// Its phenotype text.
    pub best_phenotype: String,
    /// Its metrics on the fitness split and the board.
    pub best_metrics: Metrics,
    /// Test-set accuracy of each exported partition (by tract), and the file.
    pub best_models: Vec<ExportedModel>,
    /// Counters (evaluations, invalid, cache hits, training vs measuring time).
    pub stats: RunStats,
    /// Modules in the archive.
    pub archived_modules: usize,
    /// Wall time of this invocation, seconds.
    pub wall_s: f64,
}

/// One exported partition of the best candidate.
#[derive(Debug, Clone, Serialize)]
pub struct ExportedModel {
    /// 0 (full) or 1 (early exit).
    pub partition: usize,
    /// The ONNX file.
    pub file: PathBuf,
    /// Accuracy on the official (or held-out) test set, computed by tract from the file.
    pub test_accuracy: f64,
}

/// The search space of a config, with the dataset's input shape and classes.
pub fn search_space(config: &EvolveConfig, data: &DataSplits) -> anyhow::Result<SearchSpace> {
    let base = match config.space {
        SpacePreset::Small => GenomeConfig::small(),
        SpacePreset::Paper => GenomeConfig::paper(),
        SpacePreset::Denser => GenomeConfig::denser(),
    };
    let mut genome = GenomeConfig { input: data.train.input_shape(), classes: data.train.num_classes(), ..base };
    if let Some(path) = &config.grammar {
        genome.grammar = GrammarChoice::File(path.clone());
    }
    SearchSpace::new(genome).context("search space")
}

fn load_data(config: &EvolveConfig) -> anyhow::Result<DataSplits> {
    let options = LoadOptions {
        data_dir: config.data_dir.clone(),
        resize_to: (config.resize > 0).then_some((config.resize, config.resize)),
        split: SplitConfig { seed: config.seed, ..SplitConfig::default() },
    };
    load_splits(config.dataset, &options).with_context(|| format!("loading {}", config.dataset))
}

fn target(config: &EvolveConfig) -> BoardTarget {
    let overrides = if config.profile_protocol { MeasureOverrides::default() } else { config.measure };
    BoardTarget { board: config.board.clone(), port: config.port.clone(), overrides, retries: config.board_retries }
}

/// Runs (or resumes) the evolution in `run_dir` and writes the report.
pub fn run(config: &EvolveConfig, run_dir: &Path, resume: bool, quiet: bool) -> anyhow::Result<RunSummary> {
    let started = Instant::now();
    config.validate().map_err(anyhow::Error::msg).context("invalid config")?;
    std::fs::create_dir_all(run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    write_atomic(&run_dir.join("config.toml"), config.to_toml().as_bytes()).context("writing config.toml")?;
    let data = load_data(config)?;
    let space = search_space(config, &data)?;
    let bar = progress_bar(quiet, config);
    let mut evaluator = PipelineEvaluator::new(&space, &data, config.fitness_function(), target(config), run_dir)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let source = evaluator.source_label();
    tracing::info!("power figures: {source}");
    let phase_bar = bar.clone();
    evaluator.epoch_budget = (config.train_epochs > 0).then_some((config.train_epochs, config.train_seconds));
    evaluator.on_phase = Some(Box::new(move |phase| phase_bar.set_prefix(phase.to_owned())));
    let mut engine = if resume {
        Engine::resume(&space, config.engine(), evaluator, run_dir)?
    } else {
        Engine::new(&space, config.engine(), evaluator, run_dir)?
    };
    bar.set_position(engine.state().generation as u64 * (config.lambda as u64 + 1));
    let mut best = engine.state().best.as_ref().map_or(f64::NAN, Candidate::fitness);
    engine.run(&mut |p| show(&bar, p, &mut best))?;
    bar.finish_and_clear();
    let state = engine.state().clone();
    let best = state.best.as_ref().context("the run evaluated no candidate")?;
    let best_models = export_best(&space, &data, best, run_dir)?;
    let summary = RunSummary {
        run_dir: run_dir.to_path_buf(),
        source,
        generations: state.generation,
        best_id: best.id,
        best_fitness: best.fitness(),
        best_phenotype: best.evaluation.as_ref().map(|e| e.phenotype.clone()).unwrap_or_default(),
        best_metrics: best.evaluation.as_ref().map(|e| e.metrics.clone()).unwrap_or_default(),
        best_models,
        stats: state.stats.clone(),
        archived_modules: state.archive.entries().len(),
        wall_s: started.elapsed().as_secs_f64(),
    };
    let lines = crate::evolve::runlog::read_log(&run_dir.join("log.jsonl")).context("reading log.jsonl")?;
    let plot = crate::evolve::plot::svg(&crate::evolve::plot::points(&lines), &summary.source);
    write_atomic(&run_dir.join("pareto.svg"), plot.as_bytes()).context("writing pareto.svg")?;
    let json = serde_json::to_vec_pretty(&summary).context("summary")?;
    write_atomic(&run_dir.join("summary.json"), &json).context("writing summary.json")?;
    Ok(summary)
}

/// Re-exports the best candidate's partitions from its saved weights into `best/` and measures
/// their test accuracy with tract.
fn export_best(
    space: &SearchSpace,
    data: &DataSplits,
    best: &Candidate,
    run_dir: &Path,
) -> anyhow::Result<Vec<ExportedModel>> {
    let Ok(spec) = best.individual.to_netspec(space) else { return Ok(Vec::new()) };
    if best.evaluation.as_ref().is_none_or(|e| e.invalid.is_some()) {
        return Ok(Vec::new());
    }
    let model = Model::new(&spec, &training_device());
    let (model, _) =
        Trainer::load(model, &weights_dir(run_dir, best.id)).context("loading the best candidate's weights")?;
    let weights = model.weights()?;
    let dir = run_dir.join("best");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut out = Vec::new();
    let partitions: &[Partition] =
        if spec.partition_point.is_some() { &[Partition::Full, Partition::Early] } else { &[Partition::Full] };
    for &which in partitions {
        let bytes = encode(&export_partition(&spec, &weights, which, ExportOptions::default())?);
        let file = dir.join(format!("partition{}.onnx", which.index()));
        std::fs::write(&file, &bytes).with_context(|| format!("writing {}", file.display()))?;
        let test_accuracy = onnx_accuracy(&bytes, &data.test).map_err(anyhow::Error::msg)?;
        out.push(ExportedModel { partition: which.index(), file, test_accuracy });
    }
    Ok(out)
}

fn progress_bar(quiet: bool, config: &EvolveConfig) -> ProgressBar {
    let total = config.generations as u64 * (config.lambda as u64 + 1);
    let bar = ProgressBar::new(total);
    if quiet {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let template = "{spinner} [{elapsed_precise}] {bar:25} {pos}/{len} {prefix:>9} {msg} (eta {eta})";
    bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

fn show(bar: &ProgressBar, progress: Progress<'_>, best: &mut f64) {
    match progress {
        Progress::Evaluating { generation, index, of, candidate } => {
            bar.set_message(format!("gen {generation} cand {}/{of} (#{}) best {best:.4}", index + 1, candidate.id));
        }
        Progress::Evaluated { candidate } => {
            bar.inc(1);
            let fitness = candidate.fitness();
            if best.is_nan() || fitness > *best {
                *best = fitness;
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
            say(bar, format!("generation {generation} done: parent #{} fitness {:.4}", parent.id, parent.fitness()));
        }
    }
}

/// A line above the progress bar, or a log line when the bar is hidden (not a terminal, --json).
fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        tracing::info!("{}", line.trim_start());
    } else {
        bar.println(line);
    }
}
