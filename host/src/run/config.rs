//! `EvolveConfig`: everything a run needs, from a TOML file (`--config`) and command-line flags.
//! The config used is written to the run directory as `config.toml`; `wattevo resume` reads it.
//!
//! Defaults are a short search that finishes in a few minutes on a 2-core machine: the embedded
//! digits upsampled to 16×16 (so the grammar's 2–5 kernels and pools fit a few layers deep;
//! the paper's spaces resize to 32×32 as the reference does, Fashion-MNIST keeps 28×28), the
//! 2-core search space, 5 generations of λ = 4, 3 s of training per candidate, the simulated
//! board with short measurement windows (200 ms idle, 3 × 300 ms timed). For a lab run use a
//! real board, longer training and the board profile's own measurement protocol
//! (`profile_protocol = true`).
//!
//! Where wattevo's method and the reference code's differ, the choice is a named key
//! (`pool_padding`, `resize`, `loss`, `lars_schedule`, `train_longer_optimizer`, `shuffle`,
//! `budget_check`, `measure_batch`, `retrain`, `archive`, `unsuffixed_metrics`);
//! `reference = true`
//! sets each to the reference's behaviour ([`super::method`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::board::MeasureOverrides;
use crate::data::DatasetName;
use crate::evolve::archive::ArchivePolicy;
use crate::evolve::engine::{EngineConfig, ObjectiveTerm, Objectives, RetrainRule, Strategy};
use crate::evolve::fitness::{Condition, FitnessFunction, Preset, UnsuffixedMetrics};
use crate::evolve::mutation::MutationRates;
use crate::netspec::PoolPadding;
use crate::nn::train::{BudgetCheck, LarsScheduleKind, LossKind, TrainLongerOptimizer, TrainMethod};
use crate::pipeline::MeasureBatch;

/// Which genome configuration (search space) to evolve in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpacePreset {
    /// `small.grammar`, sized for a 2-core CPU.
    Small,
    /// The paper's `energize.grammar` and module sizes.
    Paper,
    /// The paper's space without model partition (the DENSER baseline).
    Denser,
}

impl crate::named::Named for SpacePreset {
    const KIND: &'static str = "search space";
    const VALUES: &'static [(Self, &'static str, &'static str)] = &[
        (Self::Small, "small", "small.grammar, sized for a 2-core CPU"),
        (Self::Paper, "paper", "the paper's energize.grammar and module sizes"),
        (Self::Denser, "denser", "the paper's space without model partition (the DENSER baseline)"),
    ];
}
crate::named::named_enum_text!(SpacePreset);

/// A whole run's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvolveConfig {
    /// Dataset.
    pub dataset: DatasetName,
    /// Directory of the dataset files (Fashion-MNIST); searched in the usual places otherwise.
    pub data_dir: Option<PathBuf>,
    /// Resize images to this side (pixels); 0 keeps the native size. Absent: 32 in the paper's
    /// spaces (as the reference), 16 for the 8×8 digits, the native size otherwise. The
    /// recorded `config.toml` holds the size used.
    pub resize: Option<usize>,
    /// Search space.
    pub space: SpacePreset,
    /// A grammar file replacing the space's bundled grammar.
    pub grammar: Option<PathBuf>,
    /// Board profile path or bundled name, or a farm file.
    pub board: String,
    /// Serial port of a real board.
    pub port: Option<String>,
    /// Fitness preset (ignored when `fitness` terms are given).
    pub preset: Preset,
    /// Custom fitness terms.
    pub fitness: Option<FitnessFunction>,
    /// Generations, generation 0 included.
    pub generations: usize,
    /// Offspring per generation.
    pub lambda: usize,
    /// Training budget per candidate, seconds.
    pub train_seconds: f64,
    /// Train each candidate for this many epochs instead of `train_seconds` (0: off). Same
    /// seed and thread count, same training: runs become reproducible.
    pub train_epochs: usize,
    /// Run seed.
    pub seed: u64,
    /// Mutation probabilities.
    pub mutation: MutationRates,
    /// Use the board profile's measurement protocol instead of the short windows below.
    pub profile_protocol: bool,
    /// The short windows: overrides of the board profile's protocol (keys `idle_ms`,
    /// `min_duration_ms`, `repetitions`, `target_ci_pct`); a missing key keeps its default.
    #[serde(flatten, deserialize_with = "short_windows")]
    pub measure: MeasureOverrides,
    /// Reopen attempts after a board failure (then the run stops, or the board leaves the farm).
    pub board_retries: usize,
    /// A farm's boards measure the reference model at the start and every N generations
    /// (`farm.jsonl`); 0: at the start only.
    pub farm_calibrate_every: usize,
    /// At the end of a farm's run, this many front models are measured again on a board that
    /// did not measure them, and the differences reported (the summary's `farm`); 0: none.
    pub farm_cross_check: usize,
    /// The training device: `cpu`, `cuda`, `wgpu` (GPU builds) or `auto`.
    pub device: crate::nn::DeviceChoice,
    /// Where candidates train: `local` or `slurm` (job arrays on a cluster sharing the run
    /// directory).
    pub executor: crate::pipeline::slurm::Executor,
    /// Slurm partition (none: the cluster's default).
    pub slurm_partition: Option<String>,
    /// Time limit of one Slurm task (`sbatch --time`).
    pub slurm_time: String,
    /// CPUs per Slurm task; 0: the run's threads per job.
    pub slurm_cpus: usize,
    /// Memory per Slurm task (`sbatch --mem`).
    pub slurm_mem: String,
    /// Resubmissions of a failed Slurm task before its candidate is invalid.
    pub slurm_retries: usize,
    /// A measurement cache shared between runs: a model measured once (same architecture, board
    /// kind, agent, tract and protocol) is not measured again.
    pub cache: Option<PathBuf>,
    /// Offspring start from the parent's trained weights for every layer the mutation left
    /// unchanged (off under the reference reproduction).
    pub inherit_weights: bool,
    /// Racing: an offspring more than this (accuracy, 0–1) behind its parent's validation
    /// curve after an epoch stops training there; absent: no racing.
    pub race_margin: Option<f64>,
    /// Generation 0 draws this many candidates and screens them with a short budget, keeping
    /// the fittest λ (at most λ: no screening).
    pub init_draws: usize,
    /// The screening budget, as a fraction of `train_seconds`.
    pub init_screen_fraction: f64,
    /// A file of phenotype texts generation 0 starts from (before random individuals).
    pub init: Option<PathBuf>,
    /// Candidates trained at the same time (0: automatic, one per core). With the same seed,
    /// epoch budget and `threads_per_job`, runs do not depend on it.
    pub jobs: usize,
    /// Threads of each training (0: the cores divided by `jobs`).
    pub threads_per_job: usize,
    /// Wall-clock budget of a run invocation, minutes: no generation starts after it (0: none,
    /// `generations` alone decides).
    pub minutes: f64,
    /// Reproduce the reference code: every method choice below set to the reference's
    /// behaviour, the search accelerators off ([`super::method`]).
    pub reference: bool,
    /// How a `same`-padded pool is built.
    pub pool_padding: PoolPadding,
    /// The training loss.
    pub loss: LossKind,
    /// How the LARS learning-rate schedule counts its steps.
    pub lars_schedule: LarsScheduleKind,
    /// What a `train_longer` offspring's optimiser starts from.
    pub train_longer_optimizer: TrainLongerOptimizer,
    /// Shuffle the training batches every epoch.
    pub shuffle: bool,
    /// When the training budget is checked.
    pub budget_check: BudgetCheck,
    /// At which batch size the board measures the candidates.
    pub measure_batch: MeasureBatch,
    /// How selection retrains when the fittest was trained longer than the default.
    pub retrain: RetrainRule,
    /// Which modules enter the archive the reuse mutation draws from.
    pub archive: ArchivePolicy,
    /// What an unsuffixed `power`, `energy` or `latency` in a fitness term means.
    pub unsuffixed_metrics: UnsuffixedMetrics,
    /// The search strategy: the paper's (1+λ) on the fitness, or NSGA-II on `objective`.
    pub strategy: Strategy,
    /// NSGA-II's population size μ.
    pub mu: usize,
    /// NSGA-II's objectives (`[[objective]]`: metric and maximize/minimize).
    pub objective: Vec<ObjectiveTerm>,
    /// NSGA-II's constraints (`[[constraint]]`: metric, type, value, as fitness conditions).
    pub constraint: Vec<Condition>,
}

impl Default for EvolveConfig {
    fn default() -> Self {
        EvolveConfig {
            dataset: DatasetName::Digits,
            data_dir: None,
            resize: None,
            space: SpacePreset::Small,
            grammar: None,
            board: "sim".into(),
            port: None,
            preset: Preset::Energy,
            fitness: None,
            generations: 5,
            lambda: 4,
            train_seconds: 3.0,
            train_epochs: 0,
            seed: 0,
            mutation: MutationRates::default(),
            profile_protocol: false,
            measure: SHORT_WINDOWS,
            board_retries: 2,
            farm_calibrate_every: 10,
            cache: None,
            device: crate::nn::DeviceChoice::Cpu,
            executor: crate::pipeline::slurm::Executor::Local,
            slurm_partition: None,
            slurm_time: "1:00:00".into(),
            slurm_cpus: 0,
            slurm_mem: "4G".into(),
            slurm_retries: 2,
            farm_cross_check: 5,
            inherit_weights: true,
            race_margin: None,
            init_draws: 0,
            init_screen_fraction: 0.25,
            init: None,
            jobs: 0,
            threads_per_job: 0,
            minutes: 0.0,
            reference: false,
            pool_padding: PoolPadding::default(),
            loss: LossKind::default(),
            lars_schedule: LarsScheduleKind::default(),
            train_longer_optimizer: TrainLongerOptimizer::default(),
            shuffle: true,
            budget_check: BudgetCheck::default(),
            measure_batch: MeasureBatch::default(),
            retrain: RetrainRule::default(),
            archive: ArchivePolicy::default(),
            unsuffixed_metrics: UnsuffixedMetrics::default(),
            strategy: Strategy::default(),
            mu: 4,
            objective: Objectives::default().terms,
            constraint: Vec::new(),
        }
    }
}

/// The default measurement of a run: 200 ms idle, 3 windows of at least 300 ms.
const SHORT_WINDOWS: MeasureOverrides =
    MeasureOverrides { idle_ms: Some(200), min_duration_ms: Some(300), repetitions: Some(3), target_ci_pct: None };

/// Reads the measurement keys; a missing one keeps its [`SHORT_WINDOWS`] value.
fn short_windows<'de, D: serde::Deserializer<'de>>(keys: D) -> Result<MeasureOverrides, D::Error> {
    Ok(MeasureOverrides::deserialize(keys)?.or(SHORT_WINDOWS))
}

/// A config file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("config {path}: {reason}")]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong (with line and column for TOML errors).
    pub reason: String,
}

impl EvolveConfig {
    /// The Slurm settings when candidates train on a cluster.
    pub fn slurm_settings(&self) -> Option<crate::pipeline::slurm::SlurmSettings> {
        (self.executor == crate::pipeline::slurm::Executor::Slurm).then(|| crate::pipeline::slurm::SlurmSettings {
            partition: self.slurm_partition.clone(),
            time: self.slurm_time.clone(),
            cpus: self.slurm_cpus,
            mem: self.slurm_mem.clone(),
            retries: self.slurm_retries,
        })
    }

    /// Reads a TOML config file; missing keys take their defaults, unknown keys are errors.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let err = |reason: String| ConfigError { path: path.to_path_buf(), reason };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        toml::from_str(&text).map_err(|e| err(e.to_string()))
    }

    /// The config as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# could not serialise the config: {e}\n"))
    }

    /// The fitness function: custom terms, or the preset's.
    pub fn fitness_function(&self) -> FitnessFunction {
        self.fitness.clone().unwrap_or_else(|| FitnessFunction::preset(self.preset))
    }

    /// Evaluations a whole run makes (selection's retrains aside): generation 0's population,
    /// then each later generation's (the elite and λ offspring; NSGA-II: λ offspring).
    pub fn evaluations(&self) -> usize {
        let later = self.generations.saturating_sub(1);
        match self.strategy {
            Strategy::OnePlusLambda | Strategy::Lexicase => self.lambda + later * (self.lambda + 1),
            Strategy::Nsga2 => self.mu + later * self.lambda,
        }
    }

    /// How candidates are trained.
    pub fn train_method(&self) -> TrainMethod {
        TrainMethod {
            loss: self.loss,
            lars_schedule: self.lars_schedule,
            train_longer_optimizer: self.train_longer_optimizer,
            shuffle: self.shuffle,
            budget_check: self.budget_check,
        }
    }

    /// The side images are resized to (0: native): `resize`, or the default of the space and
    /// dataset.
    pub fn resize_side(&self) -> usize {
        self.resize.unwrap_or(match (self.space, self.dataset) {
            (SpacePreset::Paper | SpacePreset::Denser, _) => super::method::REFERENCE_RESIZE,
            (SpacePreset::Small, DatasetName::Digits) => 16,
            (SpacePreset::Small, _) => 0,
        })
    }

    /// The engine's part.
    pub fn engine(&self) -> EngineConfig {
        EngineConfig {
            generations: self.generations,
            lambda: self.lambda,
            train_seconds: self.train_seconds,
            seed: self.seed,
            mutation: self.mutation.clone(),
            inherit_weights: self.inherit_weights,
            race_margin: self.race_margin,
            init_draws: self.init_draws,
            init_screen_fraction: self.init_screen_fraction,
            seeds: Vec::new(),
            retrain: self.retrain,
            archive: self.archive,
            strategy: self.strategy,
            mu: self.mu,
            objectives: Objectives { terms: self.objective.clone(), constraints: self.constraint.clone() },
        }
    }

    /// A named data directory must exist and serve the dataset (the embedded one needs none).
    fn validate_data_dir(&self) -> Result<(), String> {
        let Some(dir) = &self.data_dir else { return Ok(()) };
        if self.dataset == DatasetName::Digits {
            return Err(format!("data_dir {} is given but the digits dataset is embedded: drop it", dir.display()));
        }
        if !dir.is_dir() {
            return Err(format!("data_dir {} does not exist or is not a directory", dir.display()));
        }
        Ok(())
    }

    /// Checks ranges a TOML type cannot express.
    pub fn validate(&self) -> Result<(), String> {
        if self.lambda == 0 {
            return Err("lambda must be at least 1".into());
        }
        if self.reference {
            super::method::check_reference(self)?;
        }
        if self.strategy != Strategy::OnePlusLambda && self.objective.is_empty() {
            return Err(format!("the {} strategy needs at least one [[objective]]", self.strategy));
        }
        if self.strategy == Strategy::Nsga2 {
            if self.mu < 2 {
                return Err(format!("mu {} must be at least 2 for nsga2", self.mu));
            }
            if let Some(c) = self.constraint.iter().find(|c| c.metric.is_none()) {
                return Err(format!(
                    "a [[constraint]] needs its metric (found one on {} {})",
                    serde_json::to_string(&c.comparison).unwrap_or_default(),
                    c.value
                ));
            }
        }
        if self.generations == 0 {
            return Err("generations must be at least 1 (generation 0 counts)".into());
        }
        if self.measure.repetitions == Some(0) {
            return Err("repetitions must be at least 1".into());
        }
        self.validate_data_dir()?;
        if !(self.train_seconds > 0.0 && self.train_seconds.is_finite()) {
            return Err(format!("train_seconds {} must be positive", self.train_seconds));
        }
        if self.race_margin.is_some_and(|m| !(0.0..=1.0).contains(&m)) {
            return Err(format!("race_margin {:?} must lie in [0, 1]", self.race_margin));
        }
        if !(self.minutes >= 0.0 && self.minutes.is_finite()) {
            return Err(format!("minutes {} must be 0 (no limit) or positive", self.minutes));
        }
        if !(self.init_screen_fraction > 0.0 && self.init_screen_fraction.is_finite()) {
            return Err(format!("init_screen_fraction {} must be positive", self.init_screen_fraction));
        }
        let rates = &self.mutation;
        let all = [
            rates.train_longer,
            rates.reuse_module,
            rates.remove_module,
            rates.add_layer,
            rates.reuse_layer,
            rates.remove_layer,
            rates.dsge_layer,
            rates.macro_layer,
        ];
        if all.iter().any(|p| !(0.0..=1.0).contains(p)) {
            return Err("mutation probabilities must lie in [0, 1]".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_through_toml() {
        let config = EvolveConfig::default();
        let parsed: EvolveConfig = toml::from_str(&config.to_toml()).expect("own output parses");
        assert_eq!(parsed, config);
    }

    #[test]
    fn the_readme_nsga2_config_parses() {
        let text = "strategy = \"nsga2\"\nmu = 8\n\n[[objective]]\nmetric = \"accuracy_1\"\nobjective = \"maximize\"\n\n\
                    [[objective]]\nmetric = \"energy_1\"\nobjective = \"minimize\"\n\n\
                    [[constraint]]\nmetric = \"accuracy_1\"\ntype = \"greater_than\"\nvalue = 0.7\n";
        let config: EvolveConfig = toml::from_str(text).expect("parses");
        assert_eq!(
            (config.strategy, config.mu, config.objective.len(), config.constraint.len()),
            (Strategy::Nsga2, 8, 2, 1)
        );
        config.validate().expect("valid");
        let round: EvolveConfig = toml::from_str(&config.to_toml()).expect("own output parses");
        assert_eq!(round, config);
        let bad = EvolveConfig { mu: 1, ..config };
        assert!(bad.validate().expect_err("μ ≥ 2").contains("mu"));
    }

    #[test]
    fn resize_follows_the_space_and_the_dataset_unless_given() {
        let side =
            |space, dataset, resize| EvolveConfig { space, dataset, resize, ..EvolveConfig::default() }.resize_side();
        assert_eq!(side(SpacePreset::Paper, DatasetName::FashionMnist, None), 32, "the reference's 32×32");
        assert_eq!(side(SpacePreset::Denser, DatasetName::Digits, None), 32);
        assert_eq!(side(SpacePreset::Small, DatasetName::FashionMnist, None), 0, "native 28×28");
        assert_eq!(side(SpacePreset::Small, DatasetName::Digits, None), 16);
        assert_eq!(side(SpacePreset::Paper, DatasetName::FashionMnist, Some(28)), 28);
        assert_eq!(side(SpacePreset::Small, DatasetName::Digits, Some(0)), 0);
    }

    #[test]
    fn measurement_keys_keep_their_names_and_defaults() {
        let config: EvolveConfig = toml::from_str("idle_ms = 100\nrepetitions = 2\n").expect("parses");
        let expected = MeasureOverrides { idle_ms: Some(100), repetitions: Some(2), ..SHORT_WINDOWS };
        assert_eq!(config.measure, expected);
        assert!(config.to_toml().contains("idle_ms = 100\nmin_duration_ms = 300\nrepetitions = 2\n"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("run.toml");
        std::fs::write(&path, "generations = 3\nlamda = 2\n").expect("write");
        let err = EvolveConfig::from_file(&path).expect_err("typo");
        assert!(err.to_string().contains("lamda") && err.to_string().contains("run.toml"), "{err}");
        std::fs::write(&path, "generations = 3\n[mutation]\ntrain_longer = 1.5\n").expect("write");
        let config = EvolveConfig::from_file(&path).expect("parses");
        assert_eq!(config.generations, 3);
        assert!(config.validate().is_err());
    }
}
