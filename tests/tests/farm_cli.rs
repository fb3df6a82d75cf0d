//! A board farm the way a user runs one: `wattevo evolve --board boards/farms/sim3.toml`, three
//! simulated agents measuring in parallel, one killed mid-run.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::process::{children, log_lines, wait_exit, wait_until};
use common::{boards_dir, run, wattevo};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

#[test]
fn a_farm_measures_on_every_board_and_a_dead_board_leaves_it_while_the_run_finishes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let farm = boards_dir().join("farms/sim3.toml");
    let mut child = wattevo()
        .args(["evolve", "--board"])
        .arg(&farm)
        .args(["--board-retries", "0", "--generations", "6", "--lambda", "4", "--train-seconds", "1"])
        .args(["--seed", "3", "--json", "--out"])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn evolve");
    wait_until(&mut child, Duration::from_secs(120), || {
        log_lines(&out).iter().any(|l| l["generation"].as_u64() >= Some(1))
    });
    let agents = children(child.id());
    assert_eq!(agents.len(), 3, "one simulated agent per board: {agents:?}");
    kill(Pid::from_raw(agents[0]), Signal::SIGKILL).expect("kill one agent");
    let status = wait_exit(&mut child, Duration::from_secs(300));
    let (mut stdout, mut stderr) = (String::new(), String::new());
    std::io::Read::read_to_string(child.stdout.as_mut().expect("stdout"), &mut stdout).expect("stdout");
    std::io::Read::read_to_string(child.stderr.as_mut().expect("stderr"), &mut stderr).expect("stderr");
    assert!(status.success(), "the run finishes on the other boards: {stderr}");
    assert!(stderr.contains("leaves the farm"), "{stderr}");

    let summary: Value = serde_json::from_str(&stdout).expect("summary");
    assert_eq!(summary["generations"], 6);
    assert!(summary["source"].as_str().is_some_and(|s| s.contains("SIMULATED") && s.contains("sim-1, sim-2, sim-3")));
    let report = &summary["farm"];
    let retired = report["retired"].as_array().expect("retired boards");
    assert_eq!(retired.len(), 1, "{report}");
    let gone = retired[0]["id"].as_str().expect("id").to_owned();

    // every candidate carries the board that measured it; after the board left, only the two
    // others measure
    let lines = log_lines(&out);
    let board_of = |l: &Value| l["evaluation"]["board"].as_str().unwrap_or_default().to_owned();
    assert!(lines.iter().all(|l| board_of(l).starts_with("sim-")), "every evaluation names its board");
    let last = lines.iter().filter(|l| l["generation"] == 5).map(board_of).collect::<Vec<_>>();
    assert!(!last.is_empty() && !last.contains(&gone), "generation 5 measured on {last:?}, {gone} left");
    let used: std::collections::BTreeSet<String> = lines.iter().map(board_of).collect();
    assert!(used.len() >= 2, "the farm shared the work: {used:?}");

    // calibration records: every board measured the reference model at the start; the boards
    // differ (drawn from sim.toml's [tolerance]) but agree within a few percent
    let records: Vec<Value> = std::fs::read_to_string(out.join("farm.jsonl"))
        .expect("farm.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("record"))
        .collect();
    let first: Vec<&Value> = records.iter().filter(|r| r["generation"] == 0).collect();
    assert_eq!(first.len(), 3, "{records:?}");
    let idles: Vec<f64> = first.iter().map(|r| r["idle_w"].as_f64().expect("idle")).collect();
    assert!(idles.iter().all(|w| (2.4..3.0).contains(w)), "{idles:?}");
    assert!(idles.windows(2).any(|w| (w[0] - w[1]).abs() > 0.005), "boards of one kind differ: {idles:?}");
    let spread = report["reference_energy_spread_pct"].as_f64().expect("spread");
    assert!(spread > 0.0 && spread < 25.0, "{spread}");

    // front models measured again on another board, which is never the one that left
    let checks = report["cross_checks"].as_array().expect("cross checks");
    assert!(!checks.is_empty(), "{report}");
    for check in checks {
        assert_ne!(check["first_board"], check["second_board"], "{check}");
        assert_ne!(check["second_board"].as_str(), Some(gone.as_str()), "{check}");
        assert!(check["difference_pct"].as_f64().is_some_and(|d| d.abs() < 25.0), "{check}");
    }
    assert!(report["cross_check_median_abs_pct"].as_f64().is_some());
}

#[test]
fn a_bad_farm_file_is_refused_before_a_run_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let farm = dir.path().join("farm.toml");
    std::fs::write(&farm, "[[board]]\nprofile = \"sim\"\ncount = 0\n").expect("write");
    let out = dir.path().join("run");
    let (output, _, stderr) = run(wattevo().args(["evolve", "--board"]).arg(&farm).arg("--out").arg(&out));
    assert!(!output.status.success());
    assert!(stderr.contains("farm.toml") && stderr.contains("count = 0"), "{stderr}");
    assert!(!out.exists(), "nothing was started");

    std::fs::write(&farm, "[[board]]\nprofile = \"sim\"\ncount = 2\n").expect("write");
    let (output, _, stderr) =
        run(wattevo().args(["evolve", "--port", "/dev/ttyUSB0", "--board"]).arg(&farm).arg("--out").arg(&out));
    assert!(!output.status.success());
    assert!(stderr.contains("--port does not apply to a farm"), "{stderr}");

    // boards of two kinds: refused, as their figures do not compare
    let sim = std::fs::read_to_string(boards_dir().join("sim.toml")).expect("sim.toml");
    std::fs::write(dir.path().join("sim.toml"), &sim).expect("write");
    let other = sim.replacen("name = \"sim\"", "name = \"sim-pi5\"", 1).replacen(
        "[power_model]",
        "[power_model]\ntwin = \"pi5\"",
        1,
    );
    std::fs::write(dir.path().join("sim-pi5.toml"), other).expect("write");
    std::fs::write(&farm, "[[board]]\nprofile = \"sim.toml\"\n[[board]]\nprofile = \"sim-pi5.toml\"\n").expect("write");
    let (output, _, stderr) = run(wattevo().args(["evolve", "--board"]).arg(&farm).arg("--out").arg(&out));
    assert!(!output.status.success());
    assert!(stderr.contains("mixes kinds of board") && stderr.contains("sim-pi5"), "{stderr}");
}

#[test]
fn a_shared_cache_spares_a_second_run_every_measurement() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    let flags = ["evolve", "--generations", "2", "--lambda", "2", "--train-epochs", "1", "--seed", "5", "--json"];
    let mut metrics = Vec::new();
    for name in ["first", "second"] {
        let out = dir.path().join(name);
        let (output, stdout, stderr) = run(wattevo().args(flags).arg("--cache").arg(&cache).arg("--out").arg(&out));
        assert!(output.status.success(), "{name}: {stderr}");
        let summary: Value = serde_json::from_str(&stdout).expect("summary");
        let energies: Vec<Value> =
            log_lines(&out).iter().map(|l| l["evaluation"]["metrics"]["energy_0"].clone()).collect();
        metrics.push((summary["stats"]["cache_hits"].as_u64().expect("hits"), energies));
    }
    assert!(std::fs::read_dir(&cache).expect("cache dir").count() > 0, "one file per measurement");
    let ((_, first), (hits, second)) = (&metrics[0], &metrics[1]);
    // the same candidates (epoch budget), and every figure the same to the last bit: measured
    // noise would differ, so each came from the first run's measurements
    assert_eq!(first, second);
    assert!(*hits as usize >= second.iter().filter(|e| e.is_number()).count(), "{hits} cache hits");
}
