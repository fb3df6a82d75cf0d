//! Tests of the stratified splits on small synthetic datasets.

use std::collections::BTreeSet;

use super::*;

/// A dataset whose class `c` has `counts[c]` samples; each image's single pixel is its index
/// divided by the sample count, so samples can be traced through the splits.
fn synthetic(counts: &[usize]) -> Dataset {
    let labels: Vec<u8> = counts.iter().enumerate().flat_map(|(c, &n)| std::iter::repeat_n(c as u8, n)).collect();
    let n = labels.len();
    let images = (0..n).map(|i| i as f32 / n as f32).collect();
    Dataset::new("synthetic", images, labels, counts.len(), (1, 1, 1)).expect("valid synthetic data")
}

fn ids(data: &Dataset, total: usize) -> Vec<usize> {
    data.images().iter().map(|&v| (v * total as f32).round() as usize).collect()
}

fn assert_within_one(part: &Dataset, pool_counts: &[usize], fraction: f64) {
    for (class, (&got, &pool)) in part.class_counts().iter().zip(pool_counts).enumerate() {
        let expected = fraction * pool as f64;
        assert!((got as f64 - expected).abs() <= 1.0, "{}: class {class} has {got}, expected {expected}", part.name());
    }
}

#[test]
fn sizes_follow_the_reference_order() {
    let data = synthetic(&[103, 57, 40]);
    let splits = split(&data, None, &SplitConfig { seed: 3, ..SplitConfig::default() }).expect("splittable");
    // test: round(0.2·200) = 40; fitness: round(0.1·160) = 16; validation: round(0.2/0.9·144) = 32.
    assert_eq!(splits.test.len(), 40);
    assert_eq!(splits.fitness.len(), 16);
    assert_eq!(splits.validation.len(), 32);
    assert_eq!(splits.train.len(), 112);
    assert_eq!(splits.train.name(), "synthetic/train");
}

#[test]
fn every_split_is_stratified_within_one_sample() {
    let counts = [103, 57, 40];
    let data = synthetic(&counts);
    let splits = split(&data, None, &SplitConfig { seed: 11, ..SplitConfig::default() }).expect("splittable");
    assert_within_one(&splits.test, &counts, 0.2);
    let after_test: Vec<usize> = counts.iter().zip(splits.test.class_counts()).map(|(n, t)| n - t).collect();
    assert_within_one(&splits.fitness, &after_test, 0.1);
    let after_fitness: Vec<usize> = after_test.iter().zip(splits.fitness.class_counts()).map(|(n, f)| n - f).collect();
    assert_within_one(&splits.validation, &after_fitness, 0.2 / 0.9);
    assert_within_one(&splits.train, &after_fitness, 0.7 / 0.9);
}

#[test]
fn splits_are_disjoint_and_cover_everything() {
    let data = synthetic(&[50, 50, 50, 50]);
    let splits = split(&data, None, &SplitConfig::default()).expect("splittable");
    let mut seen = BTreeSet::new();
    for part in [&splits.train, &splits.validation, &splits.fitness, &splits.test] {
        for (id, &label) in ids(part, 200).into_iter().zip(part.labels()) {
            assert!(seen.insert(id), "sample {id} appears twice");
            assert_eq!(label, data.labels()[id], "sample {id} lost its label");
        }
    }
    assert_eq!(seen.len(), 200);
}

#[test]
fn same_seed_same_splits_other_seed_other_splits() {
    let data = synthetic(&[60, 40]);
    let config = SplitConfig { seed: 7, ..SplitConfig::default() };
    let a = split(&data, None, &config).expect("splittable");
    let b = split(&data, None, &config).expect("splittable");
    assert_eq!(a, b);
    let c = split(&data, None, &SplitConfig { seed: 8, ..config }).expect("splittable");
    assert_ne!(ids(&a.train, 100), ids(&c.train, 100));
}

#[test]
fn official_test_set_is_kept_as_is() {
    let data = synthetic(&[90, 90]);
    let official = synthetic(&[5, 5]);
    let splits = split(&data, Some(official.clone()), &SplitConfig::default()).expect("splittable");
    assert_eq!(splits.test, official);
    assert_eq!((splits.fitness.len(), splits.validation.len(), splits.train.len()), (18, 36, 126));
}

#[test]
fn training_order_is_shuffled() {
    let data = synthetic(&[100, 100]);
    let splits = split(&data, None, &SplitConfig::default()).expect("splittable");
    let labels = splits.train.labels();
    let first_half_ones = labels[..labels.len() / 2].iter().filter(|&&l| l == 1).count();
    assert!(first_half_ones > 20 && first_half_ones < labels.len() / 2 - 20, "{first_half_ones} ones first");
}

#[test]
fn rejects_bad_fractions_and_tiny_data() {
    let data = synthetic(&[50, 50]);
    let bad = SplitConfig { fitness_fraction: 0.5, validation_fraction: 0.5, ..SplitConfig::default() };
    let err = split(&data, None, &bad).expect_err("0.5 + 0.5");
    assert!(err.to_string().contains("fitness + validation < 1"), "{err}");
    let err = split(&synthetic(&[2, 1]), None, &SplitConfig::default()).expect_err("3 samples");
    assert!(err.to_string().contains("split would be empty"), "{err}");
}

#[test]
fn apportion_hits_the_rounded_total() {
    assert_eq!(apportion(&[6000; 10], 0.1), vec![600; 10]);
    let quotas = apportion(&[7, 7, 7], 0.5);
    assert_eq!(quotas.iter().sum::<usize>(), 11);
    assert!(quotas.iter().all(|&q| q == 3 || q == 4), "{quotas:?}");
}
