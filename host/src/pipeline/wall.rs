//! Where an evaluation batch's wall time went: training on the host, measuring on the board,
//! both at once (overlap), or neither (idle: waiting, bookkeeping).
//!
//! Each batch contributes its training intervals (one per candidate, possibly overlapping each
//! other when several train at once) and its measuring intervals; a second counts as training
//! when at least one candidate was training, as measuring when the board was busy.

use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Wall-time totals over the batches of a run invocation, seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct WallAccount {
    /// Wall time inside evaluation batches.
    pub batches_s: f64,
    /// Of which at least one candidate was training.
    pub train_s: f64,
    /// Of which the board was measuring.
    pub measure_s: f64,
    /// Of which both at once (counted in `train_s` and in `measure_s`).
    pub overlap_s: f64,
    /// Of which neither (batch wall time not spent training or measuring).
    pub idle_s: f64,
}

/// Intervals as seconds after an origin, merged so that none overlap, sorted.
fn merged(mut intervals: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    intervals.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(intervals.len());
    for (start, end) in intervals {
        match out.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

fn length(intervals: &[(f64, f64)]) -> f64 {
    intervals.iter().map(|(a, b)| b - a).sum()
}

/// Total length of the intersection of two merged interval lists.
fn intersection(a: &[(f64, f64)], b: &[(f64, f64)]) -> f64 {
    let (mut i, mut j, mut total) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        let (start, end) = (a[i].0.max(b[j].0), a[i].1.min(b[j].1));
        total += (end - start).max(0.0);
        if a[i].1 < b[j].1 { i += 1 } else { j += 1 }
    }
    total
}

impl WallAccount {
    /// Adds a batch that ran from `start` to `end` with these training and measuring intervals.
    pub fn add_batch(
        &mut self,
        (start, end): (Instant, Instant),
        train: &[(Instant, Instant)],
        measure: &[(Instant, Instant)],
    ) {
        let rel = |list: &[(Instant, Instant)]| {
            merged(
                list.iter()
                    .map(|(a, b)| {
                        (
                            a.saturating_duration_since(start).as_secs_f64(),
                            b.saturating_duration_since(start).as_secs_f64(),
                        )
                    })
                    .collect(),
            )
        };
        let (train, measure) = (rel(train), rel(measure));
        let wall = end.saturating_duration_since(start).as_secs_f64();
        let (t, m, both) = (length(&train), length(&measure), intersection(&train, &measure));
        self.batches_s += wall;
        self.train_s += t;
        self.measure_s += m;
        self.overlap_s += both;
        self.idle_s += (wall - (t + m - both)).max(0.0);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn overlapping_training_counts_once_and_overlap_with_measuring_is_shared() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut account = WallAccount::default();
        // two trainings 0–4 and 2–6, measuring 4–5 and 6–8, batch 0–10
        account.add_batch((at(0), at(10)), &[(at(0), at(4)), (at(2), at(6))], &[(at(4), at(5)), (at(6), at(8))]);
        assert_eq!(account.train_s, 6.0);
        assert_eq!(account.measure_s, 3.0);
        assert_eq!(account.overlap_s, 1.0);
        assert_eq!(account.idle_s, 2.0);
    }
}
