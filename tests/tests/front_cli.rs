//! The Pareto front as a run's product: a finished run writes `front.json`, `front.csv` and each
//! member's ONNX; `wattevo front` prints the front; `wattevo pick` copies out the model the bounds
//! choose, and that file scores on the fitness split what the front says.

mod common;
#[path = "../../host/tests/support/python.rs"]
mod python;

use std::path::Path;
use std::process::Command;

use common::{run, wattevo};
use wattevo::data::{DatasetName, LoadOptions, SplitConfig, load_splits};
use wattevo::onnx::TractRunner;
use wattevo::pipeline::onnx_accuracy;

#[test]
fn a_run_writes_its_front_and_pick_copies_out_a_member() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let flags = ["evolve", "--generations", "3", "--lambda", "2", "--train-seconds", "1", "--seed", "4", "--json"];
    let (output, stdout, stderr) = run(wattevo().args(flags).arg("--out").arg(&out));
    assert!(output.status.success(), "evolve failed: {stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).expect("summary");
    let front: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("front.json")).expect("front.json")).expect("json");
    let members = front["members"].as_array().expect("members");
    assert!(!members.is_empty());
    assert_eq!(summary["front_size"].as_u64(), Some(members.len() as u64));
    for member in members {
        let onnx = member["onnx"].as_str().expect("every member has its ONNX");
        assert!(out.join(onnx).is_file(), "{onnx}");
    }
    // cheapest first, each more accurate than the one before: nothing on it is dominated
    for pair in members.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(a["energy_j"].as_f64() <= b["energy_j"].as_f64(), "{a} {b}");
        assert!(a["accuracy"].as_f64() < b["accuracy"].as_f64(), "{a} {b}");
    }
    for plot in ["pareto.svg", "front_by_generation.svg", "hypervolume.svg", "progress.svg"] {
        let svg = std::fs::read_to_string(out.join(plot)).unwrap_or_else(|e| panic!("{plot}: {e}"));
        assert!(svg.starts_with("<svg") && svg.contains("SIMULATED"), "{plot} names where its figures come from");
    }
    // the log reports the front after every generation; against its fixed reference point the
    // hypervolume never falls (the front only gains)
    let volumes: Vec<f64> = stderr
        .lines()
        .filter_map(|l| l.split("front after generation ").nth(1))
        .map(|rest| {
            let hv = rest.split("hypervolume ").nth(1).and_then(|r| r.split_whitespace().next());
            hv.and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("no hypervolume in `{rest}`"))
        })
        .collect();
    assert_eq!(volumes.len(), 3, "one line per generation: {stderr}");
    assert!(volumes.windows(2).all(|w| w[1] >= w[0]), "{volumes:?}");
    let csv = std::fs::read_to_string(out.join("front.csv")).expect("front.csv");
    assert_eq!(csv.lines().count(), members.len() + 1, "{csv}");

    let (output, stdout, stderr) = run(wattevo().arg("front").arg(&out));
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("models on the front") && stdout.contains("hypervolume"), "{stdout}");

    // the most accurate member within the median member's energy
    let mut energies: Vec<f64> = members.iter().filter_map(|m| m["energy_j"].as_f64()).collect();
    energies.sort_by(f64::total_cmp);
    let bound = energies[energies.len() / 2];
    let picked_file = dir.path().join("picked.onnx");
    let (output, stdout, stderr) = run(wattevo()
        .arg("pick")
        .arg(&out)
        .args(["--max", &format!("energy={bound:e}"), "--json", "--out"])
        .arg(&picked_file));
    assert!(output.status.success(), "{stderr}");
    let picked: serde_json::Value = serde_json::from_str(&stdout).expect("pick --json");
    let model = &picked["model"];
    let best_within = members
        .iter()
        .filter(|m| m["energy_j"].as_f64().is_some_and(|e| e <= bound))
        .filter_map(|m| m["accuracy"].as_f64())
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(model["accuracy"].as_f64(), Some(best_within), "{picked}");
    // the copied file is the model the front describes: its accuracy on the run's fitness split
    let options = LoadOptions {
        resize_to: Some((16, 16)),
        split: SplitConfig { seed: 4, ..SplitConfig::default() },
        ..LoadOptions::default()
    };
    let data = load_splits(DatasetName::Digits, &options).expect("digits");
    let bytes = std::fs::read(&picked_file).expect("picked file");
    let accuracy = onnx_accuracy(&bytes, &data.fitness).expect("tract runs it");
    assert_eq!(Some(accuracy), model["accuracy"].as_f64());
    onnxruntime_agrees(&bytes, data.fitness.image(0));

    let (output, _, stderr) = run(wattevo().arg("pick").arg(&out).args(["--min", "accuracy=1.5"]));
    assert!(!output.status.success() && stderr.contains("no model of the front"), "{stderr}");
    let (output, _, stderr) = run(wattevo().arg("pick").arg(&out).args(["--max", "watts=3"]));
    assert!(!output.status.success() && stderr.contains("unknown metric"), "{stderr}");
}

/// onnxruntime runs the model and gives tract's output on `input` (`scripts/check_onnx.py`, which
/// also runs the ONNX checker); skipped with a loud message without the Python packages, unless
/// `CI` is set.
fn onnxruntime_agrees(model: &[u8], input: &[f32]) {
    let python = match python::find(&["onnx", "onnxruntime", "numpy"]) {
        Ok(python) => python,
        Err(message) => {
            assert!(std::env::var_os("CI").is_none(), "CI is set and {message}");
            eprintln!("\n!!!!!!!! SKIPPED the onnxruntime check of the picked model: {message} !!!!!!!!\n");
            return;
        }
    };
    let runner = TractRunner::from_bytes(model).expect("tract loads it");
    let expected = runner.run(input).expect("tract runs it");
    let reference = serde_json::json!({
        "input_shape": runner.input_shape(), "input": input, "expected": expected, "tolerance": 1e-4
    });
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("picked.onnx"), model).expect("write model");
    std::fs::write(dir.path().join("picked.json"), reference.to_string()).expect("write reference");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/check_onnx.py");
    let out = Command::new(&python).arg(&script).arg(dir.path()).output().expect("run check_onnx.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("1 of 1 models pass"), "check_onnx.py: {stdout}");
}
