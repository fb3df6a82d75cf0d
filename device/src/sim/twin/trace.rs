//! [`InferenceTrace`]: the power a twin says one inference draws above idle, operator after
//! operator, as a piecewise-constant function of time since the inference started.

use std::time::Duration;

use super::cost::OpEstimate;

/// Dynamic power over one inference.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InferenceTrace {
    /// `(end, power)`: power above idle in watts until `end` seconds after the start.
    segments: Vec<(f64, f64)>,
    /// Core-seconds the inference keeps the CPU busy.
    cpu_s: f64,
}

impl InferenceTrace {
    /// The trace of a model's operator estimates.
    pub fn of(ops: &[OpEstimate]) -> Self {
        let mut end = 0.0;
        let mut segments = Vec::with_capacity(ops.len());
        for op in ops.iter().filter(|op| op.time_s > 0.0) {
            end += op.time_s;
            segments.push((end, op.dynamic_energy_j / op.time_s));
        }
        let cpu_s = ops.iter().map(|op| op.busy_cores * op.time_s).sum();
        Self { segments, cpu_s }
    }

    /// Length of the inference, seconds.
    pub fn duration_s(&self) -> f64 {
        self.segments.last().map_or(0.0, |&(end, _)| end)
    }

    /// Length of the inference.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.duration_s())
    }

    /// Core-seconds of CPU time.
    pub fn cpu_s(&self) -> f64 {
        self.cpu_s
    }

    /// ∫ dynamic power dt over `[a, b]` (seconds since the start, clipped to the inference), joules.
    pub fn energy_between(&self, a: f64, b: f64) -> f64 {
        let (a, b) = (a.max(0.0), b.min(self.duration_s()));
        if b <= a {
            return 0.0;
        }
        let first = self.segments.partition_point(|&(end, _)| end <= a);
        let mut start = if first == 0 { 0.0 } else { self.segments[first - 1].0 };
        let mut energy = 0.0;
        for &(end, power) in &self.segments[first..] {
            energy += power * (end.min(b) - start.max(a)).max(0.0);
            if end >= b {
                break;
            }
            start = end;
        }
        energy
    }

    /// Dynamic power at `t` seconds since the start (0 outside the inference), watts.
    pub fn power_at(&self, t: f64) -> f64 {
        if t < 0.0 {
            return 0.0;
        }
        let i = self.segments.partition_point(|&(end, _)| end <= t);
        self.segments.get(i).map_or(0.0, |&(_, power)| power)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace() -> InferenceTrace {
        // 1 ms at 1 W, then 2 ms at 0.5 W.
        InferenceTrace { segments: vec![(1e-3, 1.0), (3e-3, 0.5)], cpu_s: 3e-3 }
    }

    #[test]
    fn energy_integrates_the_segments() {
        let t = trace();
        assert!((t.energy_between(0.0, 3e-3) - 2e-3).abs() < 1e-15);
        assert!((t.energy_between(0.5e-3, 2e-3) - (0.5e-3 + 0.5e-3)).abs() < 1e-15);
        assert!((t.energy_between(-1.0, 1.0) - 2e-3).abs() < 1e-15, "clipped to the inference");
        assert_eq!(t.energy_between(2e-3, 1e-3), 0.0);
        assert_eq!((t.power_at(0.5e-3), t.power_at(2e-3), t.power_at(4e-3)), (1.0, 0.5, 0.0));
        assert_eq!(t.duration(), Duration::from_micros(3000));
    }
}
