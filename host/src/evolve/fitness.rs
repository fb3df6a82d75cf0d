//! Fitness: a weighted sum of terms over measured metrics, each optionally gated by conditions.
//!
//! A maximised term adds `w·m`, a minimised one adds `w/m` (the reference code's form); a term
//! counts only when all its conditions hold. Metrics are named `<name>_<partition>`
//! (`accuracy_1`, `power_0`, ...); an unsuffixed name (`accuracy`) is the mean over the
//! partitions that have it, as the reference code does for `accuracy`; with
//! [`UnsuffixedMetrics::TwoHead`] the evaluator also measures the two-head network and records
//! its `power`, `energy`, ... unsuffixed, as the reference does (an exact name wins over the
//! mean). A condition without a metric tests its term's metric, as in the reference. Invalid
//! networks score [`INVALID_FITNESS`].
//!
//! Presets:
//! - `paper`: `accuracy_1 + [0.7 < accuracy_1 < 0.9]·10/power_1` (ENERGIZE's example config);
//! - `accuracy`: `accuracy_0` (the DENSER baseline);
//! - `energy` (default): `accuracy_1 + [accuracy_1 > 0.7]·1e-5/energy_1`, where `energy_1` is the
//!   board's total energy per inference of the small model in joules. Board power barely moves
//!   between models (idle is 40–70 % of it), so energy per inference, which also rewards speed,
//!   ranks board-level cost better than mean power. 1e-5 J/energy is ≈ 0.01–0.05 for the
//!   0.2–1 mJ a small CNN costs on a Raspberry Pi 4: a few points of accuracy.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Fitness of an invalid network (the worst value of an accuracy-like fitness).
pub const INVALID_FITNESS: f64 = -1.0;

/// Metrics of one candidate, by name (`accuracy_0`, `power_1`, ...).
pub type Metrics = BTreeMap<String, f64>;

/// What an unsuffixed board metric (`power`, `energy`, `latency`, their `dynamic_` forms) means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnsuffixedMetrics {
    /// The mean over the partitions (no extra measurement).
    #[default]
    PartitionMean,
    /// The two-head network, shared layers run once and both heads computed, measured on the
    /// board as a third model (the reference code's `power` and `energy`).
    TwoHead,
}

impl crate::named::Named for UnsuffixedMetrics {
    const KIND: &'static str = "unsuffixed metrics";
    const VALUES: &'static [(Self, &'static str, &'static str)] = &[
        (Self::PartitionMean, "partition_mean", "the mean over the partitions"),
        (Self::TwoHead, "two_head", "the two-head network, measured as a third model (the reference code)"),
    ];
}
crate::named::named_enum_text!(UnsuffixedMetrics);

/// Whether a term rewards large or small values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Adds `weight · metric`.
    Maximize,
    /// Adds `weight / metric`.
    Minimize,
}

/// A comparison in a gating condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// metric > value
    GreaterThan,
    /// metric < value
    LessThan,
    /// metric ≥ value
    AtLeast,
    /// metric ≤ value
    AtMost,
}

/// `metric <comparison> value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Metric name; absent: the term's own metric (as in the reference code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// How to compare.
    #[serde(rename = "type")]
    pub comparison: Comparison,
    /// Threshold.
    pub value: f64,
}

/// One weighted term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitnessTerm {
    /// Metric name.
    pub metric: String,
    /// Maximise or minimise.
    pub objective: Objective,
    /// Weight (default 1).
    #[serde(default = "one")]
    pub weight: f64,
    /// The term counts only when all of these hold.
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

fn one() -> f64 {
    1.0
}

/// Why a fitness could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitnessError {
    /// A term or condition names a metric the candidate does not have.
    #[error("fitness uses metric `{metric}`, which was not measured (known: {known})")]
    UnknownMetric {
        /// The missing metric.
        metric: String,
        /// The metrics that exist.
        known: String,
    },
    /// A minimised metric is zero, negative or not finite.
    #[error("fitness minimises `{metric}` but its value {value} is not positive")]
    NotPositive {
        /// The metric.
        metric: String,
        /// Its value.
        value: f64,
    },
}

/// The named presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// accuracy_1 + [0.7 < accuracy_1 < 0.9]·10/power_1 (the paper's reference configuration).
    Paper,
    /// accuracy_0 only (the DENSER baseline).
    Accuracy,
    /// accuracy_1 + [accuracy_1 > 0.7]·1e-5/energy_1 (board-level energy per inference).
    Energy,
}

impl crate::named::Named for Preset {
    const KIND: &'static str = "fitness preset";
    const VALUES: &'static [(Self, &'static str, &'static str)] = &[
        (Self::Paper, "paper", "accuracy_1 + [0.7 < accuracy_1 < 0.9]·10/power_1 (the paper's configuration)"),
        (Self::Accuracy, "accuracy", "accuracy_0 only (the DENSER baseline)"),
        (Self::Energy, "energy", "accuracy_1 + [accuracy_1 > 0.7]·1e-5/energy_1 (board energy per inference)"),
    ];
}
crate::named::named_enum_text!(Preset);

/// A fitness function: the sum of its terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FitnessFunction {
    /// The terms, summed.
    pub terms: Vec<FitnessTerm>,
}

fn term(metric: &str, objective: Objective, weight: f64, conditions: Vec<Condition>) -> FitnessTerm {
    FitnessTerm { metric: metric.to_owned(), objective, weight, conditions }
}

fn cond(metric: &str, comparison: Comparison, value: f64) -> Condition {
    Condition { metric: Some(metric.to_owned()), comparison, value }
}

impl FitnessFunction {
    /// The terms of a preset.
    pub fn preset(preset: Preset) -> Self {
        use Comparison::*;
        use Objective::*;
        let terms = match preset {
            Preset::Paper => vec![
                term("accuracy_1", Maximize, 1.0, vec![]),
                term(
                    "power_1",
                    Minimize,
                    10.0,
                    vec![cond("accuracy_1", GreaterThan, 0.7), cond("accuracy_1", LessThan, 0.9)],
                ),
            ],
            Preset::Accuracy => vec![term("accuracy_0", Maximize, 1.0, vec![])],
            Preset::Energy => vec![
                term("accuracy_1", Maximize, 1.0, vec![]),
                term("energy_1", Minimize, 1e-5, vec![cond("accuracy_1", GreaterThan, 0.7)]),
            ],
        };
        Self { terms }
    }

    /// Whether any term or condition needs a board measurement (power, energy, latency).
    pub fn needs_board(&self) -> bool {
        let measured = |m: &str| {
            ["power", "dynamic_power", "energy", "dynamic_energy", "latency"].iter().any(|p| base_name(m) == *p)
        };
        self.terms.iter().any(|t| {
            measured(&t.metric) || t.conditions.iter().any(|c| measured(c.metric.as_deref().unwrap_or(&t.metric)))
        })
    }

    /// The fitness of a valid candidate.
    pub fn evaluate(&self, metrics: &Metrics) -> Result<f64, FitnessError> {
        let mut total = 0.0;
        for term in &self.terms {
            if !all_hold(&term.conditions, &term.metric, metrics)? {
                continue;
            }
            let value = lookup(metrics, &term.metric)?;
            total += match term.objective {
                Objective::Maximize => term.weight * value,
                Objective::Minimize if value > 0.0 && value.is_finite() => term.weight / value,
                Objective::Minimize => return Err(FitnessError::NotPositive { metric: term.metric.clone(), value }),
            };
        }
        Ok(total)
    }
}

/// Whether every condition holds; a condition without a metric tests `term_metric`.
fn all_hold(conditions: &[Condition], term_metric: &str, metrics: &Metrics) -> Result<bool, FitnessError> {
    for c in conditions {
        let m = lookup(metrics, c.metric.as_deref().unwrap_or(term_metric))?;
        let holds = match c.comparison {
            Comparison::GreaterThan => m > c.value,
            Comparison::LessThan => m < c.value,
            Comparison::AtLeast => m >= c.value,
            Comparison::AtMost => m <= c.value,
        };
        if !holds {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `accuracy_1` → `accuracy`; `accuracy` → `accuracy`.
fn base_name(metric: &str) -> &str {
    match metric.rsplit_once('_') {
        Some((base, index)) if index.chars().all(|c| c.is_ascii_digit()) && !index.is_empty() => base,
        _ => metric,
    }
}

/// A metric by name; an unsuffixed name is the mean over the partitions that have it.
pub fn lookup(metrics: &Metrics, name: &str) -> Result<f64, FitnessError> {
    if let Some(v) = metrics.get(name) {
        return Ok(*v);
    }
    let prefix = format!("{name}_");
    let values: Vec<f64> = metrics
        .iter()
        .filter(|(k, _)| {
            k.strip_prefix(&prefix).is_some_and(|i| !i.is_empty() && i.chars().all(|c| c.is_ascii_digit()))
        })
        .map(|(_, v)| *v)
        .collect();
    if values.is_empty() {
        let known = metrics.keys().cloned().collect::<Vec<_>>().join(", ");
        return Err(FitnessError::UnknownMetric { metric: name.to_owned(), known });
    }
    Ok(values.iter().sum::<f64>() / values.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(pairs: &[(&str, f64)]) -> Metrics {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    #[test]
    fn paper_preset_gates_the_power_term() {
        let f = FitnessFunction::preset(Preset::Paper);
        let inside = metrics(&[("accuracy_1", 0.8), ("power_1", 4.0)]);
        assert!((f.evaluate(&inside).expect("ok") - (0.8 + 10.0 / 4.0)).abs() < 1e-12);
        let above = metrics(&[("accuracy_1", 0.95), ("power_1", 4.0)]);
        assert!((f.evaluate(&above).expect("ok") - 0.95).abs() < 1e-12);
        let below = metrics(&[("accuracy_1", 0.7), ("power_1", 4.0)]);
        assert!((f.evaluate(&below).expect("ok") - 0.7).abs() < 1e-12, "0.7 is not > 0.7");
    }

    #[test]
    fn minimised_terms_are_reciprocals_and_must_be_positive() {
        let f = FitnessFunction { terms: vec![term("energy_0", Objective::Minimize, 2.0, vec![])] };
        assert!((f.evaluate(&metrics(&[("energy_0", 0.5)])).expect("ok") - 4.0).abs() < 1e-12);
        let err = f.evaluate(&metrics(&[("energy_0", 0.0)])).expect_err("zero");
        assert!(matches!(err, FitnessError::NotPositive { .. }));
        let err = f.evaluate(&metrics(&[("energy_0", -1e-3)])).expect_err("negative");
        assert!(err.to_string().contains("energy_0"));
    }

    #[test]
    fn unsuffixed_metric_is_the_mean_over_partitions() {
        let m = metrics(&[("accuracy_0", 0.9), ("accuracy_1", 0.7), ("power_0", 3.0)]);
        assert!((lookup(&m, "accuracy").expect("mean") - 0.8).abs() < 1e-12);
        assert!((lookup(&m, "power").expect("mean") - 3.0).abs() < 1e-12);
        let err = lookup(&m, "latency_0").expect_err("missing");
        assert!(err.to_string().contains("accuracy_0, accuracy_1, power_0"), "{err}");
    }

    #[test]
    fn conditions_compare_as_named() {
        let m = metrics(&[("a_0", 1.0)]);
        let check = |c: Comparison, v: f64| all_hold(&[cond("a_0", c, v)], "b_0", &m).expect("known");
        assert!(check(Comparison::AtLeast, 1.0) && !check(Comparison::GreaterThan, 1.0));
        assert!(check(Comparison::AtMost, 1.0) && !check(Comparison::LessThan, 1.0));
    }

    #[test]
    fn a_condition_without_a_metric_tests_its_terms_metric() {
        let text = r#"
            [[fitness]]
            metric = "accuracy_1"
            objective = "maximize"
            conditions = [{ type = "greater_than", value = 0.5 }]
        "#;
        #[derive(Deserialize)]
        struct File {
            fitness: FitnessFunction,
        }
        let parsed: File = toml::from_str(text).expect("a condition may omit its metric");
        assert_eq!(parsed.fitness.terms[0].conditions[0].metric, None);
        let f = parsed.fitness;
        assert_eq!(f.evaluate(&metrics(&[("accuracy_1", 0.8)])).expect("ok"), 0.8);
        assert_eq!(f.evaluate(&metrics(&[("accuracy_1", 0.4)])).expect("ok"), 0.0, "0.4 is not > 0.5");
    }

    #[test]
    fn presets_say_whether_they_need_a_board() {
        assert!(FitnessFunction::preset(Preset::Paper).needs_board());
        assert!(FitnessFunction::preset(Preset::Energy).needs_board());
        assert!(!FitnessFunction::preset(Preset::Accuracy).needs_board());
    }

    #[test]
    fn terms_parse_from_toml() {
        let text = r#"
            [[fitness]]
            metric = "accuracy_1"
            objective = "maximize"
            [[fitness]]
            metric = "power_1"
            objective = "minimize"
            weight = 10
            conditions = [{ metric = "accuracy_1", type = "greater_than", value = 0.7 },
                          { metric = "accuracy_1", type = "less_than", value = 0.9 }]
        "#;
        #[derive(Deserialize)]
        struct File {
            fitness: FitnessFunction,
        }
        let parsed: File = toml::from_str(text).expect("valid toml");
        assert_eq!(parsed.fitness, FitnessFunction::preset(Preset::Paper));
    }
}
