//! The `evolve` flags of the search accelerators (issue 14): weight inheritance, and the
//! settings that follow it. Kept apart from the run's other flags so that each setting has one
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
    }
}
