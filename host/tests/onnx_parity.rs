//! Parity of the ONNX export with the burn model: 200 seeded random networks → `NetSpec` →
//! burn model with random weights (and non-trivial batch norm statistics) → ONNX → tract.
//!
//! For every valid network, on a random batch of two inputs, tract's outputs must equal burn's
//! within 1e-4 (absolute) for: the plain network (= partition 0), partition 1 when the network
//! is partitioned (checked against both the burn partition model and the two-head model's extra
//! head), and the evolved layers exported alone as a module (features compared before softmax,
//! tolerance relative to their magnitude). Invalid networks are counted and printed.
//!
//! Two sources of networks: seeded random genomes of the bundled grammars (200 of the small
//! grammar sized for a 2-core CPU, 20 of the paper's full-size grammar), mapped through
//! `genome` exactly as evolution does; and random layer lists over the paper's ranges with smaller sizes, drawn here
//! from a seeded RNG (kernel 2–5, stride 1–3, same/valid, channels 2–16, dense 8–64, dropout,
//! batch norm, max/avg pools, partition points).

use burn::module::{Param, RunningState};
use burn::tensor::{Tensor, TensorData};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wattevo::genome::{GenomeConfig, Individual, SearchSpace};
use wattevo::netspec::{Activation, LayerSpec, NetSpec, Padding, Partition, PoolKind, PoolPadding, Shape, SpecRules};
use wattevo::nn::{Features, Layer, Model, cpu_device};
use wattevo::onnx::{self, ExportOptions, TractRunner};

const NETWORKS: u64 = 200;
const BATCH: usize = 2;
const TOLERANCE: f32 = 1e-4;

fn activation(rng: &mut ChaCha8Rng) -> Activation {
    [Activation::Linear, Activation::Relu, Activation::Sigmoid][rng.random_range(0..3)]
}

fn padding(rng: &mut ChaCha8Rng) -> Padding {
    if rng.random_bool(0.5) { Padding::Same } else { Padding::Valid }
}

fn image_layer(rng: &mut ChaCha8Rng) -> LayerSpec {
    match rng.random_range(0..10) {
        0..5 => LayerSpec::Conv {
            out_channels: rng.random_range(2..=16),
            kernel: rng.random_range(2..=5),
            stride: rng.random_range(1..=3),
            padding: padding(rng),
            activation: activation(rng),
            bias: rng.random_bool(0.7),
        },
        5..7 => LayerSpec::Pool {
            kind: if rng.random_bool(0.5) { PoolKind::Max } else { PoolKind::Avg },
            kernel: rng.random_range(2..=5),
            stride: rng.random_range(1..=3),
            padding: padding(rng),
        },
        7..9 => LayerSpec::BatchNorm,
        _ => LayerSpec::Dropout { rate: rng.random_range(0.0..0.7) },
    }
}

fn dense_layer(rng: &mut ChaCha8Rng) -> LayerSpec {
    if rng.random_bool(0.8) {
        LayerSpec::Dense {
            out_features: rng.random_range(8..=64),
            activation: activation(rng),
            bias: rng.random_bool(0.7),
        }
    } else {
        LayerSpec::Dropout { rate: rng.random_range(0.0..0.7) }
    }
}

/// A random network description: input shape, classes, layers, partition point.
fn random_net(seed: u64) -> (Shape, usize, Vec<LayerSpec>, Option<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let side = rng.random_range(8..=16);
    let input = Shape::Image { channels: rng.random_range(1..=3), height: side, width: side };
    let mut layers: Vec<LayerSpec> = (0..rng.random_range(1..=5)).map(|_| image_layer(&mut rng)).collect();
    layers.extend((0..rng.random_range(0..=2)).map(|_| dense_layer(&mut rng)));
    let partition = rng.random_bool(0.6).then(|| rng.random_range(0..layers.len()));
    (input, rng.random_range(2..=10), layers, partition)
}

fn random_values(rng: &mut ChaCha8Rng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

fn vector(rng: &mut ChaCha8Rng, n: usize, lo: f32, hi: f32) -> Tensor<1> {
    Tensor::from_data(TensorData::new(random_values(rng, n, lo, hi), [n]), &cpu_device())
}

/// Gives every batch norm random scale, shift and running statistics.
fn randomise_batch_norms(model: &mut Model, rng: &mut ChaCha8Rng) {
    for layer in &mut model.layers {
        if let Layer::BatchNorm(bn) = layer {
            let [c] = bn.gamma.dims();
            bn.gamma = Param::from_tensor(vector(rng, c, 0.5, 1.5));
            bn.beta = Param::from_tensor(vector(rng, c, -0.5, 0.5));
            bn.running_mean = RunningState::new(vector(rng, c, -0.5, 0.5));
            bn.running_var = RunningState::new(vector(rng, c, 0.3, 2.0));
        }
    }
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec_as::<f32>().expect("f32 tensor")
}

/// Largest |a − b| / max(1, |a|) over two equally long vectors.
fn max_error(burn: &[f32], tract: &[f32], relative: bool) -> f32 {
    assert_eq!(burn.len(), tract.len(), "output sizes differ");
    let scale = |a: f32| if relative { a.abs().max(1.0) } else { 1.0 };
    burn.iter().zip(tract).map(|(a, b)| (a - b).abs() / scale(*a)).fold(0.0, f32::max)
}

fn count_ops(model: &onnx::ModelProto, tally: &mut Tally) {
    for node in model.graph.iter().flat_map(|g| &g.node) {
        *tally.ops.entry(node.op_type.clone()).or_default() += 1;
    }
}

fn tract(model: &onnx::ModelProto, input: &[f32]) -> Vec<f32> {
    let bytes = onnx::encode(model);
    TractRunner::from_bytes(&bytes).expect("tract loads the export").run(input).expect("tract runs")
}

#[derive(Debug, Default)]
struct Tally {
    valid: usize,
    invalid: usize,
    partitioned: usize,
    max_error_probabilities: f32,
    max_error_features: f32,
    ops: std::collections::BTreeMap<String, usize>,
}

fn check_network(seed: u64, spec: &NetSpec, tally: &mut Tally) {
    let device = cpu_device();
    device.seed(seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let mut model = Model::new(spec, &device);
    randomise_batch_norms(&mut model, &mut rng);
    let net = model.trained().expect("weights");
    let dims = spec.input.dims();
    let input = random_values(&mut rng, BATCH * spec.input.elements(), -1.0, 1.0);
    let image = || {
        Features::Image(Tensor::from_data(TensorData::new(input.clone(), [BATCH, dims[0], dims[1], dims[2]]), &device))
    };
    let options = ExportOptions { batch: BATCH };

    let outputs = model.forward(image());
    let full = net.partition(Partition::Full).expect("partition 0");
    let exported = onnx::export_network(&full, options).expect("export partition 0");
    let err = max_error(&values(outputs.main), &tract(&exported, &input), false);
    assert!(err <= TOLERANCE, "seed {seed}: partition 0 differs by {err}\n{spec:#?}");
    tally.max_error_probabilities = tally.max_error_probabilities.max(err);
    count_ops(&exported, tally);

    let features = model.layers.iter().fold(image(), |x, layer| layer.forward(x));
    let features = match features {
        Features::Image(t) => values(t),
        Features::Flat(t) => values(t),
    };
    let body = onnx::export_layer_range(&net, 0..spec.layers.len(), options).expect("export layers");
    let err = max_error(&features, &tract(&body, &input), true);
    assert!(err <= TOLERANCE, "seed {seed}: layers alone differ by {err} (relative)\n{spec:#?}");
    tally.max_error_features = tally.max_error_features.max(err);

    if let Some(extra) = outputs.extra {
        tally.partitioned += 1;
        // Partition 1 is cut from the trained network's weights (TrainedNet::partition): its
        // export must compute what the two-head model's extra head computes.
        let early_probs = values(extra);
        let early = net.partition(Partition::Early).expect("partition 1");
        let exported = onnx::export_network(&early, options).expect("export partition 1");
        let err = max_error(&early_probs, &tract(&exported, &input), false);
        assert!(err <= TOLERANCE, "seed {seed}: partition 1 differs by {err}\n{spec:#?}");
        tally.max_error_probabilities = tally.max_error_probabilities.max(err);
    }
}

fn check_genomes(config: GenomeConfig, count: u64, min_valid: usize) -> Tally {
    let space = SearchSpace::new(config).expect("bundled grammar loads");
    let mut tally = Tally::default();
    for seed in 0..count {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let individual = Individual::random(&space, &mut rng).expect("random genome");
        match individual.to_netspec(&space) {
            Ok(spec) => {
                tally.valid += 1;
                check_network(seed, &spec, &mut tally);
            }
            Err(invalid) => {
                tally.invalid += 1;
                println!("genome seed {seed}: invalid network: {invalid}");
            }
        }
    }
    println!("{tally:#?}");
    assert_eq!(tally.valid + tally.invalid, count as usize);
    assert!(tally.valid >= min_valid, "only {} of {count} random genomes were valid", tally.valid);
    tally
}

#[test]
fn small_grammar_genomes_match_burn_in_tract() {
    let tally = check_genomes(GenomeConfig::small(), NETWORKS, 100);
    assert!(tally.partitioned >= 50, "only {} partitioned genomes checked", tally.partitioned);
}

#[test]
fn paper_grammar_genomes_match_burn_in_tract() {
    check_genomes(GenomeConfig::paper(), 20, 5);
}

#[test]
fn reference_pool_padding_matches_burn_in_tract() {
    // the reference's `same` pool: pooled without padding, zeros added after the pool
    let rules = SpecRules { pool_padding: PoolPadding::Reference, ..SpecRules::default() };
    let mut tally = Tally::default();
    let mut padded_after = 0;
    for seed in 0..NETWORKS / 2 {
        let (input, classes, layers, partition) = random_net(seed);
        if let Ok(spec) = NetSpec::build(input, classes, &layers, partition, rules) {
            tally.valid += 1;
            padded_after += spec.layers.iter().filter(|n| !n.post_pads.is_zero()).count();
            check_network(seed, &spec, &mut tally);
        }
    }
    println!("{tally:#?}");
    assert!(tally.valid >= 40, "only {} valid networks", tally.valid);
    assert!(padded_after >= 20, "only {padded_after} pools padded after pooling: the test misses the path");
}

#[test]
fn random_layer_lists_match_burn_in_tract() {
    let mut tally = Tally::default();
    for seed in 0..NETWORKS {
        let (input, classes, layers, partition) = random_net(seed);
        match NetSpec::build(input, classes, &layers, partition, SpecRules::default()) {
            Ok(spec) => {
                tally.valid += 1;
                check_network(seed, &spec, &mut tally);
            }
            Err(invalid) => {
                tally.invalid += 1;
                println!("seed {seed}: invalid network: {invalid}");
            }
        }
    }
    println!("{tally:#?}");
    assert_eq!(tally.valid + tally.invalid, NETWORKS as usize);
    assert!(tally.valid >= 100, "only {} of {NETWORKS} random networks were valid", tally.valid);
    assert!(tally.partitioned >= 30, "only {} partitioned networks checked", tally.partitioned);
    let expected =
        ["AveragePool", "BatchNormalization", "Conv", "Flatten", "Gemm", "MaxPool", "Pad", "Relu", "Sigmoid"];
    for op in expected {
        assert!(tally.ops.contains_key(op), "no exported network used {op}: the test misses a lowering path");
    }
}
