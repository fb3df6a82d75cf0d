//! `wattevo train`: trains one network, exports it to ONNX, and reports the accuracy of the
//! exported files (run by tract) on the fitness split and the test set.
//!
//! The network comes from `--preset cnn` (the default: the known-good small CNN), a phenotype
//! file (`--phenotype FILE`, the text `wattevo` writes for an individual), or a random
//! individual of the small grammar (`--seed N`). Written to `--out DIR`: `network.onnx` (the main
//! head), `partition0.onnx` and `partition1.onnx` for a partitioned network, and `checkpoint/`
//! (weights + optimiser state, to continue training later). Results go to stdout (a table, or
//! one JSON object with `--json`); the progress bar goes to stderr. The work itself is the
//! library's [`crate::pipeline::single`]; this file holds flags and printing.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;
use indicatif::ProgressBar;
use serde::Serialize;

use super::named::named;
use super::progress;
use crate::data::{DatasetName, LoadOptions, SplitConfig};
use crate::genome::LearningSpec;
use crate::genome::network::{CNN_PRESET, PhenotypeNetwork, random_network};
use crate::netspec::NetSpec;
use crate::nn::train::{LossKind, Progress};
use crate::pipeline::single::{SingleReport, SingleSettings, train_and_export};
use crate::pipeline::train::Budget;

/// Built-in networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// Two conv + max-pool blocks (32, 64 filters), fc 128, Adam 1e-3, batch 64.
    Cnn,
}

/// Train one network, export it to ONNX and report the exported files' accuracy.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// A phenotype file (sections `[features]`, `[classification]`, `[output]`, `[learning]`,
    /// optionally `[model_partition]`).
    #[arg(long, conflicts_with_all = ["seed", "preset"])]
    pub phenotype: Option<PathBuf>,
    /// A random individual of the small grammar, from this seed (the first valid one from it).
    #[arg(long, conflicts_with = "preset")]
    pub seed: Option<u64>,
    /// A built-in network (the default when neither --phenotype nor --seed is given).
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// Attach the extra head after this layer (overrides the phenotype's `model_partition`).
    #[arg(long)]
    pub partition_point: Option<usize>,
    /// The dataset.
    #[arg(long, value_parser = named::<DatasetName>(), default_value_t = DatasetName::Digits)]
    pub dataset: DatasetName,
    /// Directory searched first for IDX datasets.
    #[arg(long, env = "WATTEVO_DATA")]
    pub data_dir: Option<PathBuf>,
    /// Training budget in seconds of wall-clock time.
    #[arg(long, default_value_t = 60.0)]
    pub seconds: f64,
    /// Train for this many epochs instead of --seconds: the same result on any machine, whatever
    /// its load.
    #[arg(long, conflicts_with = "seconds", value_parser = clap::value_parser!(u32).range(1..))]
    pub epochs: Option<u32>,
    /// Seed of the data split, the weights and the batch order.
    #[arg(long, default_value_t = 0)]
    pub train_seed: u64,
    /// Use the reference's loss (cross-entropy on softmax outputs) instead of on logits.
    #[arg(long)]
    pub double_softmax: bool,
    /// Where the ONNX files and the checkpoint go.
    #[arg(long, default_value = "wattevo-train")]
    pub out: PathBuf,
    /// Print one JSON object instead of a table (and no progress bar).
    #[arg(long)]
    pub json: bool,
    /// Where to train: cpu, cuda, wgpu (GPU builds: --features cuda / wgpu), or auto.
    #[arg(long, value_parser = crate::cli::named::named::<crate::nn::DeviceChoice>(), default_value_t = crate::nn::DeviceChoice::Cpu)]
    pub device: crate::nn::DeviceChoice,
}

/// What `wattevo train --json` prints.
#[derive(Debug, Serialize)]
pub struct TrainReport {
    /// Dataset name.
    pub dataset: String,
    /// The network, its training and its exported files.
    #[serde(flatten)]
    pub report: SingleReport,
}

impl TrainArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        if !(self.seconds.is_finite() && self.seconds > 0.0) {
            bail!("--seconds {} must be a positive number", self.seconds);
        }
        let device = crate::nn::use_device(self.device)?;
        tracing::info!("training on {device}");
        let split = SplitConfig { seed: self.train_seed, ..SplitConfig::default() };
        let options = LoadOptions { data_dir: self.data_dir.clone(), resize_to: None, split };
        let data = crate::data::load_splits(self.dataset, &options).context("loading the dataset")?;
        let (spec, learning) = self.network(data.train.input_shape(), data.train.num_classes())?;
        let loss = if self.double_softmax { LossKind::DoubleSoftmax } else { LossKind::Logits };
        let (budget, bar_length) = match self.epochs {
            Some(epochs) => (Budget::Epochs(epochs as usize), u64::from(epochs)),
            None => (Budget::Seconds(self.seconds), (self.seconds * 1000.0) as u64),
        };
        let settings = SingleSettings { seed: self.train_seed, loss, budget, out: &self.out };
        let bar = progress::bar(bar_length, "{bar:30} {msg}", self.json);
        let by_epoch = self.epochs.is_some();
        let report = train_and_export(&spec, &learning, &data, &settings, &mut |p| show_progress(&bar, p, by_epoch))?;
        bar.finish_and_clear();
        let report = TrainReport { dataset: self.dataset.to_string(), report };
        if self.json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            print_table(&report);
        }
        Ok(ExitCode::SUCCESS)
    }

    fn network(&self, input: crate::netspec::Shape, classes: usize) -> anyhow::Result<(NetSpec, LearningSpec)> {
        let network = match (&self.phenotype, self.seed) {
            (Some(path), _) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                PhenotypeNetwork::parse(&text).with_context(|| format!("phenotype {}", path.display()))?
            }
            (None, Some(seed)) => return Ok(random_network(seed, input, classes, self.partition_point)?),
            (None, None) => PhenotypeNetwork::parse(CNN_PRESET).context("the cnn preset")?,
        };
        let spec =
            network.build(input, classes, self.partition_point).context("the network does not fit the dataset")?;
        Ok((spec, network.learning))
    }
}

fn show_progress(bar: &ProgressBar, p: &Progress, by_epoch: bool) {
    bar.set_position(if by_epoch { p.epoch as u64 } else { p.elapsed.as_millis() as u64 });
    let val = match &p.validation {
        Some(v) => match v.extra {
            Some(e) => format!(" val acc {:.4} / {:.4}", v.main.accuracy, e.accuracy),
            None => format!(" val acc {:.4}", v.main.accuracy),
        },
        None => String::new(),
    };
    bar.set_message(format!(
        "epoch {} batch {}/{} loss {:.4}{val} {:.0} s left",
        p.epoch + 1,
        p.batch,
        p.batches_per_epoch,
        p.train_loss,
        p.time_left().as_secs_f64()
    ));
}

fn print_table(report: &TrainReport) {
    let t = &report.report.training;
    println!(
        "{}: {} epochs, {} steps in {:.1} s (stopped: {:?}), final train loss {:.4}, validation loss {:.4}",
        report.dataset,
        t.total_epochs,
        t.total_steps,
        t.train_time_s,
        t.stop,
        t.final_train_loss,
        t.validation.total_loss()
    );
    println!("{:<11} {:>9} {:>9} {:>9} {:>9} {:>9}  file", "model", "params", "bytes", "fitness", "test", "burn test");
    for e in &report.report.exported {
        println!(
            "{:<11} {:>9} {:>9} {:>9.4} {:>9.4} {:>9.4}  {}",
            e.name,
            e.params,
            e.bytes,
            e.fitness_accuracy,
            e.test_accuracy,
            e.burn_test_accuracy,
            e.file.display()
        );
    }
}
