//! The measurement-protocol flags, one clap group shared by `wattevo profile` and
//! `wattevo evolve` (`#[command(flatten)]`): each turns into a field of
//! [`MeasureOverrides`], which the board session applies to the profile's protocol.

use crate::board::MeasureOverrides;

/// Changes to the board profile's measurement protocol (`[measure]`); unset flags keep it.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct MeasureFlags {
    /// Idle window before and after the runs, milliseconds (default: the profile's).
    #[arg(long)]
    pub idle_ms: Option<u32>,
    /// Least duration of one timed window, milliseconds.
    #[arg(long)]
    pub min_duration_ms: Option<u32>,
    /// Timed windows (sets both the least and the most; at least 1).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub repetitions: Option<u16>,
    /// Stop adding windows once the 95 % CI of energy per inference is this % of the mean.
    #[arg(long)]
    pub target_ci_pct: Option<f32>,
}

impl MeasureFlags {
    /// The overrides these flags ask for.
    pub fn overrides(&self) -> MeasureOverrides {
        MeasureOverrides {
            idle_ms: self.idle_ms,
            min_duration_ms: self.min_duration_ms,
            repetitions: self.repetitions,
            target_ci_pct: self.target_ci_pct,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Command {
        #[command(flatten)]
        measure: MeasureFlags,
    }

    #[test]
    fn flags_become_overrides_and_absent_ones_stay_unset() {
        let command = Command::parse_from(["x", "--idle-ms", "300", "--repetitions", "3"]);
        let expected = MeasureOverrides { idle_ms: Some(300), repetitions: Some(3), ..MeasureOverrides::default() };
        assert_eq!(command.measure.overrides(), expected);
        let none = Command::parse_from(["x"]).measure.overrides();
        assert_eq!(none, MeasureOverrides::default());
    }
}
