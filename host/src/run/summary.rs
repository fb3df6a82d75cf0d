//! What a finished run reports: the best candidate's partitions re-exported from its saved
//! weights into `best/`, their test accuracy, `summary.json` and `pareto.svg`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::RunError;
use super::plot;
use crate::data::DataSplits;
use crate::evolve::candidate::Candidate;
use crate::evolve::checkpoint::RunStats;
use crate::evolve::fitness::Metrics;
use crate::evolve::runlog::LogLine;
use crate::files::write_atomic;
use crate::genome::SearchSpace;
use crate::pipeline::{Schedule, WallAccount, export_partitions, reload_trained, weights_dir};

/// What a finished run reports.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// The run directory.
    pub run_dir: PathBuf,
    /// Where the power figures come from (`SIMULATED (...)` or `measured on ...`).
    pub source: String,
    /// Generations completed.
    pub generations: usize,
    /// The best candidate's id, fitness and phenotype.
    pub best_id: u64,
    /// Its fitness.
    pub best_fitness: f64,
    /// Its phenotype text.
    pub best_phenotype: String,
    /// Its metrics on the fitness split and the board.
    pub best_metrics: Metrics,
    /// Test-set accuracy of each exported partition (by tract), and the file.
    pub best_models: Vec<ExportedModel>,
    /// Counters (evaluations, invalid, cache hits, training vs measuring time).
    pub stats: RunStats,
    /// Modules in the archive.
    pub archived_modules: usize,
    /// Wall time of this invocation, seconds.
    pub wall_s: f64,
    /// How candidates shared the cores.
    pub schedule: Schedule,
    /// Where this invocation's evaluation time went (train / measure / both / idle); the rest
    /// of `wall_s` (`wall_s − wall.batches_s`) is other work: loading, checkpoints, the final
    /// export.
    pub wall: WallAccount,
    /// The method choices of the run (and, under `--reference`, what it still does not
    /// reproduce).
    pub method: super::method::MethodRecord,
    /// Models on the run's Pareto front (accuracy against energy; `front.json`).
    pub front_size: usize,
    /// Its hypervolume (accuracy × mJ up to accuracy 0 and `front.json`'s reference energy).
    pub front_hypervolume: f64,
    /// The board farm, when the run measured on a farm file's boards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub farm: Option<crate::pipeline::FarmReport>,
}

/// One exported partition of the best candidate.
#[derive(Debug, Clone, Serialize)]
pub struct ExportedModel {
    /// 0 (full) or 1 (early exit).
    pub partition: usize,
    /// The ONNX file.
    pub file: PathBuf,
    /// Accuracy on the official (or held-out) test set, computed by tract from the file.
    pub test_accuracy: f64,
}

/// Re-exports the best candidate's partitions from its saved weights into `best/` and measures
/// their test accuracy with tract. An invalid best candidate exports nothing.
pub fn export_best(
    space: &SearchSpace,
    data: &DataSplits,
    best: &Candidate,
    run_dir: &Path,
) -> Result<Vec<ExportedModel>, RunError> {
    let Ok(spec) = best.individual.to_netspec(space) else { return Ok(Vec::new()) };
    if best.evaluation.as_ref().is_none_or(|e| e.invalid.is_some()) {
        return Ok(Vec::new());
    }
    let failed = |reason: String| RunError::BestExport { id: best.id, reason };
    let net = reload_trained(&spec, &weights_dir(run_dir, best.id)).map_err(|e| failed(e.to_string()))?;
    let dir = run_dir.join("best");
    std::fs::create_dir_all(&dir).map_err(RunError::io("creating", &dir))?;
    let mut out = Vec::new();
    for partition in export_partitions(&net).map_err(|e| failed(e.to_string()))? {
        let file = dir.join(format!("partition{}.onnx", partition.partition.index()));
        std::fs::write(&file, &partition.onnx).map_err(RunError::io("writing", &file))?;
        let test_accuracy = partition.accuracy(&data.test).map_err(|e| failed(e.to_string()))?;
        out.push(ExportedModel { partition: partition.partition.index(), file, test_accuracy });
    }
    Ok(out)
}

/// Writes the plots of the run's logged candidates `lines` and their `front`
/// (`pareto.svg`, `front_by_generation.svg`, `hypervolume.svg`, `progress.svg`) and
/// `summary.json`. A plot that cannot be drawn is a warning, not a failed run.
pub fn write_reports(
    summary: &RunSummary,
    lines: &[LogLine],
    front: &super::front::Front,
    run_dir: &Path,
) -> Result<(), RunError> {
    let models = super::front::models(lines);
    let source = &summary.source;
    let plots = [
        ("pareto.svg", plot::pareto_svg(&models, front, source)),
        ("front_by_generation.svg", plot::fronts_svg(&models, source)),
        ("hypervolume.svg", plot::hypervolume_svg(front, source)),
        ("progress.svg", plot::progress_svg(&models, source)),
    ];
    for (name, svg) in plots {
        match svg {
            Ok(svg) => {
                let path = run_dir.join(name);
                write_atomic(&path, svg.as_bytes()).map_err(RunError::io("writing", &path))?;
            }
            Err(err) => tracing::warn!("{err}"),
        }
    }
    let json = serde_json::to_vec_pretty(summary).map_err(|e| RunError::io("encoding", run_dir)(e.into()))?;
    let path = run_dir.join("summary.json");
    write_atomic(&path, &json).map_err(RunError::io("writing", &path))
}
