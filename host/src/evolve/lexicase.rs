//! ε-lexicase parent selection (Spector 2012; La Cava, Spector and Danai 2016), as later
//! versions of the paper's reference code added it: the cases are taken in a random order, and
//! each keeps only the candidates best on it; one of those left is the parent.
//!
//! Cases come from the objectives: an accuracy objective (`accuracy_1`) becomes one case per
//! class of the fitness split (`accuracy_class<c>_1`, the share of that class predicted right,
//! compared exactly), any other objective (`energy_1`) one continuous case with the automatic
//! ε of La Cava et al.: the median absolute deviation of the case over the valid candidates.
//! Invalid candidates, and candidates without a case's metric, never win.

use rand::seq::SliceRandom;
use rand::{Rng, RngExt};

use super::candidate::Candidate;
use super::engine::Objectives;
use super::fitness::Objective;

/// One lexicase case.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The metric.
    pub metric: String,
    /// Larger is better.
    pub maximize: bool,
    /// Keep the candidates within the median absolute deviation of the best (continuous cases).
    pub epsilon: bool,
}

fn valid(candidate: &Candidate) -> Option<&super::fitness::Metrics> {
    candidate.evaluation.as_ref().filter(|e| e.invalid.is_none()).map(|e| &e.metrics)
}

/// The cases of `objectives` over `population` (see the module docs).
pub fn cases(objectives: &Objectives, population: &[Candidate]) -> Vec<Case> {
    let mut out = Vec::new();
    for term in &objectives.terms {
        let maximize = term.objective == Objective::Maximize;
        let per_class = term.metric.strip_prefix("accuracy_").filter(|p| p.parse::<usize>().is_ok());
        match per_class {
            Some(partition) => {
                let mut names: Vec<String> = population
                    .iter()
                    .filter_map(valid)
                    .flat_map(|m| m.keys())
                    .filter(|k| k.starts_with("accuracy_class") && k.ends_with(&format!("_{partition}")))
                    .cloned()
                    .collect();
                names.sort_by_key(|n| {
                    n.trim_start_matches("accuracy_class").split('_').next().and_then(|c| c.parse::<usize>().ok())
                });
                names.dedup();
                if names.is_empty() {
                    out.push(Case { metric: term.metric.clone(), maximize, epsilon: false });
                }
                out.extend(names.into_iter().map(|metric| Case { metric, maximize, epsilon: false }));
            }
            None => out.push(Case { metric: term.metric.clone(), maximize, epsilon: true }),
        }
    }
    out
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 }
}

/// The median absolute deviation of `values`.
pub fn median_absolute_deviation(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    let m = median(&mut v);
    let mut deviations: Vec<f64> = values.iter().map(|x| (x - m).abs()).collect();
    median(&mut deviations)
}

/// The index of the parent ε-lexicase selects from `population`; 0 when no candidate is valid.
pub fn select<R: Rng + ?Sized>(population: &[Candidate], cases: &[Case], rng: &mut R) -> usize {
    let value = |i: usize, case: &Case| -> Option<f64> {
        let v = *valid(&population[i])?.get(&case.metric)?;
        v.is_finite().then_some(if case.maximize { v } else { -v })
    };
    let mut pool: Vec<usize> =
        (0..population.len()).filter(|&i| cases.iter().all(|case| value(i, case).is_some())).collect();
    if pool.is_empty() {
        return 0;
    }
    let epsilons: Vec<f64> = cases
        .iter()
        .map(|case| {
            if !case.epsilon {
                return 0.0;
            }
            let values: Vec<f64> = pool.iter().filter_map(|&i| value(i, case)).collect();
            median_absolute_deviation(&values)
        })
        .collect();
    let mut order: Vec<usize> = (0..cases.len()).collect();
    order.shuffle(rng);
    for c in order {
        if pool.len() == 1 {
            break;
        }
        let best = pool.iter().filter_map(|&i| value(i, &cases[c])).fold(f64::NEG_INFINITY, f64::max);
        pool.retain(|&i| value(i, &cases[c]).is_some_and(|v| v >= best - epsilons[c]));
    }
    pool[rng.random_range(0..pool.len())]
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::genome::{GenomeConfig, Individual, SearchSpace};

    fn scored(id: u64, individual: &Individual, class0: f64, class1: f64, energy: f64) -> Candidate {
        let accuracy = (class0 + class1) / 2.0;
        let metrics = [
            ("accuracy_1", accuracy),
            ("accuracy_class0_1", class0),
            ("accuracy_class1_1", class1),
            ("energy_1", energy),
        ];
        Candidate::scored(id, individual, accuracy, &metrics)
    }

    #[test]
    fn every_case_order_ends_on_the_candidate_no_case_rules_out() {
        let space = SearchSpace::new(GenomeConfig::small()).expect("space");
        let ind = Individual::random(&space, &mut ChaCha8Rng::seed_from_u64(1)).expect("random");
        let population = vec![
            scored(0, &ind, 1.0, 0.5, 3.0),
            scored(1, &ind, 0.5, 1.0, 1.0),
            scored(2, &ind, 1.0, 1.0, 2.0), // best on both classes, within ε = MAD(3,1,2) = 1 of the cheapest
        ];
        let cases = cases(&Objectives::default(), &population);
        let names: Vec<&str> = cases.iter().map(|c| c.metric.as_str()).collect();
        assert_eq!(names, ["accuracy_class0_1", "accuracy_class1_1", "energy_1"]);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..50 {
            assert_eq!(select(&population, &cases, &mut rng), 2);
        }
        assert_eq!(median_absolute_deviation(&[3.0, 1.0, 2.0]), 1.0);
    }

    #[test]
    fn specialists_each_win_sometimes_and_invalid_ones_never() {
        let space = SearchSpace::new(GenomeConfig::small()).expect("space");
        let ind = Individual::random(&space, &mut ChaCha8Rng::seed_from_u64(1)).expect("random");
        let mut invalid = scored(3, &ind, 1.0, 1.0, 0.1);
        invalid.evaluation.as_mut().expect("evaluated").invalid = Some("broken".into());
        let population = vec![
            scored(0, &ind, 1.0, 0.2, 5.0), // class 0 specialist
            scored(1, &ind, 0.2, 1.0, 5.0), // class 1 specialist
            scored(2, &ind, 0.1, 0.1, 0.1), // the cheapest
            invalid,
        ];
        let cases = cases(&Objectives::default(), &population);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut wins = [0usize; 4];
        for _ in 0..600 {
            wins[select(&population, &cases, &mut rng)] += 1;
        }
        assert!(wins[..3].iter().all(|&w| w > 100), "{wins:?}");
        assert_eq!(wins[3], 0, "{wins:?}");
    }
}
