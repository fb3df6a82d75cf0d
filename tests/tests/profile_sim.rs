//! `wattevo profile` on `--board sim`: the real CLI, the real agent, a real pseudo-terminal, a
//! real ONNX model; checks that the figures hang together and are labelled simulated.

mod common;

use common::{SHORT_PROTOCOL, boards_dir, cnn_onnx, number, run, wattevo, write};
use serde_json::Value;

#[test]
fn profile_json_is_consistent_and_labelled_simulated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = write(dir.path(), "cnn.onnx", &cnn_onnx(8, 7));
    let (output, stdout, stderr) =
        run(wattevo().arg("profile").arg(&model).args(["--board", "sim", "--json"]).args(SHORT_PROTOCOL));
    assert!(output.status.success(), "wattevo failed: {stderr}");
    let json: Value = serde_json::from_str(&stdout).expect("one JSON object on stdout");
    assert_eq!(json["simulated"], Value::Bool(true));
    assert!(json["source"].as_str().is_some_and(|s| s.starts_with("SIMULATED")), "{}", json["source"]);
    assert_eq!(json["handshake"]["board_name"], "sim");
    assert_eq!(json["measurement"]["repetitions"], 3);
    assert_eq!(json["model"]["input_shape"], serde_json::json!([1, 1, 28, 28]));

    let m = &json["measurement"];
    let idle_w = number(m, "/idle_power_w");
    let total_w = number(m, "/total_power_w/mean");
    let dynamic_w = number(m, "/dynamic_power_w/mean");
    let energy_j = number(m, "/energy_per_inference_j/mean");
    let dynamic_energy_j = number(m, "/dynamic_energy_per_inference_j/mean");
    let latency_s = number(m, "/latency_mean_us") * 1e-6;
    assert!(idle_w > 0.0 && total_w > idle_w, "idle {idle_w} W, total {total_w} W");
    // dynamic = total − idle, up to float rounding
    assert!((dynamic_w - (total_w - idle_w)).abs() <= 1e-6 * total_w, "{dynamic_w} vs {total_w} − {idle_w}");
    // energy per inference ≈ mean power × time per inference; the time per inference in a
    // window includes the loop's own overhead, so the product is a lower bound within sampling
    // error, and the two agree within the 95 % CI plus 25 % (loop overhead on a busy host).
    let energy_ci = number(m, "/energy_per_inference_j/ci95");
    let product_j = total_w * latency_s;
    assert!(energy_j >= product_j * 0.95 - energy_ci, "E {energy_j} J < P·L {product_j} J");
    assert!(energy_j <= product_j * 1.25 + energy_ci, "E {energy_j} J ≫ P·L {product_j} J");
    // dynamic energy per inference ≈ dynamic power × time per inference, same window
    let ratio = dynamic_energy_j / energy_j;
    assert!((ratio - dynamic_w / total_w).abs() < 0.05, "dynamic share {ratio} vs {}", dynamic_w / total_w);
}

#[test]
fn a_profile_asking_for_two_tract_threads_gets_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = std::fs::read_to_string(boards_dir().join("sim.toml")).expect("read sim.toml");
    assert!(sim.contains("tract_threads = 1"), "sim.toml sets tract_threads");
    let board =
        write(dir.path(), "sim-2threads.toml", sim.replace("tract_threads = 1", "tract_threads = 2").as_bytes());
    let model = write(dir.path(), "cnn.onnx", &cnn_onnx(32, 2));
    let (output, stdout, stderr) =
        run(wattevo().arg("profile").arg(&model).arg("--board").arg(&board).arg("--json").args(SHORT_PROTOCOL));
    assert!(output.status.success(), "wattevo failed: {stderr}");
    let json: Value = serde_json::from_str(&stdout).expect("one JSON object on stdout");
    assert_eq!(json["handshake"]["cpu"]["tract_threads"], 2);
    assert!(number(&json["measurement"], "/inferences") > 0.0);
    assert!(number(&json["measurement"], "/energy_per_inference_j/mean") > 0.0);
}

#[test]
fn profile_table_labels_every_figure_simulated_from_any_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = write(dir.path(), "cnn.onnx", &cnn_onnx(4, 11));
    let mut command = wattevo();
    command.current_dir(dir.path()).arg("profile").arg(&model).args(["--board", "sim"]).args(SHORT_PROTOCOL);
    let (output, stdout, stderr) = run(&mut command);
    assert!(output.status.success(), "wattevo failed: {stderr}");
    eprintln!("{stdout}"); // shown with --nocapture
    for figure in ["idle power", "total power", "dynamic power", "energy/inference", "dynamic energy/inf."] {
        let line = stdout.lines().find(|l| l.starts_with(figure)).unwrap_or_else(|| panic!("{figure}: {stdout}"));
        assert!(line.ends_with("SIMULATED"), "{line}");
    }
    assert!(stdout.contains("all power and energy figures: SIMULATED (emulated INA219"), "{stdout}");
    assert!(stdout.contains("link       board sim on /dev/pts/"), "{stdout}");
}

#[test]
fn boards_lists_bundled_profiles_and_checks_the_sim_wiring() {
    let (output, stdout, stderr) = run(wattevo().args(["boards", "--json"]));
    assert!(output.status.success(), "{stderr}");
    let list: Value = serde_json::from_str(&stdout).expect("json");
    let names: Vec<&str> = list.as_array().expect("array").iter().filter_map(|b| b["name"].as_str()).collect();
    assert_eq!(names, ["sim", "pi4b", "pi5", "pizero2w"]);

    let (output, stdout, stderr) =
        run(wattevo().args(["boards", "--check", "--board", "sim", "--duration-ms", "300", "--json"]));
    assert!(output.status.success(), "{stderr}");
    let check: Value = serde_json::from_str(&stdout).expect("json");
    let reading = &check["reading"];
    let (volts, amps, watts) =
        (number(reading, "/bus_voltage_v"), number(reading, "/current_a"), number(reading, "/power_w"));
    assert!(volts > 4.5 && volts < 5.5, "bus {volts} V");
    // P ≈ V × I within the INA219's quantisation and the noise
    assert!((watts - volts * amps).abs() < 0.05 * watts, "{watts} W vs {volts} V × {amps} A");
    assert_eq!(check["simulated"], Value::Bool(true));
}

#[test]
fn profile_measures_a_network_exported_by_wattevo_sample() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("sampled.onnx");
    let (output, _, stderr) = run(wattevo().args(["sample", "--seed", "3", "--export"]).arg(&model));
    assert!(output.status.success(), "wattevo sample failed: {stderr}");
    let (output, stdout, stderr) =
        run(wattevo().arg("profile").arg(&model).args(["--board", "sim", "--json"]).args(SHORT_PROTOCOL));
    assert!(output.status.success(), "wattevo profile failed: {stderr}");
    let json: Value = serde_json::from_str(&stdout).expect("one JSON object on stdout");
    let m = &json["measurement"];
    let (idle_w, total_w, dynamic_w) =
        (number(m, "/idle_power_w"), number(m, "/total_power_w/mean"), number(m, "/dynamic_power_w/mean"));
    assert!((dynamic_w - (total_w - idle_w)).abs() <= 1e-6 * total_w, "{dynamic_w} vs {total_w} − {idle_w}");
    assert!(number(m, "/inferences") > 0.0 && number(m, "/energy_per_inference_j/mean") > 0.0);
    assert_eq!(json["simulated"], Value::Bool(true));
}
