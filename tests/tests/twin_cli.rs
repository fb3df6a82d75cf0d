//! The board twin from the command line, the way a user runs it: `wattevo profile --explain`
//! (where a model's time and energy go, operator by operator) and `wattevo boards --calibrate`
//! (measure the reference models, fit the twin, write a simulated profile of the fitted board
//! and use it).

mod common;

use common::{SHORT_PROTOCOL, cnn_onnx, number, run, wattevo, write};
use serde_json::Value;

#[test]
fn explain_breaks_the_measured_latency_down_by_operator() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = write(dir.path(), "cnn.onnx", &cnn_onnx(8, 7));
    let (output, stdout, stderr) =
        run(wattevo().arg("profile").arg(&model).args(["--board", "sim", "--explain", "--json"]).args(SHORT_PROTOCOL));
    assert!(output.status.success(), "{stderr}");
    let json: Value = serde_json::from_str(&stdout).expect("JSON");
    let source = json["source"].as_str().expect("source");
    assert!(source.starts_with("SIMULATED") && source.contains("twin pi4b v"), "names the twin: {source}");
    let explanation = &json["explanation"];
    assert_eq!(explanation["predicted"], Value::Bool(true));
    assert!(explanation["twin"].as_str().is_some_and(|t| t.starts_with("twin pi4b v")), "{explanation}");
    let ops = explanation["ops"].as_array().expect("ops");
    assert!(ops.iter().any(|op| op["kind"] == "conv" && op["macs"].as_u64() > Some(0)), "{explanation}");
    // The simulated board runs on this twin: its operators add up to the measured latency.
    let sum_us: f64 = ops.iter().map(|op| op["time_us"].as_f64().expect("time")).sum();
    let latency_us = number(&json, "/measurement/latency_mean_us");
    assert!((sum_us - latency_us).abs() <= 0.01 * latency_us, "ops {sum_us} µs vs measured {latency_us} µs");

    let (output, stdout, stderr) =
        run(wattevo().arg("profile").arg(&model).args(["--board", "sim", "--explain"]).args(SHORT_PROTOCOL));
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("per-operator breakdown: PREDICTED by twin pi4b"), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("total")), "{stdout}");
}

#[test]
fn calibrating_the_simulated_board_recovers_its_twin_and_the_fitted_profile_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("fit");
    let (output, stdout, stderr) = run(wattevo()
        .args(["boards", "--calibrate", "--board", "sim", "--json", "--out"])
        .arg(&out)
        .args(SHORT_PROTOCOL));
    assert!(output.status.success(), "{stderr}");
    let json: Value = serde_json::from_str(&stdout).expect("JSON");
    assert!(json["source"].as_str().is_some_and(|s| s.starts_with("SIMULATED")), "{json}");
    let rows = json["report"]["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), wattevo_proto::REFERENCE_MODEL_COUNT);
    for row in rows {
        // The sim runs on the twin being fitted: the fit reproduces its latencies, and its
        // energies up to the emulated sensor's noise and quantisation.
        let latency = (number(row, "/fitted_latency_us") - number(row, "/measured_latency_us"))
            / number(row, "/measured_latency_us");
        let energy = (number(row, "/fitted_dynamic_uj") - number(row, "/measured_dynamic_uj"))
            / number(row, "/measured_dynamic_uj");
        assert!(latency.abs() < 0.02 && energy.abs() < 0.10, "{row}");
    }
    // The board-level constants come back within a few percent of sim.toml's.
    let power = &json["report"]["power_model"];
    assert!((number(power, "/idle_w") - 2.7).abs() < 0.05, "{power}");
    assert!((number(power, "/core_w") - 0.925).abs() < 0.05 * 0.925, "{power}");

    let profile = out.join("sim-fitted.toml");
    let twin = std::fs::read_to_string(out.join("twin.toml")).expect("twin file");
    assert!(twin.contains("fitted to board sim"), "{twin}");
    let text = std::fs::read_to_string(&profile).expect("fitted profile");
    assert!(text.contains("twin = \"twin.toml\""), "{text}");

    // The fitted profile is a simulated board like any other (from another directory: the
    // twin file is found beside the profile).
    let model = write(dir.path(), "cnn.onnx", &cnn_onnx(8, 3));
    let (output, stdout, stderr) = run(wattevo()
        .current_dir(std::env::temp_dir())
        .arg("profile")
        .arg(&model)
        .arg("--board")
        .arg(&profile)
        .arg("--json")
        .args(SHORT_PROTOCOL));
    assert!(output.status.success(), "{stderr}");
    let json: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(json["handshake"]["board_name"], "sim-fitted");
    let source = json["source"].as_str().expect("source");
    assert!(source.contains("twin pi4b-fitted-sim v2"), "labelled with the fitted twin: {source}");
    assert_eq!(json["simulated"], Value::Bool(true));
}

#[test]
fn a_board_without_a_twin_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut profile: toml::Value = toml::from_str(include_str!("../../boards/sim.toml")).expect("sim.toml parses");
    let power_model = profile.get_mut("power_model").and_then(toml::Value::as_table_mut).expect("[power_model]");
    power_model.insert("twin".into(), toml::Value::String("no-such-twin.toml".into()));
    let path = write(dir.path(), "broken.toml", toml::to_string(&profile).expect("toml").as_bytes());
    let model = write(dir.path(), "cnn.onnx", &cnn_onnx(4, 1));
    let (output, _, stderr) = run(wattevo().arg("profile").arg(&model).arg("--board").arg(&path).args(SHORT_PROTOCOL));
    assert!(!output.status.success());
    assert!(stderr.contains("no-such-twin.toml"), "names the missing twin file: {stderr}");
}
