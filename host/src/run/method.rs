//! The method choices where wattevo and the reference code (ENERGIZE, REFERENCE.md) differ, and
//! `reference = true` (`--reference`), which sets each to the reference's behaviour.
//!
//! Every difference is a named setting of [`EvolveConfig`]:
//!
//! | key | wattevo's default | the reference's (`--reference`) |
//! |---|---|---|
//! | `pool_padding` | `tensorflow`: pad the input to ⌈H/s⌉ | `reference`: pool, then zero-pad the output |
//! | `resize` | 16 (digits), native (Fashion-MNIST), 32 (paper spaces) | 32 |
//! | `loss` | `logits`: cross-entropy on logits | `double_softmax` |
//! | `lars_schedule` | `global`: warm-up and cosine over all steps | `reference`: in-epoch batch index |
//! | `train_longer_optimizer` | `restore` the parent's optimiser state | `fresh` optimiser |
//! | `shuffle` | true: batches shuffled every epoch | false: the data's order |
//! | `budget_check` | `batch`: after every batch | `epoch`: after each epoch |
//! | `measure_batch` | `one` sample per inference | `evolved` batch size (figures per sample) |
//! | `retrain` | `scratch`: selection retrains from scratch | `reference`: top up from own weights |
//! | `archive` | `final` modules, trained, on their real input | `reference`: every state, untrained |
//! | `preset` | `energy` | `paper` (the reference's configuration; another preset or `[[fitness]]` is kept) |
//! | `unsuffixed_metrics` | `partition_mean` | `two_head`: the two-head network, measured |
//! | `inherit_weights` | on | off |
//! | `race_margin`, `init_draws` | as set | off |
//!
//! Differences `--reference` does not remove yet are listed in [`NOT_REPRODUCED`]; the board
//! in place of the GPU is the one difference by design.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::EvolveConfig;
use crate::evolve::archive::ArchivePolicy;
use crate::evolve::engine::RetrainRule;
use crate::evolve::fitness::{Preset, UnsuffixedMetrics};
use crate::netspec::PoolPadding;
use crate::nn::train::{BudgetCheck, LarsScheduleKind, LossKind, TrainLongerOptimizer};
use crate::pipeline::MeasureBatch;

/// The side the reference code resizes every dataset to.
pub const REFERENCE_RESIZE: usize = 32;

/// What `--reference` cannot reproduce yet, for the summary and the README.
pub const NOT_REPRODUCED: &[&str] = &[
    "power is measured on a board (INA219 supply power) instead of NVML on a GPU",
    "power is measured on the board's own input, not over the images of the fitness split",
    "archive modules are measured by the board one 1×32×32 sample at a time, not in batches of 10^4 on a GPU",
];

/// The config keys of the method choices (the table above), as the summary records them.
pub const METHOD_KEYS: &[&str] = &[
    "preset",
    "pool_padding",
    "resize",
    "loss",
    "lars_schedule",
    "train_longer_optimizer",
    "shuffle",
    "budget_check",
    "measure_batch",
    "retrain",
    "archive",
    "unsuffixed_metrics",
    "inherit_weights",
    "race_margin",
    "init_draws",
];

/// The method a run used, as recorded in its summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodRecord {
    /// Whether `--reference` was asked for.
    pub reference: bool,
    /// Each of [`METHOD_KEYS`] that the config sets, with its value as in `config.toml`.
    pub settings: BTreeMap<String, toml::Value>,
    /// The reference's behaviour a `--reference` run still does not reproduce.
    pub not_reproduced: Vec<String>,
}

impl MethodRecord {
    /// The method of `config`.
    pub fn of(config: &EvolveConfig) -> Self {
        let table: toml::Table = toml::from_str(&config.to_toml()).unwrap_or_default();
        let settings = METHOD_KEYS.iter().filter_map(|&k| table.get(k).map(|v| (k.to_owned(), v.clone()))).collect();
        MethodRecord {
            reference: config.reference,
            settings,
            not_reproduced: if config.reference {
                NOT_REPRODUCED.iter().map(|s| (*s).to_owned()).collect()
            } else {
                Vec::new()
            },
        }
    }
}

/// Sets every method choice still at wattevo's default to the reference's behaviour, turns the
/// search accelerators off and fixes the resize to 32; a choice set to something else is left
/// for [`check_reference`] to refuse.
pub fn apply_reference(config: &mut EvolveConfig) {
    if !config.reference {
        return;
    }
    let defaults = EvolveConfig::default();
    macro_rules! set_if_default {
        ($($field:ident = $value:expr),* $(,)?) => {
            $( if config.$field == defaults.$field { config.$field = $value; } )*
        };
    }
    if config.fitness.is_none() {
        // the reference's own configuration; wattevo's `energy` preset does not exist there
        set_if_default!(preset = Preset::Paper);
    }
    set_if_default!(
        pool_padding = PoolPadding::Reference,
        loss = LossKind::DoubleSoftmax,
        lars_schedule = LarsScheduleKind::Reference,
        train_longer_optimizer = TrainLongerOptimizer::Fresh,
        shuffle = false,
        budget_check = BudgetCheck::Epoch,
        measure_batch = MeasureBatch::Evolved,
        retrain = RetrainRule::Reference,
        archive = ArchivePolicy::Reference,
        unsuffixed_metrics = UnsuffixedMetrics::TwoHead,
        inherit_weights = false,
        race_margin = None,
        init_draws = 0,
        resize = Some(REFERENCE_RESIZE),
    );
}

/// With `reference = true`, every method choice must be the reference's: lists those that
/// are not.
pub fn check_reference(config: &EvolveConfig) -> Result<(), String> {
    let mut conflicts = Vec::new();
    let mut want = |ok: bool, what: String| {
        if !ok {
            conflicts.push(what);
        }
    };
    want(
        config.pool_padding == PoolPadding::Reference,
        format!("pool_padding = {} (needs reference)", config.pool_padding),
    );
    want(config.loss == LossKind::DoubleSoftmax, format!("loss = {} (needs double_softmax)", config.loss));
    want(
        config.lars_schedule == LarsScheduleKind::Reference,
        format!("lars_schedule = {} (needs reference)", config.lars_schedule),
    );
    want(
        config.train_longer_optimizer == TrainLongerOptimizer::Fresh,
        format!("train_longer_optimizer = {} (needs fresh)", config.train_longer_optimizer),
    );
    want(!config.shuffle, "shuffle = true (needs false)".into());
    want(config.budget_check == BudgetCheck::Epoch, format!("budget_check = {} (needs epoch)", config.budget_check));
    want(
        config.measure_batch == MeasureBatch::Evolved,
        format!("measure_batch = {} (needs evolved)", config.measure_batch),
    );
    want(config.retrain == RetrainRule::Reference, format!("retrain = {} (needs reference)", config.retrain));
    want(config.archive == ArchivePolicy::Reference, format!("archive = {} (needs reference)", config.archive));
    want(
        config.unsuffixed_metrics == UnsuffixedMetrics::TwoHead,
        format!("unsuffixed_metrics = {} (needs two_head)", config.unsuffixed_metrics),
    );
    want(!config.inherit_weights, "inherit_weights = true (needs false)".into());
    want(config.race_margin.is_none(), "race_margin is set (the reference does not race)".into());
    want(config.init_draws <= config.lambda, format!("init_draws = {} (the reference draws λ)", config.init_draws));
    want(
        config.resize_side() == REFERENCE_RESIZE,
        format!("resize = {} (the reference resizes to {REFERENCE_RESIZE})", config.resize_side()),
    );
    if conflicts.is_empty() { Ok(()) } else { Err(format!("reference = true conflicts with {}", conflicts.join(", "))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_sets_every_choice_and_refuses_contrary_ones() {
        let mut config = EvolveConfig { reference: true, race_margin: Some(0.05), init_draws: 8, ..Default::default() };
        apply_reference(&mut config);
        assert_eq!(config.pool_padding, PoolPadding::Reference);
        assert_eq!(config.preset, Preset::Paper, "the reference's fitness");
        assert_eq!(config.loss, LossKind::DoubleSoftmax);
        assert_eq!(config.lars_schedule, LarsScheduleKind::Reference);
        assert_eq!(config.train_longer_optimizer, TrainLongerOptimizer::Fresh);
        assert_eq!((config.shuffle, config.budget_check), (false, BudgetCheck::Epoch));
        assert_eq!(config.measure_batch, MeasureBatch::Evolved);
        assert_eq!(config.retrain, RetrainRule::Reference);
        assert_eq!(config.archive, ArchivePolicy::Reference);
        assert_eq!(config.unsuffixed_metrics, UnsuffixedMetrics::TwoHead);
        assert!(!config.inherit_weights);
        assert_eq!((config.race_margin, config.init_draws, config.resize), (Some(0.05), 8, Some(32)));
        let err = check_reference(&config).expect_err("racing and screening are not the reference's");
        assert!(err.contains("race_margin") && err.contains("init_draws"), "{err}");
        let mut config = EvolveConfig { reference: true, resize: Some(28), ..Default::default() };
        apply_reference(&mut config);
        assert!(check_reference(&config).expect_err("28 is not 32").contains("resize = 28"));
        let mut config = EvolveConfig { reference: true, ..Default::default() };
        apply_reference(&mut config);
        check_reference(&config).expect("all the reference's");
        assert!(config.validate().is_ok());
        // the record lists every setting and what is still not reproduced
        let record = MethodRecord::of(&super::super::resolved(&config));
        assert!(record.reference && record.not_reproduced.len() == NOT_REPRODUCED.len());
        assert_eq!(record.settings.get("loss").and_then(|v| v.as_str()), Some("double_softmax"));
        assert_eq!(record.settings.get("resize").and_then(|v| v.as_integer()), Some(32));
        assert!(!record.settings.contains_key("race_margin"), "absent: no racing");
        assert!(MethodRecord::of(&EvolveConfig::default()).not_reproduced.is_empty());
    }

    #[test]
    fn without_reference_nothing_changes() {
        let mut config = EvolveConfig::default();
        apply_reference(&mut config);
        assert_eq!(config, EvolveConfig::default());
    }
}
