//! The CLI's errors for the usual mistakes: a missing port, a profile with a typo, an agent
//! that speaks another protocol version (exit code 3).

mod common;

use common::{boards_dir, cnn_onnx, run, wattevo, write};
use serialport::{SerialPort, TTYPort};
use wattevo::board::fake::{FakeAgent, FakeFaults};

#[test]
fn missing_port_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = write(dir.path(), "cnn.onnx", &cnn_onnx(4, 1));
    let mut command = wattevo();
    command.arg("profile").arg(&model).args(["--board", "pi4b", "--port", "/nonexistent"]);
    let (output, _, stderr) = run(&mut command);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("serial port /nonexistent does not exist"), "{stderr}");
}

#[test]
fn profile_typo_names_file_line_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(boards_dir().join("sim.toml")).expect("sim.toml");
    let broken = text.replacen("noise_w", "noise_watts", 1);
    let line = broken.lines().position(|l| l.contains("noise_watts")).expect("typo") + 1;
    let profile = write(dir.path(), "typo.toml", broken.as_bytes());
    let model = write(dir.path(), "cnn.onnx", &cnn_onnx(4, 1));
    let (output, _, stderr) = run(wattevo().arg("profile").arg(&model).arg("--board").arg(&profile));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let location = format!("{}:{line}:", profile.display());
    assert!(stderr.contains(&location), "want {location} in {stderr}");
    assert!(stderr.contains("key `power_model.noise_watts`") && stderr.contains("unknown field"), "{stderr}");
}

#[test]
fn other_protocol_version_exits_3_with_advice() {
    let (master, slave) = TTYPort::pair().expect("pty");
    let slave_path = slave.name().expect("slave path");
    let faults = FakeFaults { protocol_version: Some(999), ..FakeFaults::default() };
    let agent = std::thread::spawn(move || FakeAgent::new(faults).serve(master));
    let dir = tempfile::tempdir().expect("tempdir");
    let model = write(dir.path(), "cnn.onnx", &cnn_onnx(4, 1));
    let mut command = wattevo();
    command.arg("profile").arg(&model).args(["--board", "sim", "--port", &slave_path]);
    let (output, _, stderr) = run(&mut command);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("protocol version 999, this wattevo speaks {}", wattevo_proto::PROTOCOL_VERSION)),
        "{stderr}"
    );
    assert!(stderr.contains("redeploy the agent"), "{stderr}");
    drop(slave); // no slave left open: the fake agent's reads fail and it returns
    agent.join().expect("fake agent");
}

#[test]
fn evolve_against_another_protocol_version_exits_3() {
    let (master, slave) = TTYPort::pair().expect("pty");
    let slave_path = slave.name().expect("slave path");
    let faults = FakeFaults { protocol_version: Some(999), ..FakeFaults::default() };
    let agent = std::thread::spawn(move || FakeAgent::new(faults).serve(master));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let mut command = wattevo();
    command.args(["evolve", "--board", "sim", "--port", &slave_path, "--generations", "1", "--lambda", "1"]);
    command.args(["--train-epochs", "1", "--json"]).arg("--out").arg(&out);
    let (output, _, stderr) = run(&mut command);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("protocol version 999, this wattevo speaks {}", wattevo_proto::PROTOCOL_VERSION)),
        "{stderr}"
    );
    drop(slave);
    agent.join().expect("fake agent");
}
