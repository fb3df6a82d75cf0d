//! Benchmark (not a test): tract's inference latency against onnxruntime's on networks exported
//! by wattevo, batch 1, one thread each, printed as a ratio per network.
//!
//! Run: `cargo bench -p wattevo --bench tract_vs_ort` (needs a Python with onnxruntime and numpy
//! for the onnxruntime column, found as the test `onnx_python` finds it: `$WATTEVO_PYTHON`, else
//! target/python-venv/check, made by `scripts/python-env.sh`, else `python3`; without them only
//! tract's figures are printed). The models are written to `target/tract_vs_ort/` and timed by
//! `scripts/bench_tract_vs_ort.py`. Figures are medians of 500 runs after a warm-up, measured on
//! this machine (not a board).

#[path = "../tests/support/python.rs"]
mod python;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use wattevo::netspec::{Activation, LayerSpec, NetSpec, Padding, PoolKind, Shape, SpecRules};
use wattevo::nn::{Model, cpu_device};
use wattevo::onnx::{self, ExportOptions, TractRunner};

const RUNS: usize = 500;
const MNIST: Shape = Shape::Image { channels: 1, height: 28, width: 28 };

fn conv(out: usize, kernel: usize, padding: Padding) -> LayerSpec {
    LayerSpec::Conv { out_channels: out, kernel, stride: 1, padding, activation: Activation::Relu, bias: true }
}

fn pool(kind: PoolKind) -> LayerSpec {
    LayerSpec::Pool { kind, kernel: 2, stride: 2, padding: Padding::Valid }
}

fn dense(out: usize) -> LayerSpec {
    LayerSpec::Dense { out_features: out, activation: Activation::Relu, bias: true }
}

/// The benchmarked networks: name and layers (all on 1×28×28, 10 classes).
fn networks() -> Vec<(&'static str, Vec<LayerSpec>)> {
    vec![
        ("conv1x8", vec![conv(8, 3, Padding::Same)]),
        ("conv3x8", vec![conv(8, 3, Padding::Same), conv(8, 3, Padding::Valid), conv(8, 3, Padding::Valid)]),
        ("conv3x32", vec![conv(32, 3, Padding::Same), conv(32, 3, Padding::Valid), conv(32, 3, Padding::Valid)]),
        (
            "cnn_bn_pool",
            vec![
                conv(32, 5, Padding::Same),
                LayerSpec::BatchNorm,
                pool(PoolKind::Max),
                conv(64, 3, Padding::Valid),
                pool(PoolKind::Avg),
                dense(128),
            ],
        ),
        ("mlp", vec![dense(256), LayerSpec::Dropout { rate: 0.2 }, dense(128)]),
    ]
}

fn tract_median_us(bytes: &[u8]) -> f64 {
    let runner = TractRunner::from_bytes(bytes).expect("tract loads the export");
    let input = vec![0.25f32; runner.input_shape().iter().product()];
    for _ in 0..RUNS / 10 {
        runner.run(&input).expect("tract runs");
    }
    let mut samples: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            runner.run(&input).expect("tract runs");
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[RUNS / 2]
}

fn ort_medians_us(dir: &Path) -> Option<Vec<(String, f64)>> {
    let python = python::find(&["onnxruntime", "numpy"]).map_err(|why| eprintln!("onnxruntime: {why}")).ok()?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/bench_tract_vs_ort.py");
    let out = Command::new(python).arg(script).arg(dir).arg(RUNS.to_string()).output().ok()?;
    if !out.status.success() {
        eprintln!("onnxruntime timing failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let parse = |line: &str| {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        Some((v["model"].as_str()?.to_owned(), v["ort_median_us"].as_f64()?))
    };
    Some(String::from_utf8_lossy(&out.stdout).lines().filter_map(parse).collect())
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/tract_vs_ort");
    std::fs::create_dir_all(&dir).expect("create target/tract_vs_ort");
    let device = cpu_device();
    let mut tract = Vec::new();
    for (seed, (name, layers)) in networks().into_iter().enumerate() {
        let spec = NetSpec::build(MNIST, 10, &layers, None, SpecRules::default()).expect("valid benchmark network");
        device.seed(seed as u64);
        let net = Model::new(&spec, &device).trained().expect("weights");
        let model = onnx::export_network(&net, ExportOptions::default()).expect("export");
        let bytes = onnx::encode(&model);
        std::fs::write(dir.join(format!("{name}.onnx")), &bytes).expect("write model");
        tract.push((name, spec.macs(), tract_median_us(&bytes)));
    }
    let ort = ort_medians_us(&dir).unwrap_or_default();
    println!("tract 0.23.9 vs onnxruntime, batch 1, one thread, median of {RUNS} runs (this machine)");
    println!("{:<12} {:>10} {:>10} {:>10} {:>12}", "network", "MACs", "tract µs", "ort µs", "tract/ort");
    for (name, macs, tract_us) in tract {
        match ort.iter().find(|(n, _)| n == name) {
            Some((_, ort_us)) => {
                println!("{name:<12} {macs:>10} {tract_us:>10.1} {ort_us:>10.1} {:>11.2}×", tract_us / ort_us)
            }
            None => println!("{name:<12} {macs:>10} {tract_us:>10.1} {:>10} {:>12}", "-", "-"),
        }
    }
    if ort.is_empty() {
        println!("(onnxruntime not available: scripts/python-env.sh installs it)");
    }
}
