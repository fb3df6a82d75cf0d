//! `wattevo evolve` and `wattevo resume` end to end, on the embedded digits and the simulated
//! board: the run directory, a run killed with SIGKILL and resumed, and a board agent that dies
//! in the middle of a run.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::process::{children, log_lines, wait_until};
use common::{run, wattevo};

/// A tiny search: 3 generations of (1+2), 1 s of training, short measurement windows.
fn tiny(command: &mut Command, out: &Path) {
    command
        .args(["evolve", "--generations", "3", "--lambda", "2", "--train-seconds", "1", "--seed", "5"])
        .arg("--out")
        .arg(out);
}

/// SIGKILLs a running `wattevo` and the simulated agents it spawned (as a power cut would).
fn kill_run(child: &mut Child) {
    let agents = children(child.id());
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    for pid in agents {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
}

#[test]
fn evolve_writes_a_complete_run_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let mut command = wattevo();
    tiny(&mut command, &out);
    let (output, stdout, stderr) = run(command.arg("--json"));
    assert!(output.status.success(), "evolve failed: {stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).expect("--json prints the summary");
    assert!(summary["source"].as_str().expect("source").contains("SIMULATED"), "{summary}");
    assert_eq!(summary["generations"], 3);
    for file in [
        "config.toml",
        "log.jsonl",
        "checkpoints/latest.json",
        "checkpoints/gen-0002.json",
        "summary.json",
        "measurements.json",
        "pareto.svg",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let lines = log_lines(&out);
    // 2 random + 2 × (elite + 2 offspring), plus any retrains of the selection rules
    assert!(lines.len() >= 8, "{} log lines", lines.len());
    let valid: Vec<_> = lines.iter().filter(|l| l["evaluation"]["invalid"].is_null()).collect();
    for line in &valid {
        let metrics = &line["evaluation"]["metrics"];
        for key in ["accuracy_0", "accuracy_1", "power_0", "energy_1", "latency_0", "params_0"] {
            assert!(metrics[key].is_number(), "metric {key} missing in {line}");
        }
    }
    for model in summary["best_models"].as_array().expect("best models") {
        let accuracy = model["test_accuracy"].as_f64().expect("test accuracy");
        assert!((0.0..=1.0).contains(&accuracy));
        assert!(Path::new(model["file"].as_str().expect("file")).is_file());
    }
}

#[test]
fn a_run_killed_with_sigkill_resumes_and_finishes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let mut command = wattevo();
    tiny(&mut command, &out);
    let mut child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn evolve");
    // Kill it in the middle of generation 1: after its first checkpoint and one more evaluation.
    wait_until(&mut child, Duration::from_secs(240), || {
        out.join("checkpoints/gen-0000.json").exists() && log_lines(&out).len() > 2
    });
    kill_run(&mut child);
    let before = log_lines(&out).len();
    assert!(before > 2);

    let (output, stdout, stderr) = run(wattevo().arg("resume").arg(&out).arg("--json"));
    assert!(output.status.success(), "resume failed: {stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).expect("summary");
    assert_eq!(summary["generations"], 3);
    let lines = log_lines(&out);
    let mut ids: Vec<u64> = lines.iter().map(|l| l["id"].as_u64().expect("id")).collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "the interrupted generation is logged once, by its replay");
    assert_eq!(ids, (0..count as u64).collect::<Vec<_>>());
}

#[test]
fn a_board_agent_that_dies_mid_run_is_reopened() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let mut command = wattevo();
    tiny(&mut command, &out);
    let mut child = command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn evolve");
    wait_until(&mut child, Duration::from_secs(240), || !log_lines(&out).is_empty());
    let agents = children(child.id());
    assert!(!agents.is_empty(), "the simulated board runs as a child process");
    for pid in agents {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).expect("kill agent");
    }
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the run survives a board restart: {stderr}");
    assert!(out.join("summary.json").is_file());
}

fn latest(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("checkpoints/latest.json")).expect("checkpoint");
    serde_json::from_str(&text).expect("checkpoint JSON")
}

/// (id, genome, fitness) of every logged evaluation.
fn decisions(dir: &Path) -> Vec<(u64, serde_json::Value, serde_json::Value)> {
    log_lines(dir)
        .into_iter()
        .map(|l| (l["id"].as_u64().expect("id"), l["individual"].clone(), l["evaluation"]["fitness"].clone()))
        .collect()
}

/// Runs `flags` to the end in `whole`; then again in `cut`, SIGKILLed once generation 1 is
/// checkpointed and the log holds more than `lines` lines, and resumed. The second run starts
/// with the first one's measurement cache, so the board answers every architecture the same way
/// (epochs, not seconds, make training reproducible).
fn whole_and_resumed(dir: &Path, flags: &[&str], lines: usize) -> (PathBuf, PathBuf) {
    let (whole, cut) = (dir.join("whole"), dir.join("cut"));
    let (output, _, stderr) = run(wattevo().args(flags).arg("--out").arg(&whole));
    assert!(output.status.success(), "uninterrupted run: {stderr}");
    std::fs::create_dir_all(&cut).expect("mkdir");
    std::fs::copy(whole.join("measurements.json"), cut.join("measurements.json")).expect("copy cache");
    let mut child = wattevo()
        .args(flags)
        .arg("--out")
        .arg(&cut)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    wait_until(&mut child, Duration::from_secs(240), || {
        cut.join("checkpoints/gen-0001.json").exists() && log_lines(&cut).len() > lines
    });
    kill_run(&mut child);
    let (output, _, stderr) = run(wattevo().arg("resume").arg(&cut));
    assert!(output.status.success(), "resume: {stderr}");
    (whole, cut)
}

#[test]
fn a_killed_and_resumed_run_ends_with_the_same_genomes_given_the_same_measurements() {
    let dir = tempfile::tempdir().expect("tempdir");
    let flags = ["evolve", "--generations", "4", "--lambda", "2", "--train-epochs", "2", "--seed", "9"];
    let (whole, cut) = whole_and_resumed(dir.path(), &flags, 9);
    assert_eq!(decisions(&cut), decisions(&whole), "same candidates, genomes and fitness in the same order");
    let (a, b) = (latest(&whole), latest(&cut));
    assert_eq!(a["parent"]["individual"], b["parent"]["individual"]);
    assert_eq!(a["best"]["individual"], b["best"]["individual"]);
    assert_eq!(a["archive"], b["archive"]);
}

#[test]
fn an_nsga2_run_killed_and_resumed_ends_as_an_uninterrupted_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let flags = ["evolve", "--strategy", "nsga2", "--mu", "4", "--lambda", "2", "--generations", "4"];
    let flags = [&flags[..], &["--train-epochs", "2", "--seed", "13"]].concat();
    let (whole, cut) = whole_and_resumed(dir.path(), &flags, 6);
    let population = |dir: &Path| latest(dir)["population"].as_array().expect("population").len();
    assert_eq!(population(&whole), 4, "μ survivors in the checkpoint");
    assert_eq!(log_lines(&whole).len(), 4 + 3 * 2, "μ, then λ a generation");
    assert!(whole.join("front.json").is_file());
    assert_eq!(decisions(&cut), decisions(&whole), "same candidates, genomes and fitness in the same order");
    let survivors = |dir: &Path| -> Vec<(serde_json::Value, serde_json::Value)> {
        let checkpoint = latest(dir);
        let members = checkpoint["population"].as_array().cloned().unwrap_or_default();
        members.iter().map(|c| (c["id"].clone(), c["evaluation"]["fitness"].clone())).collect()
    };
    assert_eq!(survivors(&whole), survivors(&cut), "the same survivors");
}

#[test]
fn parallel_and_sequential_evaluation_give_the_same_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (sequential, parallel) = (dir.path().join("sequential"), dir.path().join("parallel"));
    let flags = ["evolve", "--generations", "3", "--lambda", "3", "--train-epochs", "1", "--seed", "11"];
    let same_split = ["--threads-per-job", "1"];
    let (output, _, stderr) =
        run(wattevo().args(flags).args(same_split).args(["--jobs", "1", "--out"]).arg(&sequential));
    assert!(output.status.success(), "sequential run: {stderr}");
    // the same measurements (see the kill-and-resume test): only the schedule differs
    std::fs::create_dir_all(&parallel).expect("mkdir");
    std::fs::copy(sequential.join("measurements.json"), parallel.join("measurements.json")).expect("copy cache");
    let (output, _, stderr) = run(wattevo().args(flags).args(same_split).args(["--jobs", "3", "--out"]).arg(&parallel));
    assert!(output.status.success(), "parallel run: {stderr}");

    assert_eq!(decisions(&parallel), decisions(&sequential), "same candidates, genomes and fitness in the same order");
    let (a, b) = (latest(&sequential), latest(&parallel));
    assert_eq!(a["best"]["individual"], b["best"]["individual"]);
    assert_eq!(a["archive"], b["archive"]);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(parallel.join("summary.json")).expect("summary")).expect("JSON");
    assert_eq!(summary["schedule"]["jobs"], 3);
    assert!(summary["wall"]["train_s"].as_f64().is_some_and(|t| t > 0.0), "{}", summary["wall"]);
}
