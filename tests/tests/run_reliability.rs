//! A run directory under a hostile but fair user (issue 11): two terminals on one directory,
//! signals, a directory of another program, a full disk, an edited config, bad settings, a run
//! in which nothing is valid.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::process::{assert_dead_soon, children, log_text, wait_exit, wait_until};
use common::{run, wattevo};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A run of a few generations, slow enough to be interrupted.
fn long(command: &mut Command, out: &Path) {
    command
        .args(["evolve", "--generations", "4", "--lambda", "2", "--train-seconds", "1", "--seed", "5"])
        .arg("--out")
        .arg(out);
}

/// The smallest real run: one generation of (1+1), one epoch.
fn tiny(command: &mut Command, out: &Path) {
    command
        .args(["evolve", "--generations", "1", "--lambda", "1", "--train-epochs", "1", "--seed", "3"])
        .arg("--out")
        .arg(out);
}

fn log_ids(dir: &Path) -> Vec<u64> {
    common::process::log_lines(dir).iter().map(|l| l["id"].as_u64().expect("id")).collect()
}

fn signal(child: &Child, signal: Signal) {
    kill(Pid::from_raw(i32::try_from(child.id()).expect("pid")), signal).expect("send signal");
}

fn resume_succeeds(out: &Path) {
    let (output, _, stderr) = run(wattevo().arg("resume").arg(out));
    assert!(output.status.success(), "resume: {stderr}");
    let mut ids = log_ids(out);
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "each candidate logged once");
}

#[test]
fn a_second_run_on_the_same_directory_is_refused_naming_the_holder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let mut command = wattevo();
    long(&mut command, &out);
    let mut first = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn evolve");
    wait_until(&mut first, Duration::from_secs(240), || !log_text(&out).is_empty());

    let holder = format!("pid {}", first.id());
    for args in [vec!["evolve", "--out"], vec!["resume"]] {
        let started = Instant::now();
        let (output, _, stderr) = run(wattevo().args(&args).arg(&out));
        assert!(!output.status.success(), "{args:?} ran beside another run");
        assert!(stderr.contains("in use") && stderr.contains(&holder), "{args:?}: {stderr}");
        assert!(started.elapsed() < Duration::from_secs(20), "refused at once");
    }
    signal(&first, Signal::SIGKILL);
    first.wait().expect("reap");
}

#[test]
fn sigterm_stops_the_agents_saves_and_exits_143_and_the_run_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let mut command = wattevo();
    long(&mut command, &out);
    let mut child = command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn evolve");
    wait_until(&mut child, Duration::from_secs(240), || !log_text(&out).is_empty());
    let agents = children(child.id());
    assert!(!agents.is_empty(), "the simulated board runs as a child");
    signal(&child, Signal::SIGTERM);
    let status = wait_exit(&mut child, Duration::from_secs(60));
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().expect("stderr"), &mut stderr).expect("stderr");
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("signal 15") && stderr.contains("resume"), "{stderr}");
    assert_dead_soon(&agents);
    assert!(!log_text(&out).contains('\0'));
    assert_eq!(std::fs::read_to_string(out.join("run.lock")).expect("lock file"), "", "released cleanly");
    resume_succeeds(&out);
}

#[test]
fn a_simulated_agent_that_dies_mid_measurement_is_reported_at_once_with_its_exit_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = common::write(dir.path(), "cnn.onnx", &common::cnn_onnx(32, 1));
    // One 10-minute window of board time: the measurement's own deadline is longer still.
    let mut child = wattevo()
        .arg("profile")
        .arg(&model)
        .args(["--board", "sim", "--idle-ms", "100", "--min-duration-ms", "600000", "--repetitions", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn profile");
    let started = Instant::now();
    wait_until(&mut child, Duration::from_secs(60), || started.elapsed() > Duration::from_secs(3));
    let agents = children(child.id());
    assert_eq!(agents.len(), 1, "one simulated agent");
    kill(Pid::from_raw(agents[0]), Signal::SIGKILL).expect("kill the agent");
    let killed = Instant::now();
    let status = wait_exit(&mut child, Duration::from_secs(30));
    assert!(killed.elapsed() < Duration::from_secs(10), "noticed in {:?}", killed.elapsed());
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().expect("stderr"), &mut stderr).expect("stderr");
    assert!(!status.success());
    assert!(stderr.contains("agent") && stderr.contains("exited") && stderr.contains("SIGKILL"), "{stderr}");
    assert_dead_soon(&agents);
}

#[test]
fn a_second_ctrl_c_exits_at_once_with_130() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let mut command = wattevo();
    long(&mut command, &out);
    let mut child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn evolve");
    wait_until(&mut child, Duration::from_secs(240), || !log_text(&out).is_empty());
    let agents = children(child.id());
    signal(&child, Signal::SIGINT);
    std::thread::sleep(Duration::from_millis(200));
    signal(&child, Signal::SIGINT);
    let status = wait_exit(&mut child, Duration::from_secs(3));
    assert_eq!(status.code(), Some(130));
    assert_dead_soon(&agents);
    resume_succeeds(&out);
}

#[test]
fn out_into_a_directory_of_another_program_is_refused_unless_forced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("project");
    std::fs::create_dir(&out).expect("mkdir");
    std::fs::write(out.join("config.toml"), "[package]\nname = \"mine\"\n").expect("write");
    std::fs::write(out.join("summary.json"), "{\"total\": 3}").expect("write");
    let mut command = wattevo();
    tiny(&mut command, &out);
    let (output, _, stderr) = run(&mut command);
    assert!(!output.status.success());
    assert!(stderr.contains("not a wattevo run") && stderr.contains("--force"), "{stderr}");
    assert_eq!(std::fs::read_to_string(out.join("config.toml")).expect("kept"), "[package]\nname = \"mine\"\n");
    assert!(!out.join("log.jsonl").exists());

    let mut command = wattevo();
    tiny(&mut command, &out);
    let (output, _, stderr) = run(command.arg("--force"));
    assert!(output.status.success(), "--force: {stderr}");

    // the same directory is now a run: evolve points at resume, and resume refuses a config
    // edited to another λ but accepts more generations
    let mut command = wattevo();
    tiny(&mut command, &out);
    let (output, _, stderr) = run(&mut command);
    assert!(!output.status.success() && stderr.contains("wattevo resume"), "{stderr}");
    let config = std::fs::read_to_string(out.join("config.toml")).expect("config");
    std::fs::write(out.join("config.toml"), config.replace("lambda = 1", "lambda = 3")).expect("edit");
    let (output, _, stderr) = run(wattevo().arg("resume").arg(&out));
    assert!(!output.status.success());
    assert!(stderr.contains("lambda (1 → 3)") && stderr.contains("generations, port"), "{stderr}");
    std::fs::write(out.join("config.toml"), config.replace("generations = 1", "generations = 2")).expect("edit");
    let (output, _, stderr) = run(wattevo().arg("resume").arg(&out));
    assert!(output.status.success(), "more generations is a safe edit: {stderr}");
}

#[test]
fn a_disk_error_while_saving_weights_stops_the_run_and_the_candidate_is_evaluated_on_resume() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let mut command = wattevo();
    tiny(&mut command, &out);
    let (output, _, stderr) = run(&mut command);
    assert!(output.status.success(), "{stderr}");
    let logged = log_ids(&out).len();
    let checkpoint = std::fs::read(out.join("checkpoints/latest.json")).expect("checkpoint");
    // the weights directory cannot be written (as a full disk would refuse it)
    std::fs::rename(out.join("weights"), out.join("weights.saved")).expect("move");
    std::fs::write(out.join("weights"), b"not a directory").expect("block");
    let (output, _, stderr) = run(wattevo().arg("resume").arg(&out).args(["--generations", "2"]));
    assert!(!output.status.success(), "a host I/O error stops the run");
    assert!(stderr.contains("weights") && stderr.contains("resume"), "{stderr}");
    let after = std::fs::read(out.join("checkpoints/latest.json")).expect("checkpoint");
    assert_eq!(after, checkpoint, "nothing of the failed generation (no invalid candidate) is checkpointed");
    assert_eq!(log_ids(&out).len(), logged, "nor logged");
    std::fs::remove_file(out.join("weights")).expect("unblock");
    std::fs::rename(out.join("weights.saved"), out.join("weights")).expect("restore");
    let (output, _, stderr) = run(wattevo().arg("resume").arg(&out).args(["--generations", "2"]));
    assert!(output.status.success(), "{stderr}");
    assert!(log_ids(&out).len() > logged);
}

#[test]
fn a_run_where_every_candidate_is_invalid_says_so_and_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let config = dir.path().join("bad-fitness.toml");
    std::fs::write(&config, "[[fitness]]\nmetric = \"no_such_metric_0\"\nobjective = \"maximize\"\n").expect("write");
    let mut command = wattevo();
    tiny(&mut command, &out);
    let (output, stdout, stderr) = run(command.arg("--config").arg(&config));
    assert!(!output.status.success(), "{stdout}");
    assert!(stderr.contains("nothing valid was found"), "{stderr}");
    assert!(!stdout.contains("NaN"), "{stdout}");
}

/// `boards/sim.toml` asking for a million runs per window: every model is too slow for it.
fn too_slow_profile(dir: &Path) -> std::path::PathBuf {
    let text = include_str!("../../boards/sim.toml").replacen("min_runs = 10", "min_runs = 1000000", 1);
    assert!(text.contains("min_runs = 1000000"), "sim.toml sets min_runs = 10");
    let path = dir.join("slow-sim.toml");
    std::fs::write(&path, text).expect("write profile");
    path
}

#[test]
fn a_model_too_slow_for_the_protocol_is_refused_at_once_and_is_an_invalid_candidate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = too_slow_profile(dir.path());
    let model = common::write(dir.path(), "cnn.onnx", &common::cnn_onnx(8, 2));
    let started = Instant::now();
    let (output, _, stderr) = run(wattevo().arg("profile").arg(&model).arg("--board").arg(&profile));
    assert!(!output.status.success());
    assert!(stderr.contains("TooSlow") && stderr.contains("per run"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(30), "answered, not timed out");

    // In a run, such a model is an invalid candidate with that reason; the run goes on to its end.
    let out = dir.path().join("run");
    let mut command = wattevo();
    tiny(&mut command, &out);
    let (output, stdout, stderr) = run(command.arg("--board").arg(&profile));
    assert!(!output.status.success() && stderr.contains("nothing valid was found"), "{stdout}{stderr}");
    let log = log_text(&out);
    assert!(log.contains("TooSlow"), "the log gives the reason: {log}");
}

#[test]
fn bad_settings_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let cases: [(&[&str], &str); 3] = [
        (&["--generations", "0"], "generations must be at least 1"),
        (&["--dataset", "fashion-mnist", "--data-dir", "/no/such/dir"], "/no/such/dir"),
        (&["--data-dir", "/"], "embedded"),
    ];
    for (flags, expected) in cases {
        let (output, _, stderr) = run(wattevo().arg("evolve").args(flags).arg("--out").arg(&out));
        assert!(!output.status.success(), "{flags:?}");
        assert!(stderr.contains(expected), "{flags:?}: {stderr}");
        assert!(!out.exists(), "{flags:?} wrote the run directory");
    }
    // a named directory that lacks the files is an error, not a reason to use another copy
    let empty = tempfile::tempdir().expect("tempdir");
    let (output, _, stderr) = run(wattevo()
        .args(["evolve", "--dataset", "fashion-mnist", "--data-dir"])
        .arg(empty.path())
        .arg("--out")
        .arg(&out));
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains(&empty.path().display().to_string()), "{stderr}");
    assert!(!out.exists(), "a dataset that does not load leaves no run directory");
    let (output, _, stderr) = run(wattevo().args(["profile", "--repetitions", "0", "model.onnx"]));
    assert_eq!(output.status.code(), Some(2), "{stderr}");
}
