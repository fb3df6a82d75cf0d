//! Shared helpers of the end-to-end tests: locating the built binaries, running `wattevo`, and
//! a small convolutional ONNX model built with tract's prost types.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use prost::Message;
use tract_onnx::pb::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto,
    ValueInfoProto, attribute_proto::AttributeType, tensor_shape_proto::Dimension,
    tensor_shape_proto::dimension::Value as Dim, type_proto::Tensor, type_proto::Value as TypeValue,
};

/// A built executable of the workspace: `target/<profile>/<name>` (test binaries live in
/// `target/<profile>/deps/`). The workspace `cargo test` builds every binary first; with
/// `cargo test -p wattevo-e2e` alone, run `cargo build --bins` before.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().expect("deps dir");
    let candidates = [dir.join(name), dir.join("..").join(name)];
    candidates.into_iter().find(|path| path.is_file()).unwrap_or_else(|| {
        panic!(
            "`{name}` is not built next to {}; run `cargo build --bins` (the workspace `cargo test` does)",
            exe.display()
        )
    })
}

/// `wattevo` with `WATTEVO_AGENT` pointing at the built agent.
pub fn wattevo() -> Command {
    let mut command = Command::new(bin("wattevo"));
    command.env("WATTEVO_AGENT", bin("wattevo-agent")).env_remove("WATTEVO_BOARDS");
    command
}

/// Runs a command and returns its output, stdout and stderr as text.
pub fn run(command: &mut Command) -> (Output, String, String) {
    let output = command.output().expect("run wattevo");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

/// The workspace's `boards/` directory.
pub fn boards_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("boards")
}

/// SplitMix64: a tiny seeded generator for weights and corrupt frames.
#[derive(Debug)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [-scale, scale).
    pub fn weight(&mut self, scale: f32) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
    }
}

fn tensor(name: &str, dims: &[i64], rng: &mut SplitMix) -> TensorProto {
    let len = dims.iter().product::<i64>() as usize;
    let scale = 1.0 / (len as f32 / dims[0] as f32).sqrt();
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: 1,
        float_data: (0..len).map(|_| rng.weight(scale)).collect(),
        ..TensorProto::default()
    }
}

fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints as i32,
        ints: values.to_vec(),
        ..Default::default()
    }
}

fn node(op: &str, inputs: &[&str], output: &str, attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        name: output.into(),
        input: inputs.iter().map(|s| (*s).into()).collect(),
        output: vec![output.into()],
        attribute,
        ..NodeProto::default()
    }
}

fn value(name: &str, dims: &[i64]) -> ValueInfoProto {
    let dim = dims.iter().map(|&d| Dimension { value: Some(Dim::DimValue(d)), ..Dimension::default() }).collect();
    let tensor = Tensor { elem_type: 1, shape: Some(TensorShapeProto { dim }) };
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto { value: Some(TypeValue::TensorType(tensor)), ..Default::default() }),
        ..Default::default()
    }
}

/// A small CNN on 1×1×28×28: conv 3×3 (`channels`) → relu → maxpool 2 → conv 3×3 → relu →
/// maxpool 2 → flatten → gemm 10. Weights seeded.
pub fn cnn_onnx(channels: i64, seed: u64) -> Vec<u8> {
    let mut rng = SplitMix(seed);
    let pool = || vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])];
    let conv = || vec![ints("kernel_shape", &[3, 3]), ints("pads", &[1, 1, 1, 1])];
    let graph = GraphProto {
        name: "e2e_cnn".into(),
        node: vec![
            node("Conv", &["x", "w1", "b1"], "c1", conv()),
            node("Relu", &["c1"], "r1", vec![]),
            node("MaxPool", &["r1"], "p1", pool()),
            node("Conv", &["p1", "w2", "b2"], "c2", conv()),
            node("Relu", &["c2"], "r2", vec![]),
            node("MaxPool", &["r2"], "p2", pool()),
            node("Flatten", &["p2"], "f", vec![]),
            node(
                "Gemm",
                &["f", "w3", "b3"],
                "y",
                vec![AttributeProto {
                    name: "transB".into(),
                    r#type: AttributeType::Int as i32,
                    i: 1,
                    ..Default::default()
                }],
            ),
        ],
        initializer: vec![
            tensor("w1", &[channels, 1, 3, 3], &mut rng),
            tensor("b1", &[channels], &mut rng),
            tensor("w2", &[channels, channels, 3, 3], &mut rng),
            tensor("b2", &[channels], &mut rng),
            tensor("w3", &[10, channels * 7 * 7], &mut rng),
            tensor("b3", &[10], &mut rng),
        ],
        input: vec![value("x", &[1, 1, 28, 28])],
        output: vec![value("y", &[1, 10])],
        ..GraphProto::default()
    };
    let model = ModelProto {
        ir_version: 7,
        producer_name: "wattevo-e2e".into(),
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 13 }],
        graph: Some(graph),
        ..ModelProto::default()
    };
    model.encode_to_vec()
}

/// Writes `bytes` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write fixture");
    path
}
