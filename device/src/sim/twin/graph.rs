//! What a board twin needs to know about a model, per operator: the kind of work, its
//! multiply-accumulates (tract's own `cost()` hints), element operations, and the bytes of
//! weights and activations it touches.
//!
//! The operators are those of tract's **optimised** plan, the ones that run: a 1×1 convolution
//! or a Gemm is a packing step and one matrix product with its bias, ReLU or residual add fused
//! in; a 3×3 convolution is a padding step, a lazy im2col and a matrix product, with its ReLU as
//! a separate pass. Packed weights are opaque in the optimised graph, so each matrix product
//! takes its weight bytes and tile shape from the same product in the **decluttered** graph
//! (matched in evaluation order by their MAC counts, which optimisation keeps).
//!
//! These facts depend on the model only, not on a board: a [`Twin`](super::Twin) turns them into
//! time, memory traffic and power for its SoC.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::Cost;
use tract_onnx::tract_core::ops::cnn::Conv;

/// The kind of work an operator does, which sets the rate it runs at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// A dense convolution (lazy im2col and a matrix product).
    Conv,
    /// A depthwise convolution.
    Depthwise,
    /// A matrix product (Gemm, MatMul, 1×1 convolution).
    MatMul,
    /// Max or average pooling.
    Pool,
    /// Element-wise arithmetic, activations, reductions, softmax, padding, packing copies.
    ElementWise,
    /// Metadata only (reshapes, added or removed unit axes, a lazy im2col): no work.
    Layout,
}

impl OpKind {
    /// Whether the operator is a matrix product that tract runs on several threads.
    pub fn is_matrix(self) -> bool {
        matches!(self, Self::Conv | Self::Depthwise | Self::MatMul)
    }

    /// A short lower-case name.
    pub fn label(self) -> &'static str {
        match self {
            Self::Conv => "conv",
            Self::Depthwise => "depthwise",
            Self::MatMul => "matmul",
            Self::Pool => "pool",
            Self::ElementWise => "elementwise",
            Self::Layout => "layout",
        }
    }
}

/// One operator of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct OpFacts {
    /// Node name in the optimised graph.
    pub name: String,
    /// tract's operator name (`OptMatMul`, `DepthWiseConv`, `OptMaxByScalar`, ...).
    pub op: String,
    /// What kind of work it is.
    pub kind: OpKind,
    /// Multiply-accumulates per inference (matrix kinds; an activation's multiply-adds count as
    /// its element operations).
    pub macs: u64,
    /// Element operations per inference (other kinds).
    pub elements: u64,
    /// Bytes of weights (constant operands, biases).
    pub weight_bytes: u64,
    /// Bytes of the data inputs.
    pub input_bytes: u64,
    /// Bytes of the outputs.
    pub output_bytes: u64,
    /// Bytes of scratch written and read back (a materialised im2col).
    pub scratch_bytes: u64,
    /// Output channels of a matrix product (rows of the micro-kernel's tile), 0 otherwise.
    pub m: u64,
    /// Reduction depth of a matrix product (MACs per output element), 0 otherwise.
    pub k: u64,
}

impl OpFacts {
    /// Activation bytes the operator moves: inputs, outputs and scratch.
    pub fn activation_bytes(&self) -> u64 {
        self.input_bytes + self.output_bytes + self.scratch_bytes
    }
}

/// Every operator of a model's plan, in evaluation order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelFacts {
    /// The operators (constants and inputs left out).
    pub ops: Vec<OpFacts>,
}

/// Weights and tile shape of a matrix product, read from the decluttered graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MatrixShape {
    macs: u64,
    weight_bytes: u64,
    m: u64,
    k: u64,
}

/// Matrix products in the optimised plan (besides `DepthWiseConv`) and the decluttered graph.
const MATRIX_OPS: [&str; 3] = ["OptMatMul", "EinSum", "Conv"];

/// Operators that only relabel a tensor or defer work to their consumer.
const LAYOUT_OPS: [&str; 6] = ["AddAxis", "RmAxis", "Reshape", "IntoShape", "Identity", "LazyIm2col"];
/// Operators whose output is an opaque packed copy of their input.
const PACKING_OPS: [&str; 1] = ["OptMatMulPack"];

impl ModelFacts {
    /// Reads the plan of `optimised`, with the weights of `decluttered` (the same model before
    /// optimisation).
    pub fn of(decluttered: &TypedModel, optimised: &TypedModel) -> TractResult<Self> {
        let mut shapes = matrix_shapes(decluttered)?.into_iter().peekable();
        let mut ops = Vec::new();
        for id in optimised.eval_order()? {
            let node = optimised.node(id);
            let op = node.op.name().to_string();
            if op == "Source" {
                ops.push(input_facts(node));
                continue;
            }
            if op == "Const" {
                continue;
            }
            let mut facts = op_facts(optimised, node, &op)?;
            if facts.kind.is_matrix()
                && let Some(shape) = shapes.next_if(|s| s.macs == facts.macs)
            {
                (facts.weight_bytes, facts.m, facts.k) = (shape.weight_bytes, shape.m, shape.k);
            }
            ops.push(facts);
        }
        Ok(Self { ops })
    }

    /// Total multiply-accumulates per inference.
    pub fn macs(&self) -> u64 {
        self.ops.iter().map(|op| op.macs).sum()
    }

    /// Total weight bytes.
    pub fn weight_bytes(&self) -> u64 {
        self.ops.iter().map(|op| op.weight_bytes).sum()
    }
}

fn bytes_of(fact: &TypedFact) -> u64 {
    (elements_of(fact) as usize * fact.datum_type.size_of()) as u64
}

fn elements_of(fact: &TypedFact) -> u64 {
    fact.shape.as_concrete().map_or(0, |shape| shape.iter().product::<usize>() as u64)
}

/// tract's multiply-accumulate count for the node, 0 when it gives none.
fn fma_count(node: &TypedNode, inputs: &[&TypedFact]) -> u64 {
    let Ok(costs) = node.op.cost(inputs) else { return 0 };
    costs
        .iter()
        .filter(|(cost, _)| matches!(cost, Cost::FMA(_)))
        .filter_map(|(_, count)| count.to_i64().ok())
        .map(|count| count.max(0) as u64)
        .sum()
}

/// The matrix products of the decluttered graph, in evaluation order.
fn matrix_shapes(model: &TypedModel) -> TractResult<Vec<MatrixShape>> {
    let mut shapes = Vec::new();
    for id in model.eval_order()? {
        let node = model.node(id);
        let inputs = model.node_input_facts(id)?;
        let macs = fma_count(node, &inputs);
        if macs == 0 || !MATRIX_OPS.contains(&node.op.name().as_ref()) {
            continue;
        }
        let out_elements: u64 = node.outputs.iter().map(|o| elements_of(&o.fact)).sum::<u64>().max(1);
        let weight_bytes: u64 = inputs.iter().filter(|f| f.konst.is_some()).map(|f| bytes_of(f)).sum();
        let k = macs / out_elements;
        // Weights = m × k for m output channels; each is used out_elements / m times.
        let m = match node.op_as::<Conv>() {
            Some(conv) => conv.output_channels() as u64,
            None => (weight_bytes / 4).saturating_mul(out_elements) / macs,
        };
        shapes.push(MatrixShape { macs, weight_bytes, m, k });
    }
    Ok(shapes)
}

/// Bytes of the data behind `outlet`: through lazy and packing steps to the tensor they read.
fn data_bytes(model: &TypedModel, outlet: OutletId) -> TractResult<u64> {
    let node = model.node(outlet.node);
    let op = node.op.name();
    let passes_through = (LAYOUT_OPS.contains(&op.as_ref()) || PACKING_OPS.contains(&op.as_ref())) && op != "IntoShape";
    if passes_through && let Some(&input) = node.inputs.first() {
        return data_bytes(model, input);
    }
    Ok(bytes_of(model.outlet_fact(outlet)?))
}

/// A model input: the plan's own run (checking the input, copying it into the session, and
/// dispatching the nodes) costs a node's overhead and one pass over the input, so even a
/// model that only passes its input through (an `Identity` module) takes time on the board.
fn input_facts(node: &TypedNode) -> OpFacts {
    let bytes: u64 = node.outputs.iter().map(|o| bytes_of(&o.fact)).sum();
    OpFacts {
        name: node.name.clone(),
        op: "Source".into(),
        kind: OpKind::ElementWise,
        macs: 0,
        elements: node.outputs.iter().map(|o| elements_of(&o.fact)).sum(),
        weight_bytes: 0,
        input_bytes: bytes,
        output_bytes: bytes,
        scratch_bytes: 0,
        m: 0,
        k: 0,
    }
}

fn op_facts(model: &TypedModel, node: &TypedNode, op: &str) -> TractResult<OpFacts> {
    let inputs = model.node_input_facts(node.id)?;
    let macs = fma_count(node, &inputs);
    let mut weight_bytes = 0;
    let mut input_bytes = 0;
    let mut input_elements = 0;
    for (&outlet, fact) in node.inputs.iter().zip(&inputs) {
        if fact.konst.is_some() {
            weight_bytes += bytes_of(fact);
        } else {
            input_bytes += data_bytes(model, outlet)?;
            input_elements += elements_of(fact);
        }
    }
    let out_elements: u64 = node.outputs.iter().map(|o| elements_of(&o.fact)).sum();
    let mut output_bytes: u64 = node.outputs.iter().map(|o| bytes_of(&o.fact)).sum();
    let reads_im2col = node.inputs.iter().any(|i| model.node(i.node).op.name() == "LazyIm2col");
    let (kind, elements) = if op == "DepthWiseConv" {
        (OpKind::Depthwise, 0)
    } else if MATRIX_OPS.contains(&op) {
        (if reads_im2col || op == "Conv" { OpKind::Conv } else { OpKind::MatMul }, 0)
    } else if macs > 0 {
        // An activation computed with multiply-adds (sigmoid, tanh, ...): one element
        // operation per multiply-add.
        (OpKind::ElementWise, macs.max(out_elements))
    } else if op.contains("Pool") {
        (OpKind::Pool, input_elements)
    } else if LAYOUT_OPS.contains(&op) {
        (OpKind::Layout, 0)
    } else if PACKING_OPS.contains(&op) {
        output_bytes = input_bytes;
        (OpKind::ElementWise, input_bytes / 4)
    } else {
        (OpKind::ElementWise, out_elements)
    };
    if kind == OpKind::Layout {
        (input_bytes, output_bytes) = (0, 0);
    }
    Ok(OpFacts {
        name: node.name.clone(),
        op: op.to_string(),
        kind,
        macs: if kind.is_matrix() { macs } else { 0 },
        elements,
        weight_bytes,
        input_bytes,
        output_bytes,
        scratch_bytes: if op == "Im2col" { output_bytes } else { 0 },
        m: 0,
        k: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::load_model;
    use crate::sim::onnx::{OnnxCnn, OnnxGraph, build_cnn};

    #[test]
    fn a_model_that_only_passes_its_input_through_still_has_an_operator() {
        // An `Identity` module (the host measures each archived module on its own).
        let mut graph = OnnxGraph::new("identity", &[1, 36, 16, 16], 1);
        let input = graph.input();
        let out = graph.unary("Identity", &input);
        let model = load_model(&graph.finish(&out), None).expect("load");
        let [op] = model.facts.ops.as_slice() else { panic!("one operator: {:#?}", model.facts) };
        assert_eq!((op.op.as_str(), op.elements, op.input_bytes), ("Source", 36 * 16 * 16, 36 * 16 * 16 * 4));
    }

    #[test]
    fn a_small_cnn_reads_as_tracts_plan() {
        // 4 × (3×3) filters on 1 × 8 × 8, ReLU, then a 10 × 256 classifier and a softmax.
        let model = load_model(&build_cnn(&OnnxCnn::small(), 1), None).expect("load");
        let facts = &model.facts;
        let kinds: Vec<OpKind> = facts.ops.iter().filter(|op| op.kind != OpKind::Layout).map(|op| op.kind).collect();
        use OpKind::*;
        // The input, pad, conv (on a lazy im2col), ReLU, packing the classifier's input, Gemm,
        // softmax.
        assert_eq!(
            kinds,
            [ElementWise, ElementWise, Conv, ElementWise, ElementWise, MatMul, ElementWise],
            "{facts:#?}"
        );
        let conv = facts.ops.iter().find(|op| op.kind == Conv).expect("a conv");
        assert_eq!(conv.macs, 4 * 8 * 8 * 9, "{conv:?}");
        assert_eq!((conv.m, conv.k), (4, 9));
        assert_eq!(conv.weight_bytes, (4 * 9 + 4) * 4, "kernel and bias");
        assert_eq!(conv.input_bytes, 10 * 10 * 4, "the padded input, read through the lazy im2col");
        let gemm = facts.ops.iter().find(|op| op.kind == MatMul).expect("a matmul");
        assert_eq!((gemm.macs, gemm.m, gemm.k), (10 * 256, 10, 256), "{gemm:?}");
        assert_eq!(gemm.weight_bytes, 10 * 256 * 4, "the matrix (its bias is an add tract fuses)");
        assert_eq!(facts.macs(), 4 * 8 * 8 * 9 + 10 * 256);
    }
}
