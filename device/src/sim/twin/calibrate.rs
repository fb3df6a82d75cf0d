//! Fitting a twin's constants to measured figures (`wattevo boards --calibrate`).
//!
//! Both halves of the cost model are linear in their constants once the structural ones (cache
//! sizes, tile sizes, thread scaling) are fixed, so the fit is two weighted least-squares
//! problems over the reference models (`reference`), each row weighted by 1 / observed value
//! (relative errors count alike for a 50 µs and a 50 ms model):
//!
//! 1. latency: `t = overhead · n_ops + Σ_kind work_kind / rate_kind + B_llc / bw_llc + B_dram / bw_dram`
//!    for the unknowns `overhead, 1/rate_conv, 1/rate_depthwise, 1/rate_matmul, 1/rate_elementwise,
//!    1/bw_llc, 1/bw_dram`;
//! 2. dynamic energy per inference, with the fitted times:
//!    `E = core_w · Σ (cores·t − (1 − s)·t_dram) + neon_w · Σ T·t_compute + e_llc · B_llc + e_dram · B_dram`.
//!
//! The stalled core's share `s` stays at its prior: a stalled core's power and DRAM energy both
//! grow with the bytes from DRAM, so no set of measurements tells them apart (their sum is
//! what the fit pins down).
//!
//! Idle power is the mean of the measured idle figures. A constant no reference model
//! exercises keeps its prior value.

use super::cost::{ModelEstimate, Twin};
use super::graph::{ModelFacts, OpKind};
use super::lsq::{self, LsqError};

/// One reference model measured on a board.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The model's name (for the error report).
    pub name: String,
    /// Its operators, as the twin reads them.
    pub facts: ModelFacts,
    /// Measured time per inference, seconds.
    pub latency_s: f64,
    /// Measured energy above idle per inference, joules.
    pub dynamic_energy_j: f64,
}

/// How well the fitted twin reproduces one observation.
#[derive(Debug, Clone, PartialEq)]
pub struct FitError {
    /// The model.
    pub name: String,
    /// Predicted − measured latency, percent of measured.
    pub latency_pct: f64,
    /// Predicted − measured dynamic energy, percent of measured.
    pub dynamic_energy_pct: f64,
}

/// A fitted twin and its errors on the observations.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// The twin with fitted constants.
    pub twin: Twin,
    /// Per-model errors after the fit.
    pub errors: Vec<FitError>,
    /// Constants the fit could not pin down (a non-positive fitted value), held at the prior.
    pub held: Vec<&'static str>,
}

impl Calibration {
    /// The largest absolute latency and dynamic-energy errors, percent.
    pub fn worst_pct(&self) -> (f64, f64) {
        self.errors
            .iter()
            .fold((0.0f64, 0.0f64), |(l, e), x| (l.max(x.latency_pct.abs()), e.max(x.dynamic_energy_pct.abs())))
    }
}

/// Why a fit failed.
#[derive(Debug, thiserror::Error)]
pub enum CalibrationError {
    /// The least-squares problem has no unique answer.
    #[error("calibration: {0}")]
    Fit(#[from] LsqError),
    /// A measured figure is not a positive number.
    #[error("calibration: model {model} has a non-positive or non-finite {what}")]
    BadObservation {
        /// The model.
        model: String,
        /// Which figure.
        what: &'static str,
    },
    /// The fit gives a constant no board can have.
    #[error("calibration: fitted {constant} = {value} is not physical; the measurements disagree with the model")]
    Implausible {
        /// The constant.
        constant: &'static str,
        /// Its fitted value.
        value: f64,
    },
}

/// Names of the latency unknowns, in feature order.
const TIME_UNKNOWNS: [&str; 7] =
    ["op_overhead", "1/conv_rate", "1/depthwise_rate", "1/matmul_rate", "1/elementwise_rate", "1/llc_bw", "1/dram_bw"];

/// Names of the energy unknowns, in feature order.
const ENERGY_UNKNOWNS: [&str; 4] = ["core_w", "neon_w", "llc_nj_per_byte", "dram_nj_per_byte"];

/// Latency features of a model on `twin`: the coefficients of [`TIME_UNKNOWNS`].
pub fn time_features(twin: &Twin, facts: &ModelFacts) -> [f64; 7] {
    let mut x = [0.0; 7];
    for (op, est) in facts.ops.iter().zip(twin.estimate(facts)) {
        if op.kind == OpKind::Layout {
            continue;
        }
        x[0] += 1.0;
        let slot = match op.kind {
            OpKind::Conv => 1,
            OpKind::Depthwise => 2,
            OpKind::MatMul => 3,
            _ => 4,
        };
        x[slot] += twin.effective_work(op);
        x[5] += est.bytes_from_llc;
        x[6] += est.bytes_to_dram;
    }
    x
}

/// Energy features of a model on `twin`: the coefficients of [`ENERGY_UNKNOWNS`] (joules per unit).
pub fn energy_features(twin: &Twin, facts: &ModelFacts) -> [f64; 4] {
    twin.estimate(facts).iter().fold([0.0; 4], |x, op| {
        [
            x[0] + op.busy_cores * op.time_s - (1.0 - twin.soc.power.stall_core_share) * op.dram_wait_s,
            x[1] + op.compute_cores * op.compute_s,
            x[2] + op.bytes_from_llc * 1e-9,
            x[3] + op.bytes_to_dram * 1e-9,
        ]
    })
}

/// The current values of the latency unknowns.
fn time_unknowns(twin: &Twin) -> [f64; 7] {
    let t = &twin.soc.time;
    [
        t.op_overhead_us * 1e-6,
        1.0 / (t.conv_gmac_s * 1e9),
        1.0 / (t.depthwise_gmac_s * 1e9),
        1.0 / (t.matmul_gmac_s * 1e9),
        1.0 / (t.elementwise_gop_s * 1e9),
        1.0 / (t.llc_gb_s * 1e9),
        1.0 / (t.dram_gb_s * 1e9),
    ]
}

fn set_time_unknowns(twin: &mut Twin, x: &[f64; 7]) -> Result<(), CalibrationError> {
    for (i, &v) in x.iter().enumerate() {
        let physical = if i == 0 { v >= 0.0 } else { v > 0.0 };
        if !(v.is_finite() && physical) {
            return Err(CalibrationError::Implausible { constant: TIME_UNKNOWNS[i], value: v });
        }
    }
    let t = &mut twin.soc.time;
    t.op_overhead_us = x[0] * 1e6;
    t.conv_gmac_s = 1e-9 / x[1];
    t.depthwise_gmac_s = 1e-9 / x[2];
    t.matmul_gmac_s = 1e-9 / x[3];
    t.elementwise_gop_s = 1e-9 / x[4];
    t.llc_gb_s = 1e-9 / x[5];
    t.dram_gb_s = 1e-9 / x[6];
    Ok(())
}

fn energy_unknowns(twin: &Twin) -> [f64; 4] {
    [twin.board.core_w, twin.soc.power.neon_w, twin.soc.power.llc_nj_per_byte, twin.board.dram_nj_per_byte]
}

fn set_energy_unknowns(twin: &mut Twin, x: &[f64; 4]) -> Result<(), CalibrationError> {
    if let Some(i) = x.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
        return Err(CalibrationError::Implausible { constant: ENERGY_UNKNOWNS[i], value: x[i] });
    }
    twin.board.core_w = x[0];
    twin.soc.power.neon_w = x[1];
    twin.soc.power.llc_nj_per_byte = x[2];
    twin.board.dram_nj_per_byte = x[3];
    Ok(())
}

/// Solves `Σ_j features_j · unknown_j = target` over the observations (relative weighting);
/// unknowns no observation exercises keep their `prior` value. A fitted value that is not
/// positive (two constants the reference models cannot tell apart, plus measurement noise)
/// is held at its prior and the others are fitted again, one at a time, most negative first
/// (an active-set non-negative least squares); the held ones are returned by index.
fn fit_unknowns<const N: usize>(
    features: &[[f64; N]],
    targets: &[f64],
    prior: [f64; N],
) -> Result<([f64; N], Vec<usize>), CalibrationError> {
    let mut free: Vec<usize> = (0..N).filter(|&j| features.iter().any(|f| f[j] != 0.0)).collect();
    let mut held = Vec::new();
    loop {
        let rows: Vec<Vec<f64>> =
            features.iter().zip(targets).map(|(f, t)| free.iter().map(|&j| f[j] / t).collect()).collect();
        let rhs: Vec<f64> = features
            .iter()
            .zip(targets)
            .map(|(f, t)| 1.0 - held.iter().map(|&j: &usize| f[j] * prior[j]).sum::<f64>() / t)
            .collect();
        let solved = lsq::solve(&rows, &rhs)?;
        let worst = free
            .iter()
            .zip(&solved)
            .filter(|&(_, &v)| v <= 0.0)
            .min_by(|a, b| {
                (a.1 / prior[*a.0].max(f64::MIN_POSITIVE)).total_cmp(&(b.1 / prior[*b.0].max(f64::MIN_POSITIVE)))
            })
            .map(|(&j, _)| j);
        match worst {
            Some(j) if free.len() > 1 && prior[j] > 0.0 => {
                free.retain(|&k| k != j);
                held.push(j);
            }
            _ => {
                let mut out = prior;
                for (&j, v) in free.iter().zip(solved) {
                    out[j] = v;
                }
                held.sort_unstable();
                return Ok((out, held));
            }
        }
    }
}

fn check(observations: &[Observation]) -> Result<(), CalibrationError> {
    for o in observations {
        let bad = |what| CalibrationError::BadObservation { model: o.name.clone(), what };
        if !(o.latency_s.is_finite() && o.latency_s > 0.0) {
            return Err(bad("latency"));
        }
        if !(o.dynamic_energy_j.is_finite() && o.dynamic_energy_j > 0.0) {
            return Err(bad("dynamic energy"));
        }
    }
    Ok(())
}

/// Fits `prior`'s constants to `observations`; `idle_w` (the measured idle power) replaces the
/// prior's when given.
pub fn fit(prior: &Twin, observations: &[Observation], idle_w: Option<f64>) -> Result<Calibration, CalibrationError> {
    check(observations)?;
    let mut twin = prior.clone();
    if let Some(idle) = idle_w {
        twin.board.idle_w = idle;
    }
    let time: Vec<[f64; 7]> = observations.iter().map(|o| time_features(&twin, &o.facts)).collect();
    let latencies: Vec<f64> = observations.iter().map(|o| o.latency_s).collect();
    let (fitted, held_time) = fit_unknowns(&time, &latencies, time_unknowns(&twin))?;
    set_time_unknowns(&mut twin, &fitted)?;
    let energy: Vec<[f64; 4]> = observations.iter().map(|o| energy_features(&twin, &o.facts)).collect();
    let energies: Vec<f64> = observations.iter().map(|o| o.dynamic_energy_j).collect();
    let (fitted, held_energy) = fit_unknowns(&energy, &energies, energy_unknowns(&twin))?;
    set_energy_unknowns(&mut twin, &fitted)?;
    let held =
        held_time.iter().map(|&j| TIME_UNKNOWNS[j]).chain(held_energy.iter().map(|&j| ENERGY_UNKNOWNS[j])).collect();
    let errors = observations
        .iter()
        .map(|o| {
            let predicted = ModelEstimate::of(&twin.estimate(&o.facts));
            FitError {
                name: o.name.clone(),
                latency_pct: 100.0 * (predicted.latency_s - o.latency_s) / o.latency_s,
                dynamic_energy_pct: 100.0 * (predicted.dynamic_energy_j - o.dynamic_energy_j) / o.dynamic_energy_j,
            }
        })
        .collect();
    Ok(Calibration { twin, errors, held })
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::sim::twin::reference::reference_facts;
    use crate::sim::twin::tests::pi4_twin;

    /// Figures a twin with `truth`'s constants would measure, with seeded relative noise.
    fn observe(truth: &Twin, noise: f64, seed: u64) -> Vec<Observation> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        reference_facts()
            .into_iter()
            .map(|(name, facts)| {
                let e = ModelEstimate::of(&truth.estimate(&facts));
                let mut jitter = || 1.0 + noise * rng.random_range(-1.0..1.0);
                Observation {
                    name: name.to_string(),
                    latency_s: e.latency_s * jitter(),
                    dynamic_energy_j: e.dynamic_energy_j * jitter(),
                    facts,
                }
            })
            .collect()
    }

    /// A board unlike the prior: every fitted constant moved by 20–60 %.
    fn other_board() -> Twin {
        let mut truth = pi4_twin(1);
        let t = &mut truth.soc.time;
        t.op_overhead_us *= 1.5;
        t.conv_gmac_s *= 0.7;
        t.depthwise_gmac_s *= 1.3;
        t.matmul_gmac_s *= 1.4;
        t.elementwise_gop_s *= 0.6;
        t.llc_gb_s *= 1.25;
        t.dram_gb_s *= 0.8;
        truth.board.core_w *= 1.2;
        truth.soc.power.neon_w *= 1.6;
        truth.soc.power.llc_nj_per_byte *= 1.5;
        truth.board.dram_nj_per_byte *= 0.7;
        truth
    }

    fn relative(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs()
    }

    #[test]
    fn recovers_known_constants_from_noiseless_figures() {
        let truth = other_board();
        let fit = fit(&pi4_twin(1), &observe(&truth, 0.0, 1), Some(truth.board.idle_w)).expect("fit");
        let (got, want) = (&fit.twin, &truth);
        assert!(relative(got.soc.time.conv_gmac_s, want.soc.time.conv_gmac_s) < 1e-6);
        assert!(relative(got.soc.time.dram_gb_s, want.soc.time.dram_gb_s) < 1e-6);
        assert!(relative(got.board.dram_nj_per_byte, want.board.dram_nj_per_byte) < 1e-6);
        let (latency, energy) = fit.worst_pct();
        assert!(latency < 1e-6 && energy < 1e-6, "{:?}", fit.errors);
    }

    #[test]
    fn recovers_known_constants_within_a_few_percent_from_noisy_figures() {
        let truth = other_board();
        let fit = fit(&pi4_twin(1), &observe(&truth, 0.01, 7), Some(truth.board.idle_w)).expect("fit");
        let (got, want) = (&fit.twin, &truth);
        let pairs = [
            ("op_overhead_us", got.soc.time.op_overhead_us, want.soc.time.op_overhead_us),
            ("conv_gmac_s", got.soc.time.conv_gmac_s, want.soc.time.conv_gmac_s),
            ("depthwise_gmac_s", got.soc.time.depthwise_gmac_s, want.soc.time.depthwise_gmac_s),
            ("matmul_gmac_s", got.soc.time.matmul_gmac_s, want.soc.time.matmul_gmac_s),
            ("elementwise_gop_s", got.soc.time.elementwise_gop_s, want.soc.time.elementwise_gop_s),
            ("llc_gb_s", got.soc.time.llc_gb_s, want.soc.time.llc_gb_s),
            ("dram_gb_s", got.soc.time.dram_gb_s, want.soc.time.dram_gb_s),
            ("core_w", got.board.core_w, want.board.core_w),
            ("neon_w", got.soc.power.neon_w, want.soc.power.neon_w),
            ("dram_nj_per_byte", got.board.dram_nj_per_byte, want.board.dram_nj_per_byte),
        ];
        for (name, got, want) in pairs {
            assert!(relative(got, want) < 0.05, "{name}: fitted {got}, true {want}");
        }
        let (latency, energy) = fit.worst_pct();
        assert!(latency < 3.0 && energy < 3.0, "{:?}", fit.errors);
    }

    #[test]
    fn bad_figures_are_refused() {
        let mut observations = observe(&pi4_twin(1), 0.0, 1);
        observations[0].latency_s = 0.0;
        let error = fit(&pi4_twin(1), &observations, None).expect_err("zero latency");
        assert!(error.to_string().contains(&observations[0].name), "{error}");
    }
}
