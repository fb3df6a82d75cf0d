//! `wattevo train`: trains one network, exports it to ONNX, and reports the accuracy of the
//! exported files (run by tract) on the fitness split and the test set.
//!
//! The network comes from `--preset cnn` (the default: the known-good small CNN), a phenotype
//! file (`--phenotype FILE`, the text `wattevo` writes for an individual), or a random
//! individual of the small grammar (`--seed N`). Written to `--out DIR`: `network.onnx` (the main
//! head), `partition0.onnx` and `partition1.onnx` for a partitioned network, and `checkpoint/`
//! (weights + optimiser state, to continue training later). Results go to stdout (a table, or
//! one JSON object with `--json`); the progress bar goes to stderr.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::data::{DataSplits, Dataset, DatasetName, LoadOptions, SplitConfig};
use crate::genome::mapping::{IndividualPhenotype, layer_spec};
use crate::genome::{GenomeConfig, Individual, LearningSpec, SearchSpace};
use crate::netspec::{NetSpec, Partition, SpecLimits};
use crate::nn::train::{LossKind, Progress, Samples, TrainOptions, TrainOutcome, Trainer, evaluate};
use crate::nn::{Model, training_device};
use crate::onnx::{ExportOptions, TractRunner, encode, export_network, export_partition};

/// The known-good small CNN (conv 32 → max pool → conv 64 → max pool → fc 128 → softmax, Adam
/// 1e-3, batch 64) as a phenotype.
pub const PRESET_CNN: &str = "\
[features]
layer:conv out_channels:32 kernel_size:3 stride:1 padding:same act:relu bias:True
layer:pool_max kernel_size:2 stride:2 padding:valid
layer:conv out_channels:64 kernel_size:3 stride:1 padding:same act:relu bias:True
layer:pool_max kernel_size:2 stride:2 padding:valid
[classification]
layer:fc act:relu out_features:128 bias:True
[output]
layer:fc act:softmax out_features:10 bias:True
[learning]
learning:adam lr:0.001 beta1:0.9 beta2:0.999 weight_decay:0 early_stop:10 batch_size:64 epochs:10000
";

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
    #[arg(long, value_enum, default_value_t = DatasetName::Digits)]
    pub dataset: DatasetName,
    /// Directory searched first for IDX datasets.
    #[arg(long, env = "WATTEVO_DATA")]
    pub data_dir: Option<PathBuf>,
    /// Training budget in seconds of wall-clock time.
    #[arg(long, default_value_t = 60.0)]
    pub seconds: f64,
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
}

/// Accuracy of one exported model.
#[derive(Debug, Clone, Serialize)]
pub struct ExportedAccuracy {
    /// `network`, `partition0` or `partition1`.
    pub name: String,
    /// The ONNX file.
    pub file: PathBuf,
    /// Size of the file in bytes.
    pub bytes: usize,
    /// Trainable parameters.
    pub params: usize,
    /// Accuracy on the fitness split, computed by tract from the file.
    pub fitness_accuracy: f64,
    /// Accuracy on the test set, computed by tract from the file.
    pub test_accuracy: f64,
    /// The same head's test accuracy computed by burn before export.
    pub burn_test_accuracy: f64,
}

/// What `wattevo train --json` prints.
#[derive(Debug, Serialize)]
pub struct TrainReport {
    /// Dataset name.
    pub dataset: String,
    /// The network trained.
    pub spec: NetSpec,
    /// The learning settings.
    pub learning: LearningSpec,
    /// What training did.
    pub training: TrainOutcome,
    /// One entry per exported file.
    pub exported: Vec<ExportedAccuracy>,
}

impl TrainArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let report = self.report()?;
        if self.json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            print_table(&report);
        }
        Ok(ExitCode::SUCCESS)
    }

    /// Loads the data, trains, exports and measures: everything but printing.
    pub fn report(&self) -> anyhow::Result<TrainReport> {
        if !(self.seconds.is_finite() && self.seconds > 0.0) {
            bail!("--seconds {} must be a positive number", self.seconds);
        }
        let split = SplitConfig { seed: self.train_seed, ..SplitConfig::default() };
        let options = LoadOptions { data_dir: self.data_dir.clone(), resize_to: None, split };
        let data = crate::data::load_splits(self.dataset, &options).context("loading the dataset")?;
        let (spec, learning) = self.network(&data.train)?;
        self.train_and_export(&data, spec, learning)
    }

    fn network(&self, train: &Dataset) -> anyhow::Result<(NetSpec, LearningSpec)> {
        let (layers, learning, partition) = match (&self.phenotype, self.seed) {
            (Some(path), _) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                from_phenotype_text(&text).with_context(|| format!("phenotype {}", path.display()))?
            }
            (None, Some(seed)) => return random_network(seed, train, self.partition_point),
            (None, None) => from_phenotype_text(PRESET_CNN).context("the cnn preset")?,
        };
        let partition = self.partition_point.or(partition);
        let spec = NetSpec::build(train.input_shape(), train.num_classes(), &layers, partition, SpecLimits::default())
            .context("the network does not fit the dataset")?;
        Ok((spec, learning))
    }

    fn train_and_export(
        &self,
        data: &DataSplits,
        spec: NetSpec,
        learning: LearningSpec,
    ) -> anyhow::Result<TrainReport> {
        let device = training_device();
        device.seed(self.train_seed);
        let model = Model::new(&spec, &device);
        let loss = if self.double_softmax { LossKind::DoubleSoftmax } else { LossKind::Logits };
        let options = TrainOptions { seed: self.train_seed, loss, ..TrainOptions::default() };
        let mut trainer = Trainer::new(&learning, options).context("learning settings")?;
        let bar = progress_bar(self.json, Duration::from_secs_f64(self.seconds));
        let (model, outcome) = trainer.run(
            model,
            Samples::from(&data.train),
            Samples::from(&data.validation),
            Duration::from_secs_f64(self.seconds),
            &mut |p| show_progress(&bar, p),
        )?;
        bar.finish_and_clear();
        trainer.save(&model, &self.out.join("checkpoint")).context("saving the checkpoint")?;
        let burn_test = evaluate(&model, Samples::from(&data.test), 500, loss);
        let exported = export_all(&model, &spec, &self.out, data, burn_test)?;
        Ok(TrainReport { dataset: self.dataset.to_string(), spec, learning, training: outcome, exported })
    }
}

/// Layers, learning settings and partition point of a phenotype text.
pub fn from_phenotype_text(
    text: &str,
) -> anyhow::Result<(Vec<crate::netspec::LayerSpec>, LearningSpec, Option<usize>)> {
    let phenotype: IndividualPhenotype = text.parse()?;
    let layers = phenotype.layers().enumerate().map(|(i, p)| layer_spec(i, p)).collect::<Result<Vec<_>, _>>()?;
    let learning = phenotype.macro_phenotype("learning").context("no [learning] section")?;
    let learning = LearningSpec::from_phenotype(learning)?;
    let partition = phenotype
        .macro_phenotype("model_partition")
        .and_then(|p| p.get("partition_point"))
        .and_then(|v| v.as_i64())
        .and_then(|k| usize::try_from(k).ok());
    Ok((layers, learning, partition))
}

fn random_network(seed: u64, train: &Dataset, partition: Option<usize>) -> anyhow::Result<(NetSpec, LearningSpec)> {
    let config = GenomeConfig { input: train.input_shape(), classes: train.num_classes(), ..GenomeConfig::small() };
    let space = SearchSpace::new(config).context("the small grammar")?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for _ in 0..1000 {
        let individual = Individual::random(&space, &mut rng)?;
        let (Ok(mut spec), Ok(learning)) = (individual.to_netspec(&space), individual.learning_spec(&space)) else {
            continue;
        };
        if let Some(k) = partition {
            let layers: Vec<_> = spec.layers.iter().map(|n| n.layer.clone()).collect();
            spec = NetSpec::build(spec.input, spec.num_classes, &layers, Some(k), SpecLimits::default())?;
        }
        return Ok((spec, learning));
    }
    bail!("no valid network among 1000 random individuals from seed {seed}")
}

fn progress_bar(hidden: bool, budget: Duration) -> ProgressBar {
    let bar = ProgressBar::new(budget.as_millis() as u64);
    if hidden {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let style = ProgressStyle::with_template("{bar:30} {msg}").unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

fn show_progress(bar: &ProgressBar, p: &Progress) {
    bar.set_position(p.elapsed.as_millis() as u64);
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

/// Exports the network (and both partitions when partitioned) and measures each file with tract.
fn export_all(
    model: &Model,
    spec: &NetSpec,
    out: &Path,
    data: &DataSplits,
    burn_test: crate::nn::train::Evaluation,
) -> anyhow::Result<Vec<ExportedAccuracy>> {
    let weights = model.weights()?;
    let options = ExportOptions::default();
    let mut files = vec![("network", export_network(spec, &weights, options)?, burn_test.main.accuracy, spec.params())];
    if let (Some(extra), Some(early)) = (burn_test.extra, spec.partition(Partition::Early)) {
        let full = spec.partition(Partition::Full).map_or(0, |s| s.params());
        files.push((
            "partition0",
            export_partition(spec, &weights, Partition::Full, options)?,
            burn_test.main.accuracy,
            full,
        ));
        files.push((
            "partition1",
            export_partition(spec, &weights, Partition::Early, options)?,
            extra.accuracy,
            early.params(),
        ));
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    files
        .into_iter()
        .map(|(name, proto, burn_test_accuracy, params)| {
            let bytes = encode(&proto);
            let file = out.join(format!("{name}.onnx"));
            std::fs::write(&file, &bytes).with_context(|| format!("writing {}", file.display()))?;
            let runner = TractRunner::from_bytes(&bytes).with_context(|| format!("loading {}", file.display()))?;
            Ok(ExportedAccuracy {
                name: name.to_owned(),
                fitness_accuracy: onnx_accuracy(&runner, &data.fitness)?,
                test_accuracy: onnx_accuracy(&runner, &data.test)?,
                burn_test_accuracy,
                bytes: bytes.len(),
                params,
                file,
            })
        })
        .collect()
}

/// Accuracy of an exported model (batch 1) on `data`, computed by tract.
pub fn onnx_accuracy(runner: &TractRunner, data: &Dataset) -> anyhow::Result<f64> {
    let mut correct = 0usize;
    for (index, &label) in data.labels().iter().enumerate() {
        let probabilities = runner.run(data.image(index))?;
        let predicted = probabilities.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(class, _)| class);
        correct += usize::from(predicted == Some(usize::from(label)));
    }
    Ok(correct as f64 / data.len().max(1) as f64)
}

fn print_table(report: &TrainReport) {
    let t = &report.training;
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
    for e in &report.exported {
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
