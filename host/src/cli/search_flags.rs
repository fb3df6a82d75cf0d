//! The `evolve` flags of the search accelerators (issue 14): weight inheritance, racing, a
//! better start (screening, `--init`), parallel evaluation, and the settings that follow them. Kept apart from the run's other flags so that each setting has one
//! home: a field here, its config key in [`EvolveConfig`], and [`SearchFlags::apply`].

use clap::Args;

use crate::run::EvolveConfig;

/// Flags that make a search find good networks in fewer CPU-hours.
#[derive(Debug, Clone, Default, Args)]
pub struct SearchFlags {
    /// Start each offspring from its parent's trained weights for every layer the mutation left
    /// unchanged in kind and shape (the default; config key inherit_weights).
    #[arg(long, overrides_with = "no_inherit_weights")]
    pub inherit_weights: bool,
    /// Train every offspring from scratch, as the reference code does.
    #[arg(long)]
    pub no_inherit_weights: bool,
    /// Racing: stop training an offspring whose validation accuracy after an epoch is more
    /// than M (0–1, e.g. 0.05) below its parent's after the same epoch; it is scored with what
    /// it reached (config key race_margin; default: no racing).
    #[arg(long, value_name = "M")]
    pub race_margin: Option<f64>,
    /// Generation 0 draws N candidates, trains each for a short budget (--init-screen-fraction
    /// of --train-seconds) and keeps the fittest λ, which then train a full budget (config key
    /// init_draws; default: λ, no screening).
    #[arg(long, value_name = "N")]
    pub init_draws: Option<usize>,
    /// The screening budget of --init-draws, as a fraction of the default budget [default: 0.25].
    #[arg(long, value_name = "F")]
    pub init_screen_fraction: Option<f64>,
    /// Start from the networks in FILE: one or more phenotype texts (the format `wattevo train
    /// --phenotype` reads; a run's summary.json holds its best as best_phenotype); generation 0
    /// holds them before random individuals (config key init).
    #[arg(long, value_name = "FILE")]
    pub init: Option<std::path::PathBuf>,
    /// Train N candidates at the same time, the board measuring each while the next ones train
    /// (config key jobs; default 0: one per core).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Threads of each training (config key threads_per_job; default 0: the cores divided by
    /// --jobs). Runs with the same seed, --train-epochs and thread split are identical whatever
    /// --jobs is.
    #[arg(long, value_name = "N")]
    pub threads_per_job: Option<usize>,
    /// Wall-clock budget, minutes: no generation starts after it; set --generations high to
    /// let time decide (config key minutes; default 0: no limit).
    #[arg(long, value_name = "M")]
    pub minutes: Option<f64>,
}

impl SearchFlags {
    /// Overrides `config` with the flags that were given.
    pub fn apply(&self, config: &mut EvolveConfig) {
        if self.inherit_weights {
            config.inherit_weights = true;
        }
        if self.no_inherit_weights {
            config.inherit_weights = false;
        }
        if self.race_margin.is_some() {
            config.race_margin = self.race_margin;
        }
        if let Some(n) = self.init_draws {
            config.init_draws = n;
        }
        if let Some(f) = self.init_screen_fraction {
            config.init_screen_fraction = f;
        }
        if let Some(m) = self.minutes {
            config.minutes = m;
        }
        if let Some(n) = self.jobs {
            config.jobs = n;
        }
        if let Some(n) = self.threads_per_job {
            config.threads_per_job = n;
        }
        if self.init.is_some() {
            config.init.clone_from(&self.init);
        }
    }
}
