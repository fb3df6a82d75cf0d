//! The reference method when asked: `wattevo evolve --reference` records every reference setting
//! and runs; the reference code's own grammar files parse unchanged (`wattevo grammar check`)
//! and `wattevo sample` draws from them.

mod common;

use std::path::PathBuf;

use common::{run, wattevo};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/reference-grammars").join(name)
}

const REFERENCE_GRAMMARS: [&str; 5] =
    ["energize.grammar", "denser.grammar", "example.grammar", "example_full.grammar", "simple_grammar.grammar"];

#[test]
fn the_reference_grammar_files_parse_unchanged() {
    for name in REFERENCE_GRAMMARS {
        let (output, stdout, stderr) = run(wattevo().args(["grammar", "check"]).arg(fixture(name)));
        assert!(output.status.success(), "{name}: {stderr}");
        assert!(stdout.contains(" rules, "), "{name}: {stdout}");
    }
    let (_, stdout, _) = run(wattevo().args(["grammar", "check"]).arg(fixture("energize.grammar")));
    assert!(stdout.contains("--space paper: usable"), "{stdout}");
    assert!(stdout.contains("<model_partition> ::= model_partition:_ [partition_point,int,1,0,_]"), "{stdout}");
    let (_, stdout, _) = run(wattevo().args(["grammar", "check"]).arg(fixture("example_full.grammar")));
    assert!(stdout.contains("[batch_size,int_power2,1,5,12]"), "{stdout}");
    assert!(stdout.contains("--space small: not usable"), "no <classification> rule: {stdout}");
    let (_, stdout, _) = run(wattevo().args(["grammar", "check", "--json"]).arg(fixture("simple_grammar.grammar")));
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("--json");
    assert_eq!(json["rules"]["op"].as_array().map(Vec::len), Some(4), "{json}");
    // a broken grammar says where
    let dir = tempfile::tempdir().expect("tempdir");
    let broken = dir.path().join("broken.grammar");
    std::fs::write(&broken, "<a> ::= [n,int_power3,1,0,2]\n").expect("write");
    let (output, _, stderr) = run(wattevo().args(["grammar", "check"]).arg(&broken));
    assert!(!output.status.success());
    assert!(stderr.contains("broken.grammar:1:9") && stderr.contains("int_power2"), "{stderr}");
}

#[test]
fn sample_draws_from_the_reference_grammars() {
    let allowed = ["(", ")", "+", "-", "/", "*", "1", "2", "3", "X"];
    for seed in 0..5 {
        let (output, stdout, stderr) = run(wattevo()
            .args(["sample", "--symbol", "expr", "--seed", &seed.to_string(), "--grammar"])
            .arg(fixture("simple_grammar.grammar")));
        assert!(output.status.success(), "seed {seed}: {stderr}");
        assert!(stdout.split_whitespace().all(|t| allowed.contains(&t)), "seed {seed}: {stdout}");
    }
    let (output, stdout, stderr) = run(wattevo()
        .args(["sample", "--symbol", "learning", "--seed", "2", "--json", "--grammar"])
        .arg(fixture("example_full.grammar")));
    assert!(output.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("--json");
    let derivation = json["derivation"].as_str().expect("a derivation");
    let batch: i64 = derivation
        .split_whitespace()
        .find_map(|t| t.strip_prefix("batch_size:"))
        .and_then(|v| v.parse().ok())
        .expect("a batch size");
    assert!(batch.count_ones() == 1 && (32..=4096).contains(&batch), "2^5..2^12: {derivation}");
    // a network from the reference's own energize.grammar, at the reference's 32×32
    let valid = (0..10).any(|seed| {
        let (output, stdout, _) = run(wattevo()
            .args(["sample", "--preset", "paper", "--seed", &seed.to_string(), "--grammar"])
            .arg(fixture("energize.grammar")));
        output.status.success() && stdout.contains("layer:fc act:softmax")
    });
    assert!(valid, "no valid network in 10 seeds");
    let (output, _, stderr) =
        run(wattevo().args(["sample", "--symbol", "nope", "--seed", "1", "--grammar"]).arg(fixture("example.grammar")));
    assert!(
        !output.status.success() && stderr.contains("no rule for <nope>") && stderr.contains("features"),
        "{stderr}"
    );
}

#[test]
fn evolve_reference_records_every_reference_setting_and_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let flags = ["evolve", "--reference", "--space", "paper", "--generations", "2", "--lambda", "1"];
    let (output, stdout, stderr) =
        run(wattevo().args(flags).args(["--train-seconds", "1", "--seed", "3", "--json", "--out"]).arg(&out));
    assert!(output.status.success(), "evolve --reference failed: {stderr}");
    let config = std::fs::read_to_string(out.join("config.toml")).expect("config.toml");
    for line in [
        "reference = true",
        "preset = \"paper\"",
        "resize = 32",
        "pool_padding = \"reference\"",
        "loss = \"double_softmax\"",
        "lars_schedule = \"reference\"",
        "train_longer_optimizer = \"fresh\"",
        "shuffle = false",
        "budget_check = \"epoch\"",
        "measure_batch = \"evolved\"",
        "retrain = \"reference\"",
        "archive = \"reference\"",
        "unsuffixed_metrics = \"two_head\"",
        "inherit_weights = false",
        "init_draws = 0",
    ] {
        assert!(config.lines().any(|l| l == line), "config.toml lacks `{line}`:\n{config}");
    }
    assert!(!config.contains("race_margin"), "no racing under --reference:\n{config}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).expect("--json summary");
    assert_eq!(summary["method"]["reference"], true);
    assert_eq!(summary["method"]["settings"]["resize"], 32);
    assert_eq!(summary["method"]["settings"]["archive"], "reference");
    let gaps = summary["method"]["not_reproduced"].as_array().expect("what is not reproduced yet");
    assert!(gaps.iter().any(|g| g.as_str().is_some_and(|g| g.contains("board"))), "{gaps:?}");
    // the two-head network was measured: its figures are the unsuffixed metrics
    let metrics = &summary["best_metrics"];
    if metrics.get("power_1").is_some() && metrics["params_0"] != metrics["params_1"] {
        assert!(metrics["power"].as_f64().is_some_and(|p| p > 0.0), "{metrics}");
        assert!(metrics["energy"].as_f64() >= metrics["energy_1"].as_f64(), "both heads cost more: {metrics}");
    }
    // the reference's archive holds every module state the run went through
    let archived = summary["archived_modules"].as_u64().expect("archived_modules");
    assert!(archived >= 2, "{archived} archived states");
    // a flag contrary to the reference is refused before anything runs
    let refused = dir.path().join("refused");
    let (output, _, stderr) = run(wattevo().args(flags).args(["--loss", "logits", "--out"]).arg(&refused));
    assert!(!output.status.success());
    assert!(stderr.contains("drop --loss logits"), "{stderr}");
    assert!(!refused.exists(), "a refused run leaves no directory");
}
