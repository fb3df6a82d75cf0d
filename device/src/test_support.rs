//! Test support: builds small real ONNX models (Conv → Relu → Flatten → Gemm → Softmax with
//! seeded random weights) with tract's prost ONNX types, so tests need no fixture files.

use prost::Message;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tract_onnx::pb::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto,
    ValueInfoProto, attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto, type_proto,
};

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

fn tensor(name: &str, dims: &[usize], rng: &mut ChaCha8Rng) -> TensorProto {
    let len = dims.iter().product::<usize>();
    TensorProto {
        name: name.into(),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: DataType::Float as i32,
        float_data: (0..len).map(|_| rng.random_range(-0.5f32..0.5)).collect(),
        ..TensorProto::default()
    }
}

fn value(name: &str, dims: &[usize]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|&d| tensor_shape_proto::Dimension {
            value: Some(tensor_shape_proto::dimension::Value::DimValue(d as i64)),
            ..Default::default()
        })
        .collect();
    let tensor_type = type_proto::Tensor { elem_type: DataType::Float as i32, shape: Some(TensorShapeProto { dim }) };
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto { value: Some(type_proto::Value::TensorType(tensor_type)), ..Default::default() }),
        ..Default::default()
    }
}

fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Ints as i32, ints: v.to_vec(), ..Default::default() }
}

fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Int as i32, i: v, ..Default::default() }
}

fn node(op: &str, inputs: &[&str], output: &str, attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        name: output.into(),
        input: inputs.iter().map(|s| (*s).into()).collect(),
        output: vec![output.into()],
        attribute,
        ..Default::default()
    }
}

/// ONNX bytes of the CNN `spec` with weights drawn from `seed`.
pub fn build_cnn(spec: &OnnxCnn, seed: u64) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (c, s, k) = (spec.channels, spec.side, spec.classes);
    let graph = GraphProto {
        name: "test_cnn".into(),
        node: vec![
            node("Conv", &["x", "w1", "b1"], "conv", vec![ints("kernel_shape", &[3, 3]), ints("pads", &[1, 1, 1, 1])]),
            node("Relu", &["conv"], "relu", vec![]),
            node("Flatten", &["relu"], "flat", vec![int("axis", 1)]),
            node("Gemm", &["flat", "w2", "b2"], "fc", vec![int("transB", 1)]),
            node("Softmax", &["fc"], "y", vec![int("axis", 1)]),
        ],
        initializer: vec![
            tensor("w1", &[c, 1, 3, 3], &mut rng),
            tensor("b1", &[c], &mut rng),
            tensor("w2", &[k, c * s * s], &mut rng),
            tensor("b2", &[k], &mut rng),
        ],
        input: vec![value("x", &[1, 1, s, s])],
        output: vec![value("y", &[1, k])],
        ..Default::default()
    };
    let model = ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 13 }],
        producer_name: "wattevo-agent tests".into(),
        graph: Some(graph),
        ..Default::default()
    };
    model.encode_to_vec()
}
