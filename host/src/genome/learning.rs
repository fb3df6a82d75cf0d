//! The `learning` macro gene → a typed [`LearningSpec`] (optimiser, batch size, early stop).
//!
//! Phenotype keys (REFERENCE.md §1.2): `learning:<gradient_descent|adam|rmsprop|lars>` with the
//! optimiser's parameters, `early_stop`, `batch_size`, `epochs`.

use serde::{Deserialize, Serialize};

use crate::grammar::{Phenotype, Value};
use crate::netspec::Invalid;

/// The optimiser and its evolved parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Optimiser {
    /// SGD with momentum (`learning:gradient_descent`).
    Sgd {
        /// Learning rate.
        lr: f64,
        /// Momentum.
        momentum: f64,
        /// L2 weight decay.
        weight_decay: f64,
        /// Nesterov momentum.
        nesterov: bool,
    },
    /// Adam.
    Adam {
        /// Learning rate.
        lr: f64,
        /// First-moment decay.
        beta1: f64,
        /// Second-moment decay.
        beta2: f64,
        /// L2 weight decay.
        weight_decay: f64,
    },
    /// RMSprop.
    RmsProp {
        /// Learning rate.
        lr: f64,
        /// Smoothing constant.
        alpha: f64,
        /// L2 weight decay.
        weight_decay: f64,
    },
    /// LARS (learning rates are multipliers of the batch-size-scaled base rate, REFERENCE.md §1.4).
    Lars {
        /// Multiplier for weights.
        lr_weights: f64,
        /// Multiplier for biases.
        lr_biases: f64,
        /// Momentum.
        momentum: f64,
        /// Weight decay.
        weight_decay: f64,
    },
}

/// How a candidate is trained.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LearningSpec {
    /// Optimiser and parameters.
    pub optimiser: Optimiser,
    /// Samples per batch.
    pub batch_size: usize,
    /// Epochs without validation-loss improvement before stopping.
    pub early_stop_patience: usize,
    /// Most epochs (10000 in the paper's grammar: the time budget stops training first).
    pub epochs: usize,
}

fn invalid(reason: String) -> Invalid {
    Invalid { layer: usize::MAX, reason }
}

fn float(p: &Phenotype, key: &str) -> Result<f64, Invalid> {
    p.get(key).and_then(Value::as_f64).ok_or_else(|| invalid(format!("learning: missing or non-numeric `{key}`")))
}

fn count(p: &Phenotype, key: &str) -> Result<usize, Invalid> {
    p.get(key)
        .and_then(Value::as_i64)
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n > 0)
        .ok_or_else(|| invalid(format!("learning: `{key}` is not a positive integer")))
}

fn flag(p: &Phenotype, key: &str) -> Result<bool, Invalid> {
    match p.get(key).and_then(Value::as_text) {
        Some("True") => Ok(true),
        Some("False") => Ok(false),
        _ => Err(invalid(format!("learning: `{key}` is not True/False"))),
    }
}

impl LearningSpec {
    /// Reads a `learning` phenotype; a missing or malformed key is an [`Invalid`] outcome.
    pub fn from_phenotype(p: &Phenotype) -> Result<LearningSpec, Invalid> {
        let kind = p.get("learning").and_then(Value::as_text).unwrap_or_default();
        let optimiser = match kind {
            "gradient_descent" => Optimiser::Sgd {
                lr: float(p, "lr")?,
                momentum: float(p, "momentum")?,
                weight_decay: float(p, "weight_decay")?,
                nesterov: flag(p, "nesterov")?,
            },
            "adam" => Optimiser::Adam {
                lr: float(p, "lr")?,
                beta1: float(p, "beta1")?,
                beta2: float(p, "beta2")?,
                weight_decay: float(p, "weight_decay")?,
            },
            "rmsprop" => Optimiser::RmsProp {
                lr: float(p, "lr")?,
                alpha: float(p, "alpha")?,
                weight_decay: float(p, "weight_decay")?,
            },
            "lars" => Optimiser::Lars {
                lr_weights: float(p, "lr_weights")?,
                lr_biases: float(p, "lr_biases")?,
                momentum: float(p, "momentum")?,
                weight_decay: float(p, "weight_decay")?,
            },
            other => return Err(invalid(format!("learning: unknown optimiser `{other}`"))),
        };
        Ok(LearningSpec {
            optimiser,
            batch_size: count(p, "batch_size")?,
            early_stop_patience: count(p, "early_stop")?,
            epochs: count(p, "epochs")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_optimiser() {
        let sgd: Phenotype = "learning:gradient_descent lr:0.01 momentum:0.9 weight_decay:0.0001 nesterov:True \
                              early_stop:7 batch_size:64 epochs:10000"
            .parse()
            .expect("parses");
        let spec = LearningSpec::from_phenotype(&sgd).expect("valid");
        assert_eq!(spec.optimiser, Optimiser::Sgd { lr: 0.01, momentum: 0.9, weight_decay: 0.0001, nesterov: true });
        assert_eq!((spec.batch_size, spec.early_stop_patience, spec.epochs), (64, 7, 10000));
        let lars: Phenotype = "learning:lars lr_weights:0.2 lr_biases:0.005 momentum:0.8 weight_decay:1e-6 \
                               early_stop:5 batch_size:32 epochs:100"
            .parse()
            .expect("parses");
        assert!(matches!(LearningSpec::from_phenotype(&lars).expect("valid").optimiser, Optimiser::Lars { .. }));
        let bad: Phenotype = "learning:adam lr:0.1 beta1:0.9 early_stop:5 batch_size:32 epochs:1".parse().expect("ok");
        let err = LearningSpec::from_phenotype(&bad).expect_err("beta2 missing");
        assert!(err.reason.contains("beta2"), "{err}");
    }
}
