//! The candidate pipeline: one network from its spec to deployable, scored models.
//!
//! ```text
//! NetSpec + LearningSpec ──train──> TrainedNet ──partitions──> ONNX bytes per partition
//!     ──tract──> accuracy on a split ──(optional) board──> Measurement
//! ```
//!
//! Used by `wattevo train` (one network, reported), by the evolution's evaluator (every
//! candidate, scored) and by a run's final export of its best candidate, so the three agree on
//! what a partition is, how it is exported and how its accuracy is computed.
//!
//! - [`train`]: [`TrainJob`], training from scratch or from saved weights, in seconds or epochs;
//! - [`export`]: [`ExportedPartition`], the partitions of a trained network as ONNX, and
//!   [`onnx_accuracy`] (what you measure is what you ship);
//! - [`single`]: one network trained, exported and checked (`wattevo train`);
//! - [`cache`]: board measurements cached by architecture, board and runtime versions;
//! - [`evaluator`]: [`PipelineEvaluator`], the evolution's [`crate::evolve::candidate::Evaluator`]
//!   over all of the above and a board;
//! - [`prepare`]: the host's half of an evaluation (train, export, accuracy), shareable
//!   between threads;
//! - [`measure`]: the board's half (measure on one board of the farm, score);
//! - [`farm_check`]: a farm's calibration records (`farm.jsonl`);
//! - [`slurm`]: the host's half on a Slurm cluster instead (`--executor slurm`);
//! - [`parallel`]: several candidates trained at once, measured on the farm's boards while the
//!   next train ([`Schedule`]);
//! - [`wall`]: [`WallAccount`], where the evaluations' wall time went.

pub mod cache;
pub mod evaluator;
pub mod export;
pub mod farm_check;
pub mod measure;
pub mod parallel;
pub mod prepare;
pub mod single;
pub mod slurm;
pub mod train;
pub mod wall;

pub use evaluator::{BoardTarget, FarmReport, PipelineEvaluator, RetiredBoard, weights_dir};
pub use export::{
    ClassAccuracy, ExportedModule, ExportedPartition, PipelineError, export_module, export_partitions,
    export_partitions_at, onnx_accuracy, onnx_class_accuracy,
};
pub use parallel::Schedule;
pub use prepare::MeasureBatch;
pub use train::{Budget, TrainFailure, TrainJob, TrainedCandidate, reload_trained, train};
pub use wall::WallAccount;
