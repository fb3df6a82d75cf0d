//! Training throughput of burn (burn-flex, autodiff) on the CPU, in images per second, for a
//! few fixed networks on 1×28×28 inputs, Adam, batch 64. Not a test: run it with
//! `cargo bench -p wattevo --bench train_throughput`, or `scripts/bench_train_vs_pytorch.sh`
//! for the comparison with PyTorch (same networks, same thread count).
//!
//! Output: one line per network, `network <name> images_per_s <value>` (median of 3 runs of
//! `WATTEVO_BENCH_SECONDS` seconds each, default 8), after one warm-up run.

use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wattevo::genome::{LearningSpec, Optimiser};
use wattevo::netspec::{Activation, LayerSpec, NetSpec, Padding, PoolKind, Shape, SpecRules};
use wattevo::nn::train::{Samples, TrainOptions, Trainer};
use wattevo::nn::{Model, training_device};

const SAMPLES: usize = 4096;
const BATCH: usize = 64;

fn conv(out_channels: usize, padding: Padding) -> LayerSpec {
    LayerSpec::Conv { out_channels, kernel: 3, stride: 1, padding, activation: Activation::Relu, bias: true }
}

fn networks() -> Vec<(&'static str, Vec<LayerSpec>)> {
    let pool = LayerSpec::Pool { kind: PoolKind::Max, kernel: 2, stride: 2, padding: Padding::Valid };
    let fc = |n| LayerSpec::Dense { out_features: n, activation: Activation::Relu, bias: true };
    vec![
        ("cnn", vec![conv(32, Padding::Same), pool.clone(), conv(64, Padding::Same), pool.clone(), fc(128)]),
        ("small_cnn", vec![conv(8, Padding::Valid), pool.clone(), fc(64)]),
        ("mlp", vec![fc(256)]),
    ]
}

fn images_per_s(layers: &[LayerSpec], data: &(Vec<f32>, Vec<u8>), seconds: f64) -> f64 {
    let input = Shape::Image { channels: 1, height: 28, width: 28 };
    let spec = NetSpec::build(input, 10, layers, None, SpecRules::default()).expect("valid network");
    let device = training_device();
    device.seed(1);
    let model = Model::new(&spec, &device);
    let optimiser = Optimiser::Adam { lr: 1e-3, beta1: 0.9, beta2: 0.999, weight_decay: 0.0 };
    let learning = LearningSpec { optimiser, batch_size: BATCH, early_stop_patience: 10_000, epochs: 10_000 };
    let samples = Samples::new(&data.0, &data.1, [1, 28, 28]).expect("consistent");
    let val = Samples::new(&data.0[..784 * 64], &data.1[..64], [1, 28, 28]).expect("consistent");
    let mut trainer = Trainer::new(&learning, TrainOptions::default()).expect("settings");
    let budget = Duration::from_secs_f64(seconds);
    let (_, outcome) = trainer.run(model, samples, val, budget, &mut |_| {}).expect("trains");
    // validation passes are excluded: only batch steps count
    outcome.steps as f64 * BATCH as f64 / (outcome.train_time_s - outcome.epochs as f64 * outcome.max_validation_s)
}

fn main() {
    let seconds: f64 = std::env::var("WATTEVO_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(8.0);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let images: Vec<f32> = (0..SAMPLES * 784).map(|_| rng.random_range(0.0f32..1.0)).collect();
    let labels: Vec<u8> = (0..SAMPLES).map(|i| (i % 10) as u8).collect();
    let data = (images, labels);
    eprintln!("burn-flex training throughput, batch {BATCH}, Adam, {seconds} s per run, threads: rayon default");
    for (name, layers) in networks() {
        images_per_s(&layers, &data, seconds.min(3.0));
        let mut runs: Vec<f64> = (0..3).map(|_| images_per_s(&layers, &data, seconds)).collect();
        runs.sort_by(f64::total_cmp);
        println!("network {name} images_per_s {:.1}", runs[1]);
    }
}
