//! A whole run in its run directory: load the data, open the board, let the engine evolve, then
//! report the best candidate (its partitions re-exported from the saved weights, accuracy on the
//! official test set by tract) into `best/`, `pareto.svg` and `summary.json`.
//!
//! - [`config`]: [`EvolveConfig`], the run's settings (TOML and flags), written as `config.toml`;
//! - [`method`]: where wattevo's method and the reference code's differ, and `--reference`;
//! - [`summary`]: [`RunSummary`] and the final export of the best candidate;
//! - [`plot`]: the accuracy/energy scatter with its Pareto front (`pareto.svg`);
//! - [`front`]: the Pareto front as the run's product (`front.json`, `front.csv`, `front/`),
//!   `wattevo front` and `wattevo pick`;
//! - [`lock`]: one run at a time per directory (`run.lock`);
//! - [`guard`]: a new run never writes over another program's files, a resumed run keeps its
//!   settings;
//! - [`signals`]: SIGINT, SIGTERM, SIGHUP stop the run between evaluations, resumable.
//!
//! What the run shows a person (progress bars, tables) is the caller's: [`run`] reports to a
//! [`RunObserver`].

pub mod config;
pub mod front;
pub mod guard;
pub mod lock;
pub mod method;
pub mod plot;
pub mod signals;
pub mod summary;

use std::path::{Path, PathBuf};
use std::time::Instant;

pub use config::{EvolveConfig, SpacePreset};
pub use lock::{LockError, RunLock};
pub use summary::{ExportedModel, RunSummary};

use crate::board::MeasureOverrides;
use crate::data::{DataError, DataSplits, LoadOptions, SplitConfig, load_splits};
use crate::evolve::candidate::EvalError;
use crate::evolve::engine::{Engine, EngineError, Progress};
use crate::files::write_atomic;
use crate::genome::seed::split_phenotypes;
use crate::genome::{GenomeConfig, GenomeError, GrammarChoice, Individual, SearchSpace};
use crate::pipeline::{BoardTarget, PipelineEvaluator, Schedule};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Told what a run is doing, as it does it.
pub trait RunObserver {
    /// Where the power figures come from (`SIMULATED (...)` or `measured on ...`), once the board
    /// is open.
    fn source(&self, _label: &str) {}
    /// The engine is ready at `generation` (0 for a new run), `evaluations_done` evaluations in.
    fn started(&self, _generation: usize, _evaluations_done: usize) {}
    /// The phase of the candidate being evaluated (`training`, `measuring`).
    fn phase(&self, _phase: &str) {}
    /// The engine's progress.
    fn progress(&self, _progress: Progress<'_>) {}
    /// The front of the models evaluated up to the end of `generation` (after its
    /// [`Progress::GenerationDone`]).
    fn front(&self, _generation: usize, _front: &front::FrontSoFar) {}
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl RunObserver for Silent {}

/// Why a run stopped. Everything but an invalid config leaves the run directory resumable.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The settings cannot run.
    #[error("invalid config: {0}")]
    Config(String),
    /// The dataset did not load.
    #[error("loading {dataset}")]
    Data {
        /// The dataset's name.
        dataset: String,
        /// Why.
        source: Box<DataError>,
    },
    /// The grammar or genome settings are unusable.
    #[error("search space")]
    Space(#[source] GenomeError),
    /// The board could not be opened.
    #[error("opening the board")]
    Board(#[source] EvalError),
    /// The farm file is missing or malformed.
    #[error(transparent)]
    Farm(#[from] crate::board::FarmError),
    /// The search stopped.
    #[error(transparent)]
    Engine(Box<EngineError>),
    /// No candidate was evaluated.
    #[error("the run evaluated no candidate")]
    NothingEvaluated,
    /// Every candidate was invalid.
    #[error(
        "nothing valid was found: all {evaluations} candidates evaluated were invalid (log.jsonl gives each reason; the fitness, the search space or the data may not fit)"
    )]
    NothingValid {
        /// Candidates evaluated.
        evaluations: usize,
    },
    /// Another run holds the directory.
    #[error(transparent)]
    Locked(#[from] LockError),
    /// A new run was pointed at a directory holding files that are not a run's.
    #[error(
        "{} is not empty and is not a wattevo run (it holds {}); choose another --out, or pass --force to write into it anyway",
        dir.display(),
        entries.join(", ")
    )]
    NotARun {
        /// The directory.
        dir: PathBuf,
        /// What it holds that a run would not.
        entries: Vec<String>,
    },
    /// A new run was pointed at an existing run.
    #[error(
        "{} already holds a run: continue it with `wattevo resume {}`, choose another --out, or pass --force to start over in it",
        dir.display(),
        dir.display()
    )]
    AlreadyARun {
        /// The directory.
        dir: PathBuf,
    },
    /// `config.toml` of a run to resume was edited in a way the run cannot follow.
    #[error(
        "{} was edited since the run started: {}; a resumed run can only change {}. Restore the other keys, or start a new run with them",
        path.display(),
        changed.join(", "),
        guard::RESUMABLE_KEYS.join(", ")
    )]
    ConfigChanged {
        /// The edited config.
        path: PathBuf,
        /// The changed keys with their values.
        changed: Vec<String>,
    },
    /// A file of the run directory could not be written or read.
    #[error("{what} {}", path.display())]
    Io {
        /// What was being done (`writing`, `reading`, `creating`).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The `init` file could not be read or holds a network outside the search space.
    #[error("init file {}: {reason}", path.display())]
    Init {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The best candidate could not be re-exported.
    #[error("exporting the best candidate #{id}: {reason}")]
    BestExport {
        /// Its id.
        id: u64,
        /// Why.
        reason: String,
    },
}

impl From<EngineError> for RunError {
    fn from(err: EngineError) -> Self {
        RunError::Engine(Box::new(err))
    }
}

impl RunError {
    fn io<'p>(what: &'static str, path: &'p Path) -> impl FnOnce(std::io::Error) -> RunError + 'p {
        move |source| RunError::Io { what, path: path.to_path_buf(), source }
    }
}

/// The search space of a config, with the dataset's input shape and classes.
pub fn search_space(config: &EvolveConfig, data: &DataSplits) -> Result<SearchSpace, GenomeError> {
    let base = match config.space {
        SpacePreset::Small => GenomeConfig::small(),
        SpacePreset::Paper => GenomeConfig::paper(),
        SpacePreset::Denser => GenomeConfig::denser(),
    };
    let mut genome = GenomeConfig { input: data.train.input_shape(), classes: data.train.num_classes(), ..base };
    genome.rules.pool_padding = config.pool_padding;
    if let Some(path) = &config.grammar {
        genome.grammar = GrammarChoice::File(path.clone());
    }
    SearchSpace::new(genome)
}

/// The run's data splits, as `config` asks.
pub fn load_data(config: &EvolveConfig) -> Result<DataSplits, RunError> {
    let options = LoadOptions {
        data_dir: config.data_dir.clone(),
        resize_to: Some(config.resize_side()).filter(|&side| side > 0).map(|side| (side, side)),
        split: SplitConfig { seed: config.seed, ..SplitConfig::default() },
    };
    load_splits(config.dataset, &options)
        .map_err(|source| RunError::Data { dataset: config.dataset.to_string(), source: Box::new(source) })
}

/// The individuals of an `init` file; `--init` networks without a `[model_partition]` get a
/// random one drawn from the run seed.
fn load_seeds(path: &Path, space: &SearchSpace, seed: u64) -> Result<Vec<Individual>, RunError> {
    let err = |reason: String| RunError::Init { path: path.to_path_buf(), reason };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x1A17_5EED);
    let seeds = split_phenotypes(&text, space)
        .iter()
        .enumerate()
        .map(|(i, t)| Individual::from_phenotype_text(space, t, &mut rng).map_err(|e| err(format!("network {i}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    if seeds.is_empty() {
        return Err(err("no phenotype in the file".into()));
    }
    Ok(seeds)
}

fn target(config: &EvolveConfig) -> Result<BoardTarget, RunError> {
    let overrides = if config.profile_protocol { MeasureOverrides::default() } else { config.measure };
    let farm = crate::board::Farm::resolve(&config.board, config.port.as_deref())?;
    if farm.from_file && config.port.is_some() {
        return Err(RunError::Config(format!(
            "--port does not apply to a farm ({}): its file gives each board its port",
            config.board
        )));
    }
    Ok(BoardTarget { farm, overrides, retries: config.board_retries, shared_cache: config.cache.clone() })
}

/// `config` as it runs: the reference's choices applied under `reference = true`, and the
/// resize decided, so that `config.toml` records what the run did.
pub fn resolved(config: &EvolveConfig) -> EvolveConfig {
    let mut config = config.clone();
    method::apply_reference(&mut config);
    config.resize = Some(config.resize_side());
    config
}

/// How [`run`] treats its run directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// A new run: the directory must be missing, empty, or hold only run files of no run.
    New,
    /// A new run in a directory whatever it holds (`--force`); an earlier run's checkpoints
    /// there are deleted.
    Overwrite,
    /// Continue the run in the directory.
    Resume,
}

/// Checks and locks the run directory, and records the config; the lock is held until the
/// returned guard is dropped.
fn prepare_dir(config: &EvolveConfig, run_dir: &Path, mode: RunMode) -> Result<RunLock, RunError> {
    if mode == RunMode::New {
        let entries = guard::foreign_entries(run_dir);
        if !entries.is_empty() {
            return Err(RunError::NotARun { dir: run_dir.to_path_buf(), entries });
        }
    }
    std::fs::create_dir_all(run_dir).map_err(RunError::io("creating", run_dir))?;
    let lock = RunLock::acquire(run_dir)?;
    let checkpoints = crate::evolve::checkpoint::checkpoint_dir(run_dir);
    let started_path = guard::started_config_path(run_dir);
    match mode {
        RunMode::New if checkpoints.exists() => return Err(RunError::AlreadyARun { dir: run_dir.to_path_buf() }),
        RunMode::Overwrite if checkpoints.exists() => {
            std::fs::remove_dir_all(&checkpoints).map_err(RunError::io("removing", &checkpoints))?;
        }
        RunMode::Resume => match EvolveConfig::from_file(&started_path) {
            Ok(started) => {
                let changed = guard::changed_keys(&started, config);
                if !changed.is_empty() {
                    return Err(RunError::ConfigChanged { path: run_dir.join("config.toml"), changed });
                }
            }
            Err(_) if !started_path.exists() => {
                tracing::warn!(
                    "{} has no record of the config it started with; resuming as configured",
                    run_dir.display()
                );
            }
            Err(err) => return Err(RunError::Config(err.to_string())),
        },
        _ => {}
    }
    let config_path = run_dir.join("config.toml");
    write_atomic(&config_path, config.to_toml().as_bytes()).map_err(RunError::io("writing", &config_path))?;
    if mode != RunMode::Resume {
        std::fs::create_dir_all(&checkpoints).map_err(RunError::io("creating", &checkpoints))?;
        write_atomic(&started_path, config.to_toml().as_bytes()).map_err(RunError::io("writing", &started_path))?;
    }
    Ok(lock)
}

/// Up to `count` front members to measure again on another board: spread along the front
/// (cheapest, most accurate and evenly between), each with the board that measured it.
fn cross_check_models(
    front: &front::Front,
    lines: &[crate::evolve::runlog::LogLine],
    run_dir: &Path,
    count: usize,
) -> Vec<crate::pipeline::farm_check::CrossCheckModel> {
    let members: Vec<&front::Model> = front.members.iter().filter(|m| m.onnx.is_some()).collect();
    let n = members.len();
    let mut picks: Vec<usize> =
        (0..count.min(n)).map(|i| if count.min(n) == 1 { 0 } else { i * (n - 1) / (count.min(n) - 1) }).collect();
    picks.dedup();
    picks
        .into_iter()
        .filter_map(|i| {
            let member = members[i];
            let board = lines
                .iter()
                .find(|l| l.candidate.id == member.id)
                .and_then(|l| l.candidate.evaluation.as_ref())
                .map(|e| e.board.clone())?;
            let onnx = std::fs::read(run_dir.join(member.onnx.as_ref()?)).ok()?;
            Some(crate::pipeline::farm_check::CrossCheckModel {
                model: format!("#{} p{}", member.id, member.partition),
                board,
                energy_j: member.energy_j,
                onnx,
            })
        })
        .collect()
}

/// The host's half of an evaluation as `config` sets it up: the run's own, and a Slurm task's
/// (`wattevo slurm-task`), so that both train a candidate alike.
pub fn preparer<'a>(
    config: &EvolveConfig,
    space: &'a SearchSpace,
    data: &'a DataSplits,
    run_dir: &'a Path,
) -> crate::pipeline::prepare::Preparer<'a> {
    crate::pipeline::prepare::Preparer {
        space,
        data,
        run_dir,
        epoch_budget: (config.train_epochs > 0).then_some((config.train_epochs, config.train_seconds)),
        method: config.train_method(),
        measure_batch: config.measure_batch,
        unsuffixed: config.unsuffixed_metrics,
    }
}

/// Runs (or continues, per `mode`) the evolution in `run_dir` and writes its report.
pub fn run(
    config: &EvolveConfig,
    run_dir: &Path,
    mode: RunMode,
    observer: &dyn RunObserver,
) -> Result<RunSummary, RunError> {
    let started = Instant::now();
    let config = &resolved(config);
    config.validate().map_err(RunError::Config)?;
    // the data and the space first: a setting that cannot run leaves no run directory behind
    let data = load_data(config)?;
    let space = search_space(config, &data).map_err(RunError::Space)?;
    let target = target(config)?;
    let device = crate::nn::use_device(config.device).map_err(|e| RunError::Config(e.to_string()))?;
    tracing::info!("training on {device}");
    let _lock = prepare_dir(config, run_dir, mode)?;
    let mut evaluator =
        PipelineEvaluator::new(&space, &data, config.fitness_function(), target, run_dir).map_err(RunError::Board)?;
    let source = evaluator.source_label();
    observer.source(&source);
    let settings = preparer(config, &space, &data, run_dir);
    evaluator.epoch_budget = settings.epoch_budget;
    evaluator.method = settings.method;
    evaluator.measure_batch = settings.measure_batch;
    evaluator.unsuffixed = settings.unsuffixed;
    evaluator.slurm = config.slurm_settings();
    evaluator.on_phase = Some(Box::new(|phase| observer.phase(phase)));
    evaluator.schedule = Schedule::resolve(config.jobs, config.threads_per_job);
    evaluator.calibrate_every = config.farm_calibrate_every;
    tracing::info!(
        "{} candidate(s) train at once, {} thread(s) each",
        evaluator.schedule.jobs,
        evaluator.schedule.threads_per_job
    );
    let mut engine_config = config.engine();
    if let Some(path) = &config.init {
        engine_config.seeds = load_seeds(path, &space, config.seed)?;
    }
    let mut engine = if mode == RunMode::Resume {
        Engine::resume(&space, engine_config, evaluator, run_dir)?
    } else {
        Engine::new(&space, engine_config, evaluator, run_dir)?
    };
    engine.set_interrupt(signals::flag());
    observer.started(engine.state().generation, engine.state().stats.evaluations);
    let limit = (config.minutes > 0.0).then(|| std::time::Duration::from_secs_f64(config.minutes * 60.0));
    let log_path = run_dir.join("log.jsonl");
    // the models so far, for the front the log reports after each generation: read once (a
    // resumed run's earlier generations), then added to as candidates are evaluated
    let mut models_so_far = match crate::evolve::runlog::read_log(&log_path) {
        Ok(lines) => front::models(&lines),
        Err(err) => {
            tracing::warn!("reading {}: {err}; the log's fronts start from this invocation", log_path.display());
            Vec::new()
        }
    };
    engine.run_for(limit, &mut |p| {
        let ended = match &p {
            Progress::Evaluated { candidate } => {
                front::add_models(&mut models_so_far, candidate);
                None
            }
            Progress::GenerationDone { generation, .. } => Some(*generation),
            Progress::Evaluating { .. } => None,
        };
        observer.progress(p);
        if let Some(generation) = ended
            && let Some(front) = front::FrontSoFar::of_models(&models_so_far)
        {
            observer.front(generation, &front);
        }
    })?;
    let (schedule, wall) = (engine.evaluator_mut().schedule, engine.evaluator_mut().wall);
    let state = engine.state().clone();
    let best = state.best.as_ref().ok_or(RunError::NothingEvaluated)?;
    if best.evaluation.as_ref().is_none_or(|e| e.invalid.is_some()) {
        return Err(RunError::NothingValid { evaluations: state.stats.evaluations });
    }
    let best_models = summary::export_best(&space, &data, best, run_dir)?;
    let lines = crate::evolve::runlog::read_log(&log_path).map_err(RunError::io("reading", &log_path))?;
    let mut pareto = front::Front::of_log(&lines, None);
    front::write_front(&mut pareto, &lines, &space, run_dir)?;
    if config.farm_cross_check > 0 && engine.evaluator_mut().is_farm() {
        if config.measure_batch == crate::pipeline::MeasureBatch::One {
            let models = cross_check_models(&pareto, &lines, run_dir, config.farm_cross_check);
            engine.evaluator_mut().cross_check(&models);
        } else {
            tracing::warn!("no cross-board check: the front's models were measured at their evolved batch size");
        }
    }
    let farm = engine.evaluator_mut().farm_report();
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
        schedule,
        wall,
        method: method::MethodRecord::of(config),
        front_size: pareto.members.len(),
        front_hypervolume: pareto.hypervolume(),
        farm,
    };
    summary::write_reports(&summary, &lines, &pareto, run_dir)?;
    Ok(summary)
}
