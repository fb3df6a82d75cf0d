//! Racing: a run that falls behind a reference learning curve stops early.
//!
//! The reference curve is the parent's validation accuracy (main head) after each epoch of its
//! own evaluation. After epoch `i` of this run, when the main head's validation accuracy is
//! below the parent's at epoch `i` by more than the margin, the run stops
//! ([`super::StopReason::Raced`]) and keeps the weights it reached. Beyond the end of the
//! parent's curve there is nothing to compare with, and the run continues.

use serde::{Deserialize, Serialize};

/// A reference learning curve and the margin a run may fall behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Race {
    /// Validation accuracy of the reference after each epoch of its run (index 0: after the
    /// first epoch).
    pub curve: Vec<f64>,
    /// How far below the curve (accuracy, 0–1) a run may be before it stops.
    pub margin: f64,
}

impl Race {
    /// True when `accuracy` after epoch `epoch` (0-based, within this run) is more than the
    /// margin below the curve.
    pub fn is_behind(&self, epoch: usize, accuracy: f64) -> bool {
        self.curve.get(epoch).is_some_and(|&reference| accuracy < reference - self.margin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behind_only_by_more_than_the_margin_and_only_along_the_curve() {
        let race = Race { curve: vec![0.5, 0.8], margin: 0.1 };
        assert!(!race.is_behind(0, 0.45));
        assert!(race.is_behind(0, 0.39));
        assert!(race.is_behind(1, 0.69));
        assert!(!race.is_behind(2, 0.0), "past the curve's end: no comparison");
    }
}
