//! Seeded, stratified splits: train / validation / fitness from the training set, plus the test set.
//!
//! The reference code (Feb 2024, the paper's) calls `train_test_split(stratify=y, random_state=run)`
//! twice: the fitness set (`evo_test`) takes 10 % first, then validation takes 0.2 / 0.9 of the
//! remainder, leaving 70 / 20 / 10. The same happens here, in the same order; each step gives every
//! class `round`-to-nearest of its proportional share (largest remainders, so the step's total is
//! `round(fraction × pool)`), i.e. within one sample of proportional *within that step's pool*.
//!
//! Datasets without an official test set (the embedded digits) first hold out a stratified test
//! split ([`SplitConfig::holdout_test_fraction`], 20 % by default) with the same seed, then split the
//! rest as above. Samples in every split come out in a seeded random order (as sklearn's do), so
//! sequential loading does not see one class after another.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::dataset::Dataset;

/// How to split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitConfig {
    /// Share of the training set used as the fitness set (taken first). Default 0.1.
    pub fitness_fraction: f64,
    /// Share of the training set used for validation (taken from the rest). Default 0.2.
    pub validation_fraction: f64,
    /// Share held out as the test set when the dataset has no official one. Default 0.2.
    pub holdout_test_fraction: f64,
    /// Seed of the shuffles (the paper uses the run number).
    pub seed: u64,
}

impl Default for SplitConfig {
    fn default() -> Self {
        Self { fitness_fraction: 0.1, validation_fraction: 0.2, holdout_test_fraction: 0.2, seed: 0 }
    }
}

/// Splits that cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    /// Fractions outside (0, 1) or summing to 1 or more.
    #[error(
        "bad split fractions: fitness {fitness}, validation {validation}, held-out test {test} \
         (each must be in (0, 1), fitness + validation < 1)"
    )]
    BadFractions {
        /// Fitness fraction.
        fitness: f64,
        /// Validation fraction.
        validation: f64,
        /// Held-out test fraction.
        test: f64,
    },
    /// A split would be empty.
    #[error("dataset {name} ({samples} samples) is too small: its {split} split would be empty")]
    Empty {
        /// Dataset name.
        name: String,
        /// Samples in the dataset.
        samples: usize,
        /// Which split.
        split: &'static str,
    },
}

/// The four datasets one run works with.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSplits {
    /// Trains the candidates.
    pub train: Dataset,
    /// Early stopping.
    pub validation: Dataset,
    /// Accuracy (and measured power) in the fitness; the reference's `evo_test`.
    pub fitness: Dataset,
    /// Final reporting only (official test set, or the held-out share for digits).
    pub test: Dataset,
}

/// Splits `train_set` as the paper does; `test_set` is the official test set, or `None` to hold
/// one out of `train_set` first.
pub fn split(train_set: &Dataset, test_set: Option<Dataset>, config: &SplitConfig) -> Result<DataSplits, SplitError> {
    check_fractions(config, test_set.is_none())?;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let labels = train_set.labels();
    let classes = train_set.num_classes();
    let mut pool: Vec<usize> = (0..train_set.len()).collect();
    let mut held_out = None;
    if test_set.is_none() {
        let (test, rest) = stratified_take(labels, classes, &pool, config.holdout_test_fraction, &mut rng);
        held_out = Some(test);
        pool = rest;
    }
    let (fitness, rest) = stratified_take(labels, classes, &pool, config.fitness_fraction, &mut rng);
    let validation_of_rest = config.validation_fraction / (1.0 - config.fitness_fraction);
    let (validation, train) = stratified_take(labels, classes, &rest, validation_of_rest, &mut rng);
    let name = train_set.name();
    let subset = |split: &'static str, indices: &[usize]| {
        if indices.is_empty() {
            return Err(SplitError::Empty { name: name.to_owned(), samples: train_set.len(), split });
        }
        Ok(train_set.subset(format!("{name}/{split}"), indices))
    };
    let test = match (test_set, held_out) {
        (Some(test), _) => test,
        (None, held_out) => subset("test", &held_out.unwrap_or_default())?,
    };
    Ok(DataSplits {
        train: subset("train", &train)?,
        validation: subset("validation", &validation)?,
        fitness: subset("fitness", &fitness)?,
        test,
    })
}

fn check_fractions(config: &SplitConfig, holds_out_test: bool) -> Result<(), SplitError> {
    let in_unit = |f: f64| f > 0.0 && f < 1.0;
    let ok = in_unit(config.fitness_fraction)
        && in_unit(config.validation_fraction)
        && config.fitness_fraction + config.validation_fraction < 1.0
        && (!holds_out_test || in_unit(config.holdout_test_fraction));
    if ok {
        return Ok(());
    }
    Err(SplitError::BadFractions {
        fitness: config.fitness_fraction,
        validation: config.validation_fraction,
        test: config.holdout_test_fraction,
    })
}

/// Takes `round(fraction × pool.len())` indices out of `pool`, stratified by label; returns
/// `(taken, rest)`, both in a random order.
pub fn stratified_take(
    labels: &[u8],
    num_classes: usize,
    pool: &[usize],
    fraction: f64,
    rng: &mut ChaCha8Rng,
) -> (Vec<usize>, Vec<usize>) {
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); num_classes];
    for &i in pool {
        by_class[usize::from(labels[i])].push(i);
    }
    let sizes: Vec<usize> = by_class.iter().map(Vec::len).collect();
    let quotas = apportion(&sizes, fraction);
    let (mut taken, mut rest) = (Vec::new(), Vec::new());
    for (members, quota) in by_class.iter_mut().zip(quotas) {
        members.shuffle(rng);
        taken.extend_from_slice(&members[..quota]);
        rest.extend_from_slice(&members[quota..]);
    }
    taken.shuffle(rng);
    rest.shuffle(rng);
    (taken, rest)
}

/// Per-class quotas: `floor(fraction × size)` each, plus one for the classes with the largest
/// fractional parts until the total is `round(fraction × Σ size)` (ties to the lower class).
fn apportion(sizes: &[usize], fraction: f64) -> Vec<usize> {
    let total: usize = sizes.iter().sum();
    let target = (fraction * total as f64).round() as usize;
    let exact: Vec<f64> = sizes.iter().map(|&s| fraction * s as f64).collect();
    let mut quotas: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())).then(a.cmp(&b)));
    let missing = target.saturating_sub(quotas.iter().sum());
    for &class in order.iter().take(missing) {
        quotas[class] = (quotas[class] + 1).min(sizes[class]);
    }
    quotas
}

#[cfg(test)]
mod tests;
