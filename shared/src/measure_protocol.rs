//! The measurement protocol: how one model is measured on a board (idle windows, warm-up, timed
//! windows, sequential stopping on the confidence interval).
//!
//! [`MeasureProtocol`] is declared once and used in two places:
//! - a board profile's `[measure]` table ([`crate::BoardProfile::measure`]): the board's defaults;
//! - every [`crate::MeasureRequest`] (field `protocol`): what the agent is asked to do this time.
//!
//! On the wire it is a plain run of its fields in declaration order (postcard writes a nested
//! struct without any header), so the declaration order below *is* the wire order inside
//! `MeasureRequest`: do not reorder the fields. In TOML the keys are the field names; every key
//! is optional (missing keys take [`MeasureProtocol::default`]) and unknown keys are refused.

use serde::{Deserialize, Serialize};

/// How to measure a model. Defaults follow MLPerf Tiny/Power practice; see `MEASUREMENT.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MeasureProtocol {
    /// Untimed inferences before the first timed window.
    pub warmup_runs: u32,
    /// Least inferences in one timed window.
    pub min_runs: u32,
    /// Least duration of one timed window, milliseconds.
    pub min_duration_ms: u32,
    /// Least timed windows.
    pub min_repetitions: u16,
    /// Most timed windows (sequential stopping cap).
    pub max_repetitions: u16,
    /// Stop adding windows once the 95 % CI half-width of energy per inference is below this
    /// percentage of its mean.
    pub target_ci_pct: f32,
    /// Idle window sampled before and after the timed windows, milliseconds.
    pub idle_window_ms: u32,
    /// Flag the measurement when the two idle means differ by more than this percentage.
    pub idle_mismatch_pct: f32,
}

impl Default for MeasureProtocol {
    fn default() -> Self {
        Self {
            warmup_runs: 10,
            min_runs: 10,
            min_duration_ms: 2000,
            min_repetitions: 5,
            max_repetitions: 20,
            target_ci_pct: 2.0,
            idle_window_ms: 2000,
            idle_mismatch_pct: 5.0,
        }
    }
}

impl MeasureProtocol {
    /// Runs exactly `repetitions` timed windows (at least one): sets both the least and the most.
    pub fn set_repetitions(&mut self, repetitions: u16) {
        let repetitions = repetitions.max(1);
        self.min_repetitions = repetitions;
        self.max_repetitions = repetitions;
    }

    /// The protocol with `max_repetitions` raised to `min_repetitions` when a profile set it lower.
    pub fn with_consistent_repetitions(mut self) -> Self {
        self.max_repetitions = self.max_repetitions.max(self.min_repetitions);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repetitions_set_both_bounds_and_never_zero() {
        let mut protocol = MeasureProtocol::default();
        protocol.set_repetitions(3);
        assert_eq!((protocol.min_repetitions, protocol.max_repetitions), (3, 3));
        protocol.set_repetitions(0);
        assert_eq!((protocol.min_repetitions, protocol.max_repetitions), (1, 1));
    }

    #[test]
    fn a_cap_below_the_floor_is_raised() {
        let protocol = MeasureProtocol { min_repetitions: 8, max_repetitions: 4, ..MeasureProtocol::default() };
        let fixed = protocol.with_consistent_repetitions();
        assert_eq!((fixed.min_repetitions, fixed.max_repetitions), (8, 8));
        let fine = MeasureProtocol::default().with_consistent_repetitions();
        assert_eq!(fine, MeasureProtocol::default());
    }
}
