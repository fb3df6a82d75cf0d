//! Unit tests of the exporter: metadata, lowering choices (folding, padding) and the hash.

use super::*;
use crate::netspec::{DenseWeights, NetSpec, Padding, Partition, PoolKind, Shape, SpecRules};

const INPUT: Shape = Shape::Image { channels: 2, height: 10, width: 10 };

fn conv(out: usize, k: usize, padding: Padding, activation: Activation) -> LayerSpec {
    LayerSpec::Conv { out_channels: out, kernel: k, stride: 1, padding, activation, bias: false }
}

fn dense(n: usize) -> DenseWeights {
    DenseWeights { weight: vec![0.01; n], bias: None }
}

fn ops(model: &ModelProto) -> Vec<String> {
    model.graph.iter().flat_map(|g| &g.node).map(|n| n.op_type.clone()).collect()
}

fn build(layers: &[LayerSpec], partition: Option<usize>) -> NetSpec {
    NetSpec::build(INPUT, 3, layers, partition, SpecRules::default()).expect("valid test network")
}

#[test]
fn metadata_names_and_static_shapes() {
    let spec = build(&[conv(4, 3, Padding::Valid, Activation::Relu)], None);
    let model = export_network(&TrainedNet::seeded(spec.clone(), 1), ExportOptions { batch: 4 }).expect("export");
    assert_eq!(model.opset_import[0].version, 13);
    assert_eq!(model.producer_name, "wattevo");
    assert_eq!(model.producer_version, env!("CARGO_PKG_VERSION"));
    let graph = model.graph.as_ref().expect("graph");
    assert_eq!(graph.input[0].name, "input");
    assert_eq!(graph.output[0].name, "probabilities");
    let runner = TractRunner::from_bytes(&encode(&model)).expect("tract loads");
    assert_eq!(runner.input_shape(), &[4, 2, 10, 10]);
    let probs = runner.run(&vec![0.5; 4 * 200]).expect("runs");
    assert_eq!(probs.len(), 12);
    assert!((probs[..3].iter().sum::<f32>() - 1.0).abs() < 1e-5);
}

#[test]
fn batch_norm_folds_into_a_linear_conv_and_the_dense_head() {
    let bn_after_linear =
        [conv(4, 3, Padding::Same, Activation::Linear), LayerSpec::Dropout { rate: 0.2 }, LayerSpec::BatchNorm];
    let spec = build(&bn_after_linear, None);
    let model = export_network(&TrainedNet::seeded(spec.clone(), 2), ExportOptions::default()).expect("export");
    assert_eq!(ops(&model), ["Conv", "Flatten", "Gemm", "Softmax"]);
    let bn_last = [conv(4, 3, Padding::Same, Activation::Relu), LayerSpec::BatchNorm];
    let spec = build(&bn_last, None);
    let model = export_network(&TrainedNet::seeded(spec.clone(), 3), ExportOptions::default()).expect("export");
    assert_eq!(ops(&model), ["Conv", "Relu", "Flatten", "Gemm", "Softmax"]);
}

#[test]
fn batch_norm_stays_before_a_padded_conv_or_a_pool() {
    let relu = Activation::Relu;
    let padded = [conv(4, 3, Padding::Valid, relu), LayerSpec::BatchNorm, conv(4, 3, Padding::Same, relu)];
    let spec = build(&padded, None);
    let model = export_network(&TrainedNet::seeded(spec.clone(), 4), ExportOptions::default()).expect("export");
    assert!(ops(&model).contains(&"BatchNormalization".to_owned()));
    let unpadded = [conv(4, 3, Padding::Valid, relu), LayerSpec::BatchNorm, conv(4, 3, Padding::Valid, relu)];
    let spec = build(&unpadded, None);
    let model = export_network(&TrainedNet::seeded(spec.clone(), 4), ExportOptions::default()).expect("export");
    assert!(!ops(&model).contains(&"BatchNormalization".to_owned()));
}

#[test]
fn max_pool_pads_explicitly_unless_its_input_is_non_negative() {
    let pool = LayerSpec::Pool { kind: PoolKind::Max, kernel: 2, stride: 2, padding: Padding::Same };
    let odd = [conv(4, 2, Padding::Valid, Activation::Linear), pool.clone()]; // 9×9 → pads 0/1
    let spec = build(&odd, None);
    let model = export_network(&TrainedNet::seeded(spec.clone(), 5), ExportOptions::default()).expect("export");
    assert_eq!(ops(&model)[..3], ["Conv", "Pad", "MaxPool"]);
    let after_relu = [conv(4, 2, Padding::Valid, Activation::Relu), pool];
    let spec = build(&after_relu, None);
    let model = export_network(&TrainedNet::seeded(spec.clone(), 5), ExportOptions::default()).expect("export");
    assert_eq!(ops(&model)[..3], ["Conv", "Relu", "MaxPool"]);
}

#[test]
fn architecture_hash_ignores_weights_only() {
    let layers = [conv(4, 3, Padding::Valid, Activation::Relu), LayerSpec::BatchNorm];
    let spec = build(&layers, None);
    let a = export_network(&TrainedNet::seeded(spec.clone(), 6), ExportOptions::default()).expect("export");
    let b = export_network(&TrainedNet::seeded(spec.clone(), 7), ExportOptions::default()).expect("export");
    assert_ne!(encode(&a), encode(&b));
    assert_eq!(architecture_hash(&a), architecture_hash(&b));
    let wider = build(&[conv(5, 3, Padding::Valid, Activation::Relu), LayerSpec::BatchNorm], None);
    let c = export_network(&TrainedNet::seeded(wider.clone(), 6), ExportOptions::default()).expect("export");
    assert_ne!(architecture_hash(&a), architecture_hash(&c));
    let batch2 = export_network(&TrainedNet::seeded(spec.clone(), 6), ExportOptions { batch: 2 }).expect("export");
    assert_ne!(architecture_hash(&a), architecture_hash(&batch2));
}

#[test]
fn partitions_and_ranges_are_checked() {
    let layers = [conv(4, 3, Padding::Valid, Activation::Relu), conv(4, 3, Padding::Valid, Activation::Relu)];
    let plain = build(&layers, None);
    let w = TrainedNet::seeded(plain.clone(), 8);
    assert!(w.partition(Partition::Early).is_none(), "no partition 1 without a partition point");
    let err = export_layer_range(&w, 1..3, ExportOptions::default()).expect_err("past the end");
    assert!(err.to_string().contains("1..3"), "{err}");
    let module = export_layer_range(&w, 1..2, ExportOptions::default()).expect("one layer");
    let runner = TractRunner::from_bytes(&encode(&module)).expect("tract loads");
    assert_eq!(runner.input_shape(), &[1, 4, 8, 8]);
    let split = TrainedNet::seeded(build(&layers, Some(0)), 8);
    let early = export_network(&split.partition(Partition::Early).expect("p1"), ExportOptions::default()).expect("p1");
    assert_eq!(ops(&early), ["Conv", "Relu", "Flatten", "Gemm", "Softmax"]);
    let mut wrong = w.weights().clone();
    wrong.output = dense(3);
    let err = TrainedNet::new(plain, wrong).expect_err("bad head");
    assert!(err.to_string().contains("output head"), "{err}");
}

#[test]
fn a_two_head_export_computes_both_partitions_at_once() {
    let relu = Activation::Relu;
    let layers = [
        conv(4, 3, Padding::Same, Activation::Linear),
        LayerSpec::BatchNorm,
        conv(4, 3, Padding::Valid, relu),
        LayerSpec::Pool { kind: PoolKind::Max, kernel: 2, stride: 2, padding: Padding::Valid },
    ];
    // the partition point on the batch norm (which must not fold into only one branch), and
    // on the last layer (the heads share everything)
    for k in [1, 3] {
        let seeded = TrainedNet::seeded(build(&layers, Some(k)), 7);
        let mut weights = seeded.weights().clone();
        if let LayerWeights::BatchNorm(bn) = &mut weights.layers[1] {
            bn.gamma.iter_mut().enumerate().for_each(|(i, g)| *g = 0.5 + i as f32);
            bn.beta.iter_mut().enumerate().for_each(|(i, b)| *b = 0.3 - 0.2 * i as f32);
        }
        let net = TrainedNet::new(seeded.spec().clone(), weights).expect("weights fit");
        let options = ExportOptions { batch: 2 };
        let both = export_two_head(&net, options).expect("export");
        let graph = both.graph.as_ref().expect("graph");
        let names: Vec<&str> = graph.output.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, [OUTPUT_NAME, EXTRA_OUTPUT_NAME]);
        let input: Vec<f32> = (0..2 * 200).map(|i| ((i * 37) % 17) as f32 / 8.0 - 1.0).collect();
        let outputs = TractRunner::from_bytes(&encode(&both)).expect("loads").run_all(&input).expect("runs");
        for (which, got) in [(Partition::Full, &outputs[0]), (Partition::Early, &outputs[1])] {
            let alone = export_network(&net.partition(which).expect("partition"), options).expect("export");
            let want = TractRunner::from_bytes(&encode(&alone)).expect("loads").run(&input).expect("runs");
            let error = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(error < 1e-5, "k {k}, {which:?}: max error {error}");
        }
        // the shared layers are computed once
        let convs = ops(&both).iter().filter(|op| *op == "Conv").count();
        assert_eq!(convs, 2, "k {k}: {:?}", ops(&both));
    }
    // an unpartitioned network exports as itself
    let single = TrainedNet::seeded(build(&layers, None), 7);
    let exported = export_two_head(&single, ExportOptions::default()).expect("export");
    assert_eq!(exported.graph.expect("graph").output.len(), 1);
}
