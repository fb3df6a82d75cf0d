//! Acceptance of issue 5 on the embedded digits (debug build, dependencies optimised):
//! the known-good CNN (`wattevo train --preset cnn`) reaches ≥ 0.97 test accuracy on average over
//! three training seeds (and ≥ 0.95 with each), computed by tract from the exported ONNX, which
//! agrees with burn's to within 0.1 percentage point; a two-head run trains both heads and
//! partition 1's file is smaller than partition 0's.
//! The budgets are epochs, not seconds, so the result does not depend on the machine's load. It
//! does depend on the CPU: the GEMM kernels gemm picks (AVX2 or AVX-512) round differently, and
//! on a 359-image test set one seed can land a few images either side of 0.97 (seed 7 read 0.967
//! on an AVX-512 machine), hence the average.

use wattevo::data::{DatasetName, LoadOptions, SplitConfig, load_splits};
use wattevo::genome::network::{CNN_PRESET, PhenotypeNetwork};
use wattevo::nn::train::LossKind;
use wattevo::pipeline::single::{ExportedAccuracy, SingleReport, SingleSettings, train_and_export};
use wattevo::pipeline::train::Budget;

/// What `wattevo train --preset cnn --train-seed SEED --epochs N [--partition-point K]` does,
/// through the library.
fn train_cnn(out: &std::path::Path, seed: u64, epochs: usize, partition_point: Option<usize>) -> SingleReport {
    let options =
        LoadOptions { data_dir: None, resize_to: None, split: SplitConfig { seed: 7, ..SplitConfig::default() } };
    let data = load_splits(DatasetName::Digits, &options).expect("digits load");
    let network = PhenotypeNetwork::parse(CNN_PRESET).expect("preset parses");
    let spec = network.build(data.train.input_shape(), data.train.num_classes(), partition_point).expect("fits");
    let settings = SingleSettings { seed, loss: LossKind::Logits, budget: Budget::Epochs(epochs), out };
    train_and_export(&spec, &network.learning, &data, &settings, &mut |_| {}).expect("trains and exports")
}

fn exported<'a>(report: &'a SingleReport, name: &str) -> &'a ExportedAccuracy {
    report.exported.iter().find(|e| e.name == name).unwrap_or_else(|| panic!("{name} exported: {report:?}"))
}

/// Epochs of the full run (it stops early once the validation loss stops improving; the
/// two-head run gets half).
const EPOCHS: usize = 80;

#[test]
fn known_good_cnn_learns_digits_and_two_heads_both_learn() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut accuracies = Vec::new();
    for seed in [7, 8, 9] {
        let out = dir.path().join(format!("cnn-{seed}"));
        let report = train_cnn(&out, seed, EPOCHS, None);
        let network = exported(&report, "network");
        eprintln!("digits cnn, train seed {seed}: {:?}, {network:?}", report.training);
        assert!(network.test_accuracy >= 0.95, "train seed {seed}: test accuracy {network:?}");
        assert!((network.test_accuracy - network.burn_test_accuracy).abs() <= 0.001, "{network:?}");
        assert!(out.join("network.onnx").is_file());
        accuracies.push(network.test_accuracy);
    }
    let mean = accuracies.iter().sum::<f64>() / accuracies.len() as f64;
    assert!(mean >= 0.97, "mean test accuracy {mean:.4} over train seeds 7, 8, 9: {accuracies:?}");

    // extra head after the first pooling layer
    let report = train_cnn(&dir.path().join("two"), 7, EPOCHS / 2, Some(1));
    let (p0, p1) = (exported(&report, "partition0"), exported(&report, "partition1"));
    eprintln!("two heads: {p0:?} {p1:?}");
    assert!(p0.test_accuracy > 0.9 && p1.test_accuracy > 0.8, "both heads learn: {p0:?} {p1:?}");
    assert!((p1.test_accuracy - p1.burn_test_accuracy).abs() <= 0.001, "{p1:?}");
    assert!(p1.bytes < p0.bytes && p1.params < p0.params, "{p0:?} {p1:?}");
}
