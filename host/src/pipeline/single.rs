//! One network trained, exported and checked, as `wattevo train` does it: the main head as
//! `network.onnx`, both partitions of a partitioned network as `partition0.onnx` and
//! `partition1.onnx`, the weights and optimiser state in `checkpoint/`, and the accuracy of
//! every file computed by tract on the fitness split and the test set.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::export::{PipelineError, export_partitions};
use super::train::{Budget, TrainFailure, TrainJob, train};
use crate::data::DataSplits;
use crate::genome::LearningSpec;
use crate::netspec::{NetSpec, Partition};
use crate::nn::train::{LossKind, Progress, TrainMethod, TrainOutcome, evaluate};

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

/// What training and exporting one network gave.
#[derive(Debug, Serialize)]
pub struct SingleReport {
    /// The network trained.
    pub spec: NetSpec,
    /// The learning settings.
    pub learning: LearningSpec,
    /// What training did.
    pub training: TrainOutcome,
    /// One entry per exported file.
    pub exported: Vec<ExportedAccuracy>,
}

/// How to train the network.
#[derive(Debug, Clone, Copy)]
pub struct SingleSettings<'a> {
    /// Seed of the weights and the batch order.
    pub seed: u64,
    /// The loss both heads are trained with.
    pub loss: LossKind,
    /// How long to train: wall-clock seconds, or epochs (reproducible on any machine, whatever
    /// its load).
    pub budget: Budget,
    /// Where the ONNX files and `checkpoint/` go.
    pub out: &'a Path,
}

/// Why a network could not be trained, exported or checked.
#[derive(Debug, thiserror::Error)]
pub enum SingleError {
    /// Training failed.
    #[error("training")]
    Train(#[source] TrainFailure),
    /// Exporting or running a partition failed.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// A file could not be written.
    #[error("writing {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Trains `spec`, exports it and reports each exported file's accuracy.
pub fn train_and_export(
    spec: &NetSpec,
    learning: &LearningSpec,
    data: &DataSplits,
    settings: &SingleSettings<'_>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<SingleReport, SingleError> {
    let checkpoint = settings.out.join("checkpoint");
    let job = TrainJob {
        spec,
        learning,
        seed: settings.seed,
        method: TrainMethod { loss: settings.loss, ..TrainMethod::default() },
        budget: settings.budget,
        warm_start: None,
        inherit: None,
        race: None,
        save_to: Some(&checkpoint),
    };
    let trained = train(&job, data, progress).map_err(SingleError::Train)?;
    let burn_test = evaluate(&trained.model, crate::nn::train::Samples::from(&data.test), 500, settings.loss);
    std::fs::create_dir_all(settings.out)
        .map_err(|source| SingleError::Io { path: settings.out.to_path_buf(), source })?;
    let partitions = export_partitions(&trained.net)?;
    let mut files = Vec::new();
    for partition in &partitions {
        let burn_accuracy = match partition.partition {
            Partition::Full => burn_test.main.accuracy,
            Partition::Early => burn_test.extra.map_or(f64::NAN, |e| e.accuracy),
        };
        if partition.partition == Partition::Full {
            files.push(("network".to_owned(), partition, burn_accuracy));
        }
        if partitions.len() > 1 {
            files.push((format!("partition{}", partition.partition.index()), partition, burn_accuracy));
        }
    }
    let mut exported = Vec::new();
    for (name, partition, burn_test_accuracy) in files {
        let file = settings.out.join(format!("{name}.onnx"));
        std::fs::write(&file, &partition.onnx).map_err(|source| SingleError::Io { path: file.clone(), source })?;
        let params = if name == "network" { spec.params() } else { partition.params };
        exported.push(ExportedAccuracy {
            name,
            file,
            bytes: partition.onnx.len(),
            params,
            fitness_accuracy: partition.accuracy(&data.fitness)?,
            test_accuracy: partition.accuracy(&data.test)?,
            burn_test_accuracy,
        });
    }
    Ok(SingleReport { spec: spec.clone(), learning: *learning, training: trained.outcome, exported })
}
