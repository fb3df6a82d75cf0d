//! Energy from power samples, and statistics over repetitions.
//!
//! Energy is the trapezoidal integral of power over the samples' real monotonic timestamps,
//! never sample count × nominal period. A window `[start, end]` is integrated exactly over its
//! bounds: the power at each bound is linearly interpolated between the samples around it (or
//! held from the nearest sample when the bound lies outside them).

use std::time::Instant;

use wattevo_proto::RepStats;

use crate::sensor::PowerSample;

/// Seconds from `origin` to `at` (negative when `at` is earlier).
fn secs(origin: Instant, at: Instant) -> f64 {
    if at >= origin { at.duration_since(origin).as_secs_f64() } else { -origin.duration_since(at).as_secs_f64() }
}

/// Power at `t_s` (seconds from the first sample) by linear interpolation, held at the ends.
fn power_at(points: &[(f64, f64)], t_s: f64) -> f64 {
    let Some(&(t0, p0)) = points.first() else {
        return f64::NAN;
    };
    if t_s <= t0 {
        return p0;
    }
    let idx = points.partition_point(|&(t, _)| t <= t_s);
    match (points.get(idx.wrapping_sub(1)), points.get(idx)) {
        (Some(&(ta, pa)), Some(&(tb, pb))) if tb > ta => pa + (pb - pa) * (t_s - ta) / (tb - ta),
        (Some(&(_, pa)), _) => pa,
        _ => p0,
    }
}

/// Trapezoidal ∫P dt over `samples`, from the first sample to the last, joules.
pub fn trapezoid_energy_j(samples: &[PowerSample]) -> f64 {
    samples.windows(2).map(|w| 0.5 * (w[0].power_w + w[1].power_w) * secs(w[0].at, w[1].at)).sum()
}

/// Trapezoidal ∫P dt over exactly `[start, end]`, joules; NaN without samples.
pub fn window_energy_j(samples: &[PowerSample], start: Instant, end: Instant) -> f64 {
    let Some(first) = samples.first() else {
        return f64::NAN;
    };
    let origin = first.at;
    let points: Vec<(f64, f64)> = samples.iter().map(|s| (secs(origin, s.at), s.power_w)).collect();
    let (t_start, t_end) = (secs(origin, start), secs(origin, end));
    if t_end <= t_start {
        return 0.0;
    }
    let mut knots = vec![(t_start, power_at(&points, t_start))];
    knots.extend(points.iter().copied().filter(|&(t, _)| t > t_start && t < t_end));
    knots.push((t_end, power_at(&points, t_end)));
    knots.windows(2).map(|w| 0.5 * (w[0].1 + w[1].1) * (w[1].0 - w[0].0)).sum()
}

/// Time-weighted mean power over `[start, end]`, watts; NaN without samples or duration.
pub fn window_mean_power_w(samples: &[PowerSample], start: Instant, end: Instant) -> f64 {
    let duration_s = secs(start, end);
    if duration_s <= 0.0 {
        return f64::NAN;
    }
    window_energy_j(samples, start, end) / duration_s
}

/// Two-sided 95 % Student t quantile for `df` degrees of freedom.
pub fn t95(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df - 1],
        31..=40 => 2.021,
        41..=60 => 2.000,
        61..=120 => 1.980,
        _ => 1.960,
    }
}

/// Mean, sample standard deviation and 95 % CI half-width of `values`.
/// One value: std 0 and an infinite CI; none: all NaN.
pub fn rep_stats(values: &[f64]) -> RepStats {
    let n = values.len();
    if n == 0 {
        return RepStats { mean: f64::NAN, std: f64::NAN, ci95: f64::NAN };
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return RepStats { mean, std: 0.0, ci95: f64::INFINITY };
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let std = var.sqrt();
    RepStats { mean, std, ci95: t95(n - 1) * std / (n as f64).sqrt() }
}

/// The `q` quantile (0..=1) of `sorted` by linear interpolation; NaN when empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    const RATE_HZ: f64 = 1900.0;
    const DURATION_S: f64 = 2.0;

    /// Samples `power(t)` at ≈ 1.9 kHz with ±30 % jitter on each period (seeded).
    fn sample(seed: u64, power: impl Fn(f64) -> f64) -> (Instant, Vec<PowerSample>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let origin = Instant::now();
        let mut t_s = 0.0;
        let mut out = Vec::new();
        while t_s < DURATION_S {
            let at = origin + Duration::from_secs_f64(t_s);
            let p = power(t_s);
            out.push(PowerSample { at, bus_voltage_v: 5.0, current_a: p / 5.0, power_w: p });
            t_s += (1.0 + rng.random_range(-0.3..0.3)) / RATE_HZ;
        }
        let last = origin + Duration::from_secs_f64(DURATION_S);
        out.push(PowerSample { at: last, bus_voltage_v: 5.0, current_a: 0.0, power_w: power(DURATION_S) });
        (origin, out)
    }

    fn check(name: &str, power: impl Fn(f64) -> f64, analytic_j: f64) {
        for seed in [1, 2, 3] {
            let (origin, samples) = sample(seed, &power);
            let end = origin + Duration::from_secs_f64(DURATION_S);
            let e = window_energy_j(&samples, origin, end);
            let err_pct = 100.0 * (e - analytic_j).abs() / analytic_j;
            assert!(err_pct < 0.5, "{name} seed {seed}: {e} J vs {analytic_j} J ({err_pct:.3} %)");
        }
    }

    #[test]
    fn square_wave_energy_within_half_a_percent() {
        // 5 Hz square between 2.5 W and 4.5 W: mean 3.5 W over 2 s = 7 J.
        let square = |t: f64| if (t * 10.0).floor() as i64 % 2 == 0 { 4.5 } else { 2.5 };
        check("square", square, 7.0);
    }

    #[test]
    fn ramp_energy_within_half_a_percent() {
        // 2 W + 1.5 W/s: ∫0..2 = 4 + 3 = 7 J.
        check("ramp", |t| 2.0 + 1.5 * t, 7.0);
    }

    #[test]
    fn sine_energy_within_half_a_percent() {
        // 3 W + 1 W sin(2π 3.3 t): ∫0..2 = 6 + (1 − cos(2π 6.6)) / (2π 3.3).
        let f = 3.3;
        let tau = std::f64::consts::TAU;
        let analytic = 6.0 + (1.0 - (tau * f * DURATION_S).cos()) / (tau * f);
        check("sine", move |t| 3.0 + (tau * f * t).sin(), analytic);
    }

    #[test]
    fn window_bounds_are_interpolated() {
        let origin = Instant::now();
        let at = |ms: u64| origin + Duration::from_millis(ms);
        let s = |ms: u64, p: f64| PowerSample { at: at(ms), bus_voltage_v: 5.0, current_a: 0.0, power_w: p };
        let samples = [s(0, 0.0), s(10, 10.0)];
        // ∫ from 5 ms (5 W) to 10 ms (10 W) = 7.5 W × 5 ms.
        let e = window_energy_j(&samples, at(5), at(10));
        assert!((e - 0.0375).abs() < 1e-12, "{e}");
        assert!((trapezoid_energy_j(&samples) - 0.05).abs() < 1e-12);
        assert!((window_mean_power_w(&samples, at(5), at(10)) - 7.5).abs() < 1e-9);
    }

    #[test]
    fn rep_stats_match_a_hand_computation() {
        let r = rep_stats(&[1.0, 2.0, 3.0, 4.0]);
        assert!((r.mean - 2.5).abs() < 1e-12);
        let std = (5.0f64 / 3.0).sqrt();
        assert!((r.std - std).abs() < 1e-12);
        assert!((r.ci95 - 3.182 * std / 2.0).abs() < 1e-12);
        assert!(rep_stats(&[5.0]).ci95.is_infinite());
        assert!(rep_stats(&[]).mean.is_nan());
    }

    #[test]
    fn quantiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert!((quantile(&v, 0.99) - 4.96).abs() < 1e-12);
        assert!(quantile(&[], 0.5).is_nan());
    }
}
