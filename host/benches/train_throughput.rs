//! Training throughput of wattevo's own trainer (burn-flex, autodiff) on the CPU, in images per
//! second, for one network per process. Not a test: `scripts/bench_train_vs_pytorch.sh` runs it
//! interleaved with the same network in PyTorch (`scripts/bench_train_vs_pytorch.py`) and prints
//! the ratios.
//!
//! One process measures one network: a warm-up run (excluded), then one timed run, Adam 1e-3,
//! batch 64, random inputs already in memory, only batch steps counted (validation excluded).
//! It prints one JSON line: `{"side":"burn","network":…,"images_per_s":…,"peak_rss_mb":…,
//! "train_rss_mb":…}`. Threads: rayon's global pool (`RAYON_NUM_THREADS`).
//!
//! ```text
//! train_throughput --network cnn|small_cnn|mlp|FILE.json [--seconds 5] [--warmup 2]
//! train_throughput --describe NETWORK          # the network as NetSpec JSON (for PyTorch)
//! train_throughput --export-run RUN --out DIR  # the front members of a run, one JSON each
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wattevo::evolve::runlog::read_log;
use wattevo::genome::{LearningSpec, Optimiser};
use wattevo::netspec::{Activation, LayerSpec, NetSpec, Padding, PoolKind, Shape, SpecRules};
use wattevo::nn::train::{Samples, TrainOptions, Trainer};
use wattevo::nn::{Model, training_device};
use wattevo::run::{EvolveConfig, load_data, search_space};

/// The allocator of the `wattevo` binary (host/src/main.rs), so the figures are the application's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SAMPLES: usize = 4096;
const BATCH: usize = 64;

fn conv(out_channels: usize, padding: Padding) -> LayerSpec {
    LayerSpec::Conv { out_channels, kernel: 3, stride: 1, padding, activation: Activation::Relu, bias: true }
}

/// The three fixed networks of the benchmark, on 1×28×28 inputs, 10 classes.
fn fixed_network(name: &str) -> Option<NetSpec> {
    let pool = LayerSpec::Pool { kind: PoolKind::Max, kernel: 2, stride: 2, padding: Padding::Valid };
    let fc = |n| LayerSpec::Dense { out_features: n, activation: Activation::Relu, bias: true };
    let layers = match name {
        "cnn" => vec![conv(32, Padding::Same), pool.clone(), conv(64, Padding::Same), pool, fc(128)],
        "small_cnn" => vec![conv(8, Padding::Valid), pool, fc(64)],
        "mlp" => vec![fc(256)],
        _ => return None,
    };
    let input = Shape::Image { channels: 1, height: 28, width: 28 };
    Some(NetSpec::build(input, 10, &layers, None, SpecRules::default()).expect("valid network"))
}

/// A fixed network by name, or a NetSpec JSON file (`--describe`, `--export-run`).
fn network(arg: &str) -> anyhow::Result<NetSpec> {
    if let Some(spec) = fixed_network(arg) {
        return Ok(spec);
    }
    let text =
        std::fs::read_to_string(arg).with_context(|| format!("{arg}: not a fixed network nor a readable file"))?;
    serde_json::from_str(&text).with_context(|| format!("{arg} is not a NetSpec JSON file"))
}

fn dims(shape: Shape) -> [usize; 3] {
    match shape {
        Shape::Image { channels, height, width } => [channels, height, width],
        Shape::Flat { features } => [1, 1, features],
    }
}

/// The peak resident set of this process so far, MB (`VmHWM`).
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    kb / 1024.0
}

fn images_per_s(spec: &NetSpec, images: &[f32], labels: &[u8], seconds: f64) -> f64 {
    let device = training_device();
    device.seed(1);
    let model = Model::new(spec, &device);
    let optimiser = Optimiser::Adam { lr: 1e-3, beta1: 0.9, beta2: 0.999, weight_decay: 0.0 };
    let learning = LearningSpec { optimiser, batch_size: BATCH, early_stop_patience: 10_000, epochs: 10_000 };
    let dims = dims(spec.input);
    let per_image = dims.iter().product::<usize>();
    let samples = Samples::new(images, labels, dims).expect("consistent");
    let val = Samples::new(&images[..per_image * BATCH], &labels[..BATCH], dims).expect("consistent");
    let mut trainer = Trainer::new(&learning, TrainOptions::default()).expect("settings");
    let budget = Duration::from_secs_f64(seconds);
    let (_, outcome) = trainer.run(model, samples, val, budget, &mut |_| {}).expect("trains");
    // validation passes are excluded: only batch steps count
    outcome.steps as f64 * BATCH as f64 / (outcome.train_time_s - outcome.epochs as f64 * outcome.max_validation_s)
}

/// Writes the front members of a finished run as NetSpec JSON files `OUT/<id>.json` (without the
/// extra head: both sides train the full network only).
fn export_run(run_dir: &Path, out: &Path) -> anyhow::Result<()> {
    let config_path = run_dir.join("config.toml");
    let config = EvolveConfig::from_file(&config_path).with_context(|| format!("{}", config_path.display()))?;
    let data = load_data(&config)?;
    let space = search_space(&config, &data)?;
    let front_path = run_dir.join("front.json");
    let front: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&front_path).with_context(|| format!("reading {}", front_path.display()))?,
    )?;
    let lines = read_log(&run_dir.join("log.jsonl")).context("reading the run's log.jsonl")?;
    let mut ids: Vec<u64> = front["members"]
        .as_array()
        .context("front.json has no members")?
        .iter()
        .filter_map(|m| m["id"].as_u64())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    std::fs::create_dir_all(out)?;
    for id in ids {
        let line = lines.iter().find(|l| l.candidate.id == id).with_context(|| format!("#{id} not in the log"))?;
        let spec = line.candidate.individual.to_netspec(&space).map_err(|e| anyhow::anyhow!("#{id}: {e}"))?;
        let layers: Vec<LayerSpec> = spec.layers.iter().map(|n| n.layer.clone()).collect();
        let full = NetSpec::build(spec.input, spec.num_classes, &layers, None, space.config.rules)?;
        let path = out.join(format!("{id:06}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(&full)?)?;
        println!("{}", path.display());
    }
    Ok(())
}

struct Args {
    network: Option<String>,
    describe: Option<String>,
    export_run: Option<PathBuf>,
    out: Option<PathBuf>,
    seconds: f64,
    warmup: f64,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args { network: None, describe: None, export_run: None, out: None, seconds: 5.0, warmup: 2.0 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--network" => args.network = Some(value()?),
            "--describe" => args.describe = Some(value()?),
            "--export-run" => args.export_run = Some(value()?.into()),
            "--out" => args.out = Some(value()?.into()),
            "--seconds" => args.seconds = value()?.parse()?,
            "--warmup" => args.warmup = value()?.parse()?,
            // `cargo bench` passes --bench to every bench binary
            "--bench" => {}
            other => bail!("unknown argument {other} (see the top of host/benches/train_throughput.rs)"),
        }
    }
    Ok(args)
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    if let Some(name) = &args.describe {
        println!("{}", serde_json::to_string_pretty(&network(name)?)?);
        return Ok(());
    }
    if let Some(run) = &args.export_run {
        return export_run(run, args.out.as_deref().context("--export-run needs --out DIR")?);
    }
    let Some(name) = &args.network else {
        // `cargo bench` with no arguments: the three fixed networks, one process
        for name in ["cnn", "small_cnn", "mlp"] {
            measure(name, &args)?;
        }
        return Ok(());
    };
    measure(name, &args)
}

fn measure(name: &str, args: &Args) -> anyhow::Result<()> {
    let spec = network(name)?;
    let per_image: usize = dims(spec.input).iter().product();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let images: Vec<f32> = (0..SAMPLES * per_image).map(|_| rng.random_range(0.0f32..1.0)).collect();
    let labels: Vec<u8> = (0..SAMPLES).map(|i| (i % spec.num_classes) as u8).collect();
    let before_mb = peak_rss_mb();
    if args.warmup > 0.0 {
        images_per_s(&spec, &images, &labels, args.warmup);
    }
    let rate = images_per_s(&spec, &images, &labels, args.seconds);
    let peak = peak_rss_mb();
    let label = Path::new(name).file_stem().map_or(name.to_string(), |s| s.to_string_lossy().into_owned());
    println!(
        "{}",
        serde_json::json!({
            "side": "burn", "network": label, "images_per_s": rate,
            "peak_rss_mb": peak, "train_rss_mb": peak - before_mb,
        })
    );
    Ok(())
}
