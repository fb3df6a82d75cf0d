//! `wattevo slurm-task DIR`: one task of a Slurm job array (`--executor slurm`). It trains,
//! exports and scores the candidate of `DIR/batch.json` its array index names, exactly as a
//! local training worker does, and writes `DIR/result-N.bin` for the run's host to pick up.
//! Users do not run it by hand; the host submits it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::pipeline::slurm::{BatchFile, TaskResult, write_result};
use crate::run::{EvolveConfig, load_data, preparer, search_space};

/// Train one candidate of a Slurm batch (submitted by `evolve --executor slurm`).
#[derive(Debug, Args)]
pub struct SlurmTaskArgs {
    /// The batch directory (`RUN/slurm/gen-GGGG-cIIIIII`, holding batch.json).
    pub dir: PathBuf,
    /// The candidate's index in the batch [default: $SLURM_ARRAY_TASK_ID].
    #[arg(long)]
    pub index: Option<usize>,
}

impl SlurmTaskArgs {
    /// Trains the candidate and writes its result.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let index = match self.index {
            Some(index) => index,
            None => std::env::var("SLURM_ARRAY_TASK_ID")
                .context("no --index and no SLURM_ARRAY_TASK_ID: this command runs as a Slurm array task")?
                .parse()
                .context("SLURM_ARRAY_TASK_ID is not a number")?,
        };
        let path = self.dir.join("batch.json");
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let batch: BatchFile =
            serde_json::from_slice(&bytes).with_context(|| format!("{} is not a batch file", path.display()))?;
        let request = batch
            .requests
            .get(index)
            .with_context(|| format!("{} has {} candidates, no index {index}", path.display(), batch.requests.len()))?;
        let config_path = batch.run_dir.join("config.toml");
        let config = EvolveConfig::from_file(&config_path)
            .with_context(|| format!("{} (the run's config) cannot be read", config_path.display()))?;
        crate::nn::use_device(config.device)?;
        let data = load_data(&config)?;
        let space = search_space(&config, &data)?;
        let preparer = preparer(&config, &space, &data, &batch.run_dir);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(batch.threads.max(1)).build()?;
        tracing::info!("candidate {} (task {index}), {} thread(s)", request.candidate.id, batch.threads);
        let prepared = pool.install(|| preparer.prepare(&request.as_request()));
        let result = TaskResult::of(request.candidate.id, prepared);
        if let Some(failure) = &result.host_failure {
            tracing::warn!("candidate {}: {failure}", request.candidate.id);
        }
        write_result(&self.dir, index, &result)
            .with_context(|| format!("writing the result into {}", self.dir.display()))?;
        Ok(ExitCode::SUCCESS)
    }
}
