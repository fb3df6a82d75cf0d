//! Where candidates train: on this machine (its CPU or a GPU), or as Slurm job arrays
//! (`evolve --executor slurm`).

use super::named::named;
use crate::pipeline::slurm::Executor;
use crate::run::EvolveConfig;

/// The executor flags of `wattevo evolve`; unset flags keep the config's values.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ExecutorFlags {
    /// Where candidates train: local (this machine), or slurm (each generation's candidates as
    /// a Slurm job array; the run directory must be on a filesystem the nodes share, and the
    /// boards stay on this host) [default: local].
    #[arg(long, value_parser = named::<Executor>())]
    pub executor: Option<Executor>,
    /// Where each candidate trains: cpu, cuda, wgpu (GPU builds: --features cuda / wgpu), or
    /// auto (a GPU when one is built in and present, else the CPU) [default: cpu].
    #[arg(long, value_parser = named::<crate::nn::DeviceChoice>())]
    pub device: Option<crate::nn::DeviceChoice>,
    /// Slurm partition [default: the cluster's].
    #[arg(long)]
    pub slurm_partition: Option<String>,
    /// Time limit of one Slurm task (sbatch --time) [default: 1:00:00].
    #[arg(long)]
    pub slurm_time: Option<String>,
    /// CPUs per Slurm task [default: the run's threads per job].
    #[arg(long)]
    pub slurm_cpus: Option<usize>,
    /// Memory per Slurm task (sbatch --mem) [default: 4G].
    #[arg(long)]
    pub slurm_mem: Option<String>,
    /// Resubmissions of a failed Slurm task (node lost, time limit, memory, cancelled) before
    /// its candidate is invalid with Slurm's reason [default: 2].
    #[arg(long)]
    pub slurm_retries: Option<usize>,
}

impl ExecutorFlags {
    /// Sets the config keys these flags name.
    pub fn apply(&self, config: &mut EvolveConfig) {
        if let Some(executor) = self.executor {
            config.executor = executor;
        }
        if let Some(device) = self.device {
            config.device = device;
        }
        if self.slurm_partition.is_some() {
            config.slurm_partition.clone_from(&self.slurm_partition);
        }
        if let Some(time) = &self.slurm_time {
            config.slurm_time.clone_from(time);
        }
        if let Some(cpus) = self.slurm_cpus {
            config.slurm_cpus = cpus;
        }
        if let Some(mem) = &self.slurm_mem {
            config.slurm_mem.clone_from(mem);
        }
        if let Some(retries) = self.slurm_retries {
            config.slurm_retries = retries;
        }
    }
}
