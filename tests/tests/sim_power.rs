//! The simulated board's figures against its profile: idle power equals the profile's idle
//! power within the emulated INA219's resolution and the noise, and dynamic energy per
//! inference grows with model size. Figures here are SIMULATED by construction.

mod common;

use common::{cnn_onnx, run, wattevo, write};
use serde_json::Value;

fn measure(model: &std::path::Path) -> Value {
    let args = ["--board", "sim", "--json", "--idle-ms", "300", "--min-duration-ms", "300", "--repetitions", "3"];
    let (output, stdout, stderr) = run(wattevo().arg("profile").arg(model).args(args));
    assert!(output.status.success(), "wattevo profile failed: {stderr}");
    serde_json::from_str(&stdout).expect("JSON")
}

fn number(v: &Value, path: &str) -> f64 {
    v.pointer(path).and_then(Value::as_f64).unwrap_or_else(|| panic!("{path} missing in {v}"))
}

#[test]
fn idle_matches_the_profile_and_dynamic_energy_grows_with_model_size() {
    let profile: toml::Value =
        toml::from_str(&std::fs::read_to_string(common::boards_dir().join("sim.toml")).expect("sim.toml"))
            .expect("valid TOML");
    let idle_w = profile["power_model"]["idle_w"].as_float().expect("idle_w");
    let noise_w = profile["power_model"]["noise_w"].as_float().expect("noise_w");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut dynamic_energy = Vec::new();
    for channels in [4, 16, 64] {
        let model = write(dir.path(), &format!("cnn{channels}.onnx"), &cnn_onnx(channels, 3));
        let json = measure(&model);
        let m = &json["measurement"];
        let hello = &json["handshake"]["sensor"];
        // The chip's resolution: one shunt-ADC step (10 µV across the shunt), one bus-ADC step
        // (4 mV) and one current-register step, each turned into watts at the idle operating
        // point; plus the mean of the Gaussian noise over the idle samples (4 standard errors).
        let bus_v = number(hello, "/bus_voltage_v");
        let idle_a = idle_w / bus_v;
        let quantisation_w =
            10e-6 / number(hello, "/shunt_ohms") * bus_v + 4e-3 * idle_a + number(hello, "/current_lsb_a") * bus_v;
        let samples = (number(m, "/sample_rate_hz") * 0.3).max(1.0);
        let tolerance_w = quantisation_w + 4.0 * noise_w / samples.sqrt();
        for key in ["/idle_before_w", "/idle_after_w"] {
            let measured = number(m, key);
            assert!(
                (measured - idle_w).abs() <= tolerance_w,
                "{key} {measured} W vs profile {idle_w} W ± {tolerance_w}"
            );
        }
        dynamic_energy.push(number(m, "/dynamic_energy_per_inference_j/mean"));
    }
    assert!(dynamic_energy.windows(2).all(|w| w[0] < w[1]), "dynamic energy per inference by size: {dynamic_energy:?}");
}
