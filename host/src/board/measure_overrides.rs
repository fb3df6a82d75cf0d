//! [`MeasureOverrides`]: the host's changes to a board profile's measurement protocol.
//!
//! The protocol itself is [`MeasureProtocol`] (protocol crate), filled from the profile's
//! `[measure]` table. The overrides are the few settings a user changes per run: the same four
//! come from the `profile` and `evolve` command-line flags (`cli::measure_flags`) and from the
//! keys of a run's `config.toml` (`idle_ms`, `min_duration_ms`, `repetitions`, `target_ci_pct`).
//! Every field is optional: `None` keeps the profile's value.

use serde::{Deserialize, Serialize};
use wattevo_proto::MeasureProtocol;

/// Overrides of the profile's measurement protocol; `None` keeps the profile's value.
///
/// In TOML the keys are the field names, each optional. Unknown keys are the embedding table's
/// business (a run's config flattens these keys into its own table and refuses unknown ones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MeasureOverrides {
    /// Idle window before and after, milliseconds (`idle_window_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_ms: Option<u32>,
    /// Least duration of one timed window, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_duration_ms: Option<u32>,
    /// Timed windows: sets both the least and the most (at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repetitions: Option<u16>,
    /// Target 95 % CI half-width of energy per inference, percent of the mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_ci_pct: Option<f32>,
}

impl MeasureOverrides {
    /// Writes every override that is set into `protocol`.
    pub fn apply(&self, protocol: &mut MeasureProtocol) {
        if let Some(idle_ms) = self.idle_ms {
            protocol.idle_window_ms = idle_ms;
        }
        if let Some(min_duration_ms) = self.min_duration_ms {
            protocol.min_duration_ms = min_duration_ms;
        }
        if let Some(repetitions) = self.repetitions {
            protocol.set_repetitions(repetitions);
        }
        if let Some(target_ci_pct) = self.target_ci_pct {
            protocol.target_ci_pct = target_ci_pct;
        }
    }

    /// These overrides, with the unset ones taken from `fallback` (flags over a config file).
    pub fn or(self, fallback: Self) -> Self {
        Self {
            idle_ms: self.idle_ms.or(fallback.idle_ms),
            min_duration_ms: self.min_duration_ms.or(fallback.min_duration_ms),
            repetitions: self.repetitions.or(fallback.repetitions),
            target_ci_pct: self.target_ci_pct.or(fallback.target_ci_pct),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_keeps_the_profile_protocol() {
        let mut protocol = MeasureProtocol::default();
        MeasureOverrides::default().apply(&mut protocol);
        assert_eq!(protocol, MeasureProtocol::default());
    }

    #[test]
    fn each_override_replaces_its_field() {
        let overrides = MeasureOverrides {
            idle_ms: Some(100),
            min_duration_ms: Some(300),
            repetitions: Some(3),
            target_ci_pct: Some(1.5),
        };
        let mut protocol = MeasureProtocol::default();
        overrides.apply(&mut protocol);
        let expected = MeasureProtocol {
            idle_window_ms: 100,
            min_duration_ms: 300,
            min_repetitions: 3,
            max_repetitions: 3,
            target_ci_pct: 1.5,
            ..MeasureProtocol::default()
        };
        assert_eq!(protocol, expected);
    }

    #[test]
    fn zero_repetitions_still_run_one_window() {
        let mut protocol = MeasureProtocol::default();
        MeasureOverrides { repetitions: Some(0), ..MeasureOverrides::default() }.apply(&mut protocol);
        assert_eq!((protocol.min_repetitions, protocol.max_repetitions), (1, 1));
    }

    #[test]
    fn set_fields_win_over_the_fallback() {
        let flags = MeasureOverrides { idle_ms: Some(50), ..MeasureOverrides::default() };
        let file = MeasureOverrides { idle_ms: Some(200), repetitions: Some(3), ..MeasureOverrides::default() };
        let merged = flags.or(file);
        assert_eq!((merged.idle_ms, merged.repetitions, merged.min_duration_ms), (Some(50), Some(3), None));
    }

    #[test]
    fn toml_keys_are_the_flag_names_and_unset_ones_are_not_written() {
        let overrides: MeasureOverrides = toml::from_str("idle_ms = 200\nrepetitions = 3\n").expect("parse");
        assert_eq!(overrides, MeasureOverrides { idle_ms: Some(200), repetitions: Some(3), ..Default::default() });
        assert_eq!(toml::to_string(&overrides).expect("serialise"), "idle_ms = 200\nrepetitions = 3\n");
    }
}
