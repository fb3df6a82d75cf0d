//! Small real ONNX models built in code (tract's prost ONNX types, seeded random weights): the
//! twin's reference models for calibration, and the models the tests measure, with no fixture
//! files.
//!
//! [`OnnxGraph`] appends nodes to a graph and names their outputs; shapes are left to tract's
//! inference. [`build_cnn`] is the tests' usual CNN (Conv → Relu → Flatten → Gemm → Softmax),
//! [`build_mlp`] a two-layer perceptron.

use prost::Message;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tract_onnx::pb::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto,
    ValueInfoProto, attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto, type_proto,
};

/// ONNX opset the graphs are written for.
pub const OPSET: i64 = 13;

/// A convolution's geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvSpec {
    /// Input channels.
    pub input: usize,
    /// Output channels.
    pub output: usize,
    /// Square kernel side.
    pub kernel: usize,
    /// Stride in both directions.
    pub stride: usize,
    /// Groups: 1 for a dense convolution, `input` for a depthwise one.
    pub group: usize,
}

impl ConvSpec {
    /// A dense `kernel × kernel` convolution, stride 1, "same" padding.
    pub fn dense(input: usize, output: usize, kernel: usize) -> Self {
        Self { input, output, kernel, stride: 1, group: 1 }
    }

    /// A depthwise `kernel × kernel` convolution over `channels`.
    pub fn depthwise(channels: usize, kernel: usize, stride: usize) -> Self {
        Self { input: channels, output: channels, kernel, stride, group: channels }
    }
}

/// A graph under construction: nodes, seeded initializers and one float input.
#[derive(Debug)]
pub struct OnnxGraph {
    name: String,
    input: ValueInfoProto,
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    rng: ChaCha8Rng,
    next: usize,
}

fn dims_of(dims: &[usize]) -> Vec<tensor_shape_proto::Dimension> {
    dims.iter()
        .map(|&d| tensor_shape_proto::Dimension {
            value: Some(tensor_shape_proto::dimension::Value::DimValue(d as i64)),
            ..Default::default()
        })
        .collect()
}

fn value(name: &str, dims: Option<&[usize]>) -> ValueInfoProto {
    let shape = dims.map(|dims| TensorShapeProto { dim: dims_of(dims) });
    let tensor_type = type_proto::Tensor { elem_type: DataType::Float as i32, shape };
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto { value: Some(type_proto::Value::TensorType(tensor_type)), ..Default::default() }),
        ..Default::default()
    }
}

/// An integer-list attribute.
fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Ints as i32, ints: v.to_vec(), ..Default::default() }
}

/// An integer attribute.
fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Int as i32, i: v, ..Default::default() }
}

impl OnnxGraph {
    /// A graph named `name` whose input `x` has `dims`; weights drawn from `seed`.
    pub fn new(name: &str, dims: &[usize], seed: u64) -> Self {
        Self {
            name: name.into(),
            input: value("x", Some(dims)),
            nodes: Vec::new(),
            initializers: Vec::new(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            next: 0,
        }
    }

    /// The graph input's name.
    pub fn input(&self) -> String {
        "x".into()
    }

    fn fresh(&mut self, stem: &str) -> String {
        self.next += 1;
        format!("{stem}{}", self.next)
    }

    /// A seeded uniform(±0.5) float initializer of `dims`; returns its name.
    pub fn weights(&mut self, stem: &str, dims: &[usize]) -> String {
        let name = self.fresh(stem);
        let len = dims.iter().product::<usize>();
        let rng = &mut self.rng;
        self.initializers.push(TensorProto {
            name: name.clone(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: DataType::Float as i32,
            float_data: (0..len).map(|_| rng.random_range(-0.5f32..0.5)).collect(),
            ..TensorProto::default()
        });
        name
    }

    /// Appends a node of `op` on `inputs`; returns its output's name.
    pub fn node(&mut self, op: &str, inputs: &[&str], attribute: Vec<AttributeProto>) -> String {
        let output = self.fresh(&op.to_lowercase());
        self.nodes.push(NodeProto {
            op_type: op.into(),
            name: output.clone(),
            input: inputs.iter().map(|s| (*s).into()).collect(),
            output: vec![output.clone()],
            attribute,
            ..Default::default()
        });
        output
    }

    /// A convolution with bias and "same"-style padding (`kernel / 2`).
    pub fn conv(&mut self, x: &str, spec: ConvSpec) -> String {
        let w = self.weights("w", &[spec.output, spec.input / spec.group, spec.kernel, spec.kernel]);
        let b = self.weights("b", &[spec.output]);
        let (k, p, s) = (spec.kernel as i64, (spec.kernel / 2) as i64, spec.stride as i64);
        let attributes = vec![
            ints("kernel_shape", &[k, k]),
            ints("pads", &[p, p, p, p]),
            ints("strides", &[s, s]),
            int("group", spec.group as i64),
        ];
        self.node("Conv", &[x, &w, &b], attributes)
    }

    /// A fully connected layer: `x` (1 × `input`) times a `output × input` matrix plus bias.
    pub fn dense(&mut self, x: &str, input: usize, output: usize) -> String {
        let w = self.weights("w", &[output, input]);
        let b = self.weights("b", &[output]);
        self.node("Gemm", &[x, &w, &b], vec![int("transB", 1)])
    }

    /// `kernel × kernel` max pooling with stride `kernel`.
    pub fn max_pool(&mut self, x: &str, kernel: usize) -> String {
        let k = kernel as i64;
        self.node("MaxPool", &[x], vec![ints("kernel_shape", &[k, k]), ints("strides", &[k, k])])
    }

    /// A unary operator without attributes (`Relu`, `Sigmoid`, `GlobalAveragePool`, ...).
    pub fn unary(&mut self, op: &str, x: &str) -> String {
        self.node(op, &[x], vec![])
    }

    /// Flattens to 1 × everything.
    pub fn flatten(&mut self, x: &str) -> String {
        self.node("Flatten", &[x], vec![int("axis", 1)])
    }

    /// Softmax over axis 1.
    pub fn softmax(&mut self, x: &str) -> String {
        self.node("Softmax", &[x], vec![int("axis", 1)])
    }

    /// The model's bytes, with `output` as its output (shape left to inference).
    pub fn finish(self, output: &str) -> Vec<u8> {
        let graph = GraphProto {
            name: self.name,
            node: self.nodes,
            initializer: self.initializers,
            input: vec![self.input],
            output: vec![value(output, None)],
            ..Default::default()
        };
        let model = ModelProto {
            ir_version: 8,
            opset_import: vec![OperatorSetIdProto { domain: String::new(), version: OPSET }],
            producer_name: "wattevo-agent".into(),
            graph: Some(graph),
            ..Default::default()
        };
        model.encode_to_vec()
    }
}

/// Shape of the test CNN: input `1 × 1 × side × side`, `channels` 3×3 filters, `classes` outputs.
#[derive(Debug, Clone, Copy)]
pub struct OnnxCnn {
    /// Convolution output channels.
    pub channels: usize,
    /// Input height and width.
    pub side: usize,
    /// Classifier outputs.
    pub classes: usize,
}

impl OnnxCnn {
    /// 4 channels on 8 × 8, 10 classes.
    pub fn small() -> Self {
        Self { channels: 4, side: 8, classes: 10 }
    }
}

/// ONNX bytes of the CNN `spec` (Conv → Relu → Flatten → Gemm → Softmax), weights from `seed`.
pub fn build_cnn(spec: &OnnxCnn, seed: u64) -> Vec<u8> {
    let (c, s, k) = (spec.channels, spec.side, spec.classes);
    let mut g = OnnxGraph::new("test_cnn", &[1, 1, s, s], seed);
    let x = g.input();
    let conv = g.conv(&x, ConvSpec::dense(1, c, 3));
    let relu = g.unary("Relu", &conv);
    let flat = g.flatten(&relu);
    let fc = g.dense(&flat, c * s * s, k);
    let y = g.softmax(&fc);
    g.finish(&y)
}

/// ONNX bytes of a two-layer perceptron `1 × input → hidden → outputs`, ReLU between, weights
/// from `seed`.
pub fn build_mlp(input: usize, hidden: usize, outputs: usize, seed: u64) -> Vec<u8> {
    let mut g = OnnxGraph::new("mlp", &[1, input], seed);
    let x = g.input();
    let h = g.dense(&x, input, hidden);
    let h = g.unary("Relu", &h);
    let y = g.dense(&h, hidden, outputs);
    g.finish(&y)
}
