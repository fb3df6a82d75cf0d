//! The exported models pass the ONNX reference checker and give tract's outputs in onnxruntime.
//!
//! Writes ~20 models (partitions 0 and 1 of seeded random genomes of the bundled small grammar,
//! some two-head networks, plus a module exported alone) with random weights into a temporary directory, each with a
//! `.json` holding a random input and tract's output, then runs `scripts/check_onnx.py` on it.
//!
//! Needs a Python with onnx, onnxruntime and numpy: `$WATTEVO_PYTHON`, else the project's
//! virtual environment target/python-venv/check, else `python3` (see `support/python.rs`);
//! `scripts/python-env.sh` makes that environment and prints its interpreter. Without them the
//! test FAILS when the `CI` environment variable is set, and prints a loud skip message otherwise.

#[path = "support/python.rs"]
mod python;

use std::path::Path;
use std::process::Command;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wattevo::genome::{GenomeConfig, Individual, SearchSpace};
use wattevo::netspec::{NetSpec, Partition};
use wattevo::nn::{Model, cpu_device};
use wattevo::onnx::{self, ExportOptions, ModelProto, TractRunner};

const MODELS: usize = 20;

/// Writes `name.onnx` and `name.json` (input, tract's output).
fn write_case(dir: &Path, name: &str, model: &ModelProto, rng: &mut ChaCha8Rng) {
    let bytes = onnx::encode(model);
    let runner = TractRunner::from_bytes(&bytes).expect("tract loads the export");
    let shape = runner.input_shape().to_vec();
    let input: Vec<f32> = (0..shape.iter().product()).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    let expected = runner.run(&input).expect("tract runs");
    let reference =
        serde_json::json!({ "input_shape": shape, "input": input, "expected": expected, "tolerance": 1e-4 });
    std::fs::write(dir.join(format!("{name}.onnx")), bytes).expect("write model");
    std::fs::write(dir.join(format!("{name}.json")), reference.to_string()).expect("write reference");
}

fn export_all(spec: &NetSpec, seed: u64, dir: &Path, written: &mut usize) {
    let device = cpu_device();
    device.seed(seed);
    let net = Model::new(spec, &device).trained().expect("weights");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let options = ExportOptions { batch: 1 + (seed as usize % 3) };
    for which in [Partition::Full, Partition::Early] {
        if let Some(model) = net.partition(which).and_then(|part| onnx::export_network(&part, options).ok()) {
            write_case(dir, &format!("genome{seed}_p{}", which.index()), &model, &mut rng);
            *written += 1;
        }
    }
    if spec.partition_point.is_some() && seed.is_multiple_of(3) {
        // both heads in one graph (the reference's two-head network); the file checks the main
        // head's output
        let both = onnx::export_two_head(&net, options).expect("two-head export");
        write_case(dir, &format!("genome{seed}_two_head"), &both, &mut rng);
        *written += 1;
    }
    if spec.layers.len() >= 2 && seed.is_multiple_of(4) {
        let module = onnx::export_layer_range(&net, 1..spec.layers.len(), options).expect("module");
        write_case(dir, &format!("genome{seed}_module"), &module, &mut rng);
        *written += 1;
    }
}

#[test]
fn exports_pass_the_onnx_checker_and_onnxruntime() {
    let python = match python::find(&["onnx", "onnxruntime", "numpy"]) {
        Ok(python) => python,
        Err(message) => {
            assert!(std::env::var_os("CI").is_none(), "CI is set and {message}");
            eprintln!("\n!!!!!!!! SKIPPED exports_pass_the_onnx_checker_and_onnxruntime: {message} !!!!!!!!\n");
            return;
        }
    };
    println!("cross-check interpreter: {}", python.to_string_lossy());
    let space = SearchSpace::new(GenomeConfig::small()).expect("bundled grammar");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut written = 0;
    for seed in 0..200u64 {
        if written >= MODELS {
            break;
        }
        let individual = Individual::random(&space, &mut ChaCha8Rng::seed_from_u64(seed)).expect("genome");
        if let Ok(spec) = individual.to_netspec(&space) {
            export_all(&spec, seed, dir.path(), &mut written);
        }
    }
    assert!(written >= MODELS, "only {written} models written");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/check_onnx.py");
    let out = Command::new(&python).arg(&script).arg(dir.path()).output().expect("run check_onnx.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "check_onnx.py failed ({}):\n{stdout}", out.status);
    assert!(stdout.contains(&format!("{written} of {written} models pass")), "{stdout}");
}
