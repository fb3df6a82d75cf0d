//! The reference models a twin is calibrated on: small ONNX graphs generated in code (seeded
//! weights), each stressing one part of the cost model, so that together they pin every
//! constant down.
//!
//! | name | stresses |
//! | --- | --- |
//! | `tiny-chain` | per-operator overhead (twelve operators on 16 values) |
//! | `conv3x3` | dense convolution compute (14 M MACs, weights in cache) |
//! | `depthwise` | depthwise convolution (3.6 M MACs, activations in the last-level cache) |
//! | `matmul-batch` | matrix products with reuse (64 rows, 8.4 M MACs) |
//! | `gemv-cache` | a matrix–vector product whose weights stay in the last-level cache |
//! | `gemv-dram` | a matrix–vector product whose 18 MB of weights stream from DRAM |
//! | `elementwise` | element-wise work on 512 KB tensors |
//! | `pooling` | max pooling on 512 KB tensors |
//! | `cnn28` | a small Fashion-MNIST-style CNN, as evolution produces them |

use super::graph::ModelFacts;
use crate::runner::{RunnerError, read_facts};
use crate::sim::onnx::{ConvSpec, OnnxGraph};

/// One reference model.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceModel {
    /// Short name.
    pub name: &'static str,
    /// `tiny`, `compute-bound`, `memory-bound` or `mixed`.
    pub class: &'static str,
    /// The ONNX bytes.
    pub onnx: Vec<u8>,
}

fn model(name: &'static str, class: &'static str, graph: OnnxGraph, output: &str) -> ReferenceModel {
    ReferenceModel { name, class, onnx: graph.finish(output) }
}

fn tiny_chain() -> ReferenceModel {
    let mut g = OnnxGraph::new("tiny-chain", &[1, 16], 101);
    let mut x = g.input();
    for i in 0..12 {
        x = g.unary(if i % 2 == 0 { "Relu" } else { "Sigmoid" }, &x);
    }
    model("tiny-chain", "tiny", g, &x)
}

/// Two convolutions in a row on an input of `dims`.
fn two_convs(
    name: &'static str,
    class: &'static str,
    dims: &[usize],
    specs: [ConvSpec; 2],
    seed: u64,
) -> ReferenceModel {
    let mut g = OnnxGraph::new(name, dims, seed);
    let mut x = g.input();
    for spec in specs {
        x = g.conv(&x, spec);
    }
    model(name, class, g, &x)
}

fn matmul_batch() -> ReferenceModel {
    let mut g = OnnxGraph::new("matmul-batch", &[64, 256], 104);
    let x = g.input();
    let a = g.dense(&x, 256, 256);
    let b = g.dense(&a, 256, 256);
    model("matmul-batch", "compute-bound", g, &b)
}

fn gemv(name: &'static str, class: &'static str, input: usize, hidden: usize, seed: u64) -> ReferenceModel {
    let mut g = OnnxGraph::new(name, &[1, input], seed);
    let x = g.input();
    let a = g.dense(&x, input, hidden);
    let b = g.dense(&a, hidden, 256);
    model(name, class, g, &b)
}

fn elementwise() -> ReferenceModel {
    let mut g = OnnxGraph::new("elementwise", &[1, 32, 64, 64], 107);
    let mut x = g.input();
    for op in ["Relu", "Sigmoid", "Relu", "Sigmoid", "Relu", "Sigmoid"] {
        x = g.unary(op, &x);
    }
    model("elementwise", "memory-bound", g, &x)
}

fn pooling() -> ReferenceModel {
    let mut g = OnnxGraph::new("pooling", &[1, 32, 64, 64], 108);
    let x = g.input();
    let a = g.max_pool(&x, 2);
    let b = g.max_pool(&a, 2);
    model("pooling", "memory-bound", g, &b)
}

fn cnn28() -> ReferenceModel {
    let mut g = OnnxGraph::new("cnn28", &[1, 1, 28, 28], 109);
    let x = g.input();
    let a = g.conv(&x, ConvSpec::dense(1, 16, 3));
    let a = g.unary("Relu", &a);
    let a = g.max_pool(&a, 2);
    let b = g.conv(&a, ConvSpec::dense(16, 32, 3));
    let b = g.unary("Relu", &b);
    let b = g.max_pool(&b, 2);
    let f = g.flatten(&b);
    let h = g.dense(&f, 32 * 7 * 7, 64);
    let h = g.unary("Relu", &h);
    let y = g.dense(&h, 64, 10);
    let y = g.softmax(&y);
    model("cnn28", "mixed", g, &y)
}

/// The bundled reference models, in a fixed order.
pub fn reference_models() -> Vec<ReferenceModel> {
    vec![
        tiny_chain(),
        two_convs(
            "conv3x3",
            "compute-bound",
            &[1, 16, 32, 32],
            [ConvSpec::dense(16, 32, 3), ConvSpec::dense(32, 32, 3)],
            102,
        ),
        two_convs("depthwise", "memory-bound", &[1, 64, 56, 56], [ConvSpec::depthwise(64, 3, 1); 2], 103),
        matmul_batch(),
        gemv("gemv-cache", "memory-bound", 384, 256, 105),
        gemv("gemv-dram", "memory-bound", 2048, 2048, 106),
        elementwise(),
        pooling(),
        cnn28(),
    ]
}

/// Each reference model's name and operator facts.
pub fn try_reference_facts() -> Result<Vec<(&'static str, ModelFacts)>, RunnerError> {
    reference_models().into_iter().map(|m| Ok((m.name, read_facts(&m.onnx, None)?))).collect()
}

/// Each reference model's name and operator facts (they are built to load: a failure is a bug).
#[cfg(test)]
pub fn reference_facts() -> Vec<(&'static str, ModelFacts)> {
    match try_reference_facts() {
        Ok(facts) => facts,
        Err(error) => panic!("a bundled reference model does not load: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::twin::graph::OpKind;
    use crate::sim::twin::tests::pi4_twin;

    #[test]
    fn every_reference_model_loads_and_stresses_its_part() {
        let facts = reference_facts();
        let names: Vec<_> = facts.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names.len(),
            wattevo_proto::REFERENCE_MODEL_COUNT,
            "{names:?} (the host scales its calibration wait by the count)"
        );
        let of = |name: &str| &facts.iter().find(|(n, _)| *n == name).expect("present").1;
        assert!(of("conv3x3").ops.iter().any(|op| op.kind == OpKind::Conv));
        assert!(of("depthwise").ops.iter().any(|op| op.kind == OpKind::Depthwise));
        assert!(of("pooling").ops.iter().any(|op| op.kind == OpKind::Pool));
        let twin = pi4_twin(1);
        assert_eq!(twin.weight_hit_rate(of("gemv-cache")), 1.0, "fits the L2");
        assert!(twin.weight_hit_rate(of("gemv-dram")) < 0.1, "streams from DRAM");
    }
}
