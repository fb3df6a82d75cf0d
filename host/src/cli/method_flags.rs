//! The `evolve` flags of the method choices where wattevo and the reference code differ, and
//! `--reference`, which sets them all to the reference's behaviour ([`crate::run::method`]).

use clap::Args;

use super::named::named;
use crate::evolve::archive::ArchivePolicy;
use crate::evolve::engine::RetrainRule;
use crate::evolve::fitness::UnsuffixedMetrics;
use crate::netspec::PoolPadding;
use crate::nn::train::{BudgetCheck, LarsScheduleKind, LossKind, TrainLongerOptimizer};
use crate::pipeline::MeasureBatch;
use crate::run::EvolveConfig;

/// Flags of the method choices.
#[derive(Debug, Clone, Default, Args)]
pub struct MethodFlags {
    /// Reproduce the reference code (ENERGIZE): every choice below set to the reference's
    /// behaviour, 32×32 input, weight inheritance, racing and screening off (config key
    /// reference). The board in place of the GPU stays; the README lists what else differs.
    #[arg(long)]
    pub reference: bool,
    /// Resize images to N×N (0: native size) [default: 32 in the paper's spaces, 16 for the
    /// digits, native otherwise] (config key resize).
    #[arg(long, value_name = "N")]
    pub resize: Option<usize>,
    /// How a `same` pool is built (config key pool_padding) [default: tensorflow].
    #[arg(long, value_parser = named::<PoolPadding>())]
    pub pool_padding: Option<PoolPadding>,
    /// The training loss (config key loss) [default: logits].
    #[arg(long, value_parser = named::<LossKind>())]
    pub loss: Option<LossKind>,
    /// How the LARS learning-rate schedule counts its steps (config key lars_schedule)
    /// [default: global].
    #[arg(long, value_parser = named::<LarsScheduleKind>())]
    pub lars_schedule: Option<LarsScheduleKind>,
    /// What a train_longer offspring's optimiser starts from (config key
    /// train_longer_optimizer) [default: restore].
    #[arg(long, value_parser = named::<TrainLongerOptimizer>())]
    pub train_longer_optimizer: Option<TrainLongerOptimizer>,
    /// Keep the training data's order instead of shuffling the batches every epoch (config key
    /// shuffle = false).
    #[arg(long)]
    pub no_shuffle: bool,
    /// When a training's time budget is checked (config key budget_check) [default: batch].
    #[arg(long, value_parser = named::<BudgetCheck>())]
    pub budget_check: Option<BudgetCheck>,
    /// At which batch size the board measures candidates (config key measure_batch)
    /// [default: one].
    #[arg(long, value_parser = named::<MeasureBatch>())]
    pub measure_batch: Option<MeasureBatch>,
    /// How selection retrains the elite and the best shortest-trained candidate when the
    /// fittest was trained longer than the default (config key retrain) [default: scratch].
    #[arg(long, value_parser = named::<RetrainRule>())]
    pub retrain: Option<RetrainRule>,
    /// Which modules enter the archive the reuse mutation draws from (config key archive)
    /// [default: final].
    #[arg(long, value_parser = named::<ArchivePolicy>())]
    pub archive: Option<ArchivePolicy>,
    /// What an unsuffixed power, energy or latency in a fitness term means (config key
    /// unsuffixed_metrics) [default: partition_mean].
    #[arg(long, value_parser = named::<UnsuffixedMetrics>())]
    pub unsuffixed_metrics: Option<UnsuffixedMetrics>,
}

impl MethodFlags {
    /// Overrides `config` with the flags that were given; under `--reference` (or
    /// `reference = true`) a flag contrary to the reference is an error.
    pub fn apply(&self, config: &mut EvolveConfig) -> Result<(), String> {
        config.reference |= self.reference;
        let mut contrary = Vec::new();
        macro_rules! take {
            ($($field:ident => $reference:expr),* $(,)?) => { $(
                if let Some(value) = self.$field {
                    if config.reference && value != $reference {
                        contrary.push(format!("--{} {value}", stringify!($field).replace('_', "-")));
                    }
                    config.$field = value;
                }
            )* };
        }
        take!(
            pool_padding => PoolPadding::Reference,
            loss => LossKind::DoubleSoftmax,
            lars_schedule => LarsScheduleKind::Reference,
            train_longer_optimizer => TrainLongerOptimizer::Fresh,
            budget_check => BudgetCheck::Epoch,
            measure_batch => MeasureBatch::Evolved,
            retrain => RetrainRule::Reference,
            archive => ArchivePolicy::Reference,
            unsuffixed_metrics => UnsuffixedMetrics::TwoHead,
        );
        if self.no_shuffle {
            config.shuffle = false;
        }
        if let Some(side) = self.resize {
            if config.reference && side != crate::run::method::REFERENCE_RESIZE {
                contrary.push(format!("--resize {side}"));
            }
            config.resize = Some(side);
        }
        if contrary.is_empty() {
            Ok(())
        } else {
            Err(format!("--reference sets the reference's choices; drop {}", contrary.join(", ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_set_their_keys_and_contrary_ones_are_refused_under_reference() {
        let mut config = EvolveConfig::default();
        let flags = MethodFlags { loss: Some(LossKind::DoubleSoftmax), resize: Some(20), ..Default::default() };
        flags.apply(&mut config).expect("no reference");
        assert_eq!((config.loss, config.resize), (LossKind::DoubleSoftmax, Some(20)));
        let flags =
            MethodFlags { reference: true, loss: Some(LossKind::Logits), resize: Some(28), ..Default::default() };
        let err = flags.apply(&mut EvolveConfig::default()).expect_err("contrary");
        assert!(err.contains("--loss logits") && err.contains("--resize 28"), "{err}");
        let flags = MethodFlags { reference: true, pool_padding: Some(PoolPadding::Reference), ..Default::default() };
        let mut config = EvolveConfig::default();
        flags.apply(&mut config).expect("agrees with the reference");
        assert!(config.reference);
    }
}
