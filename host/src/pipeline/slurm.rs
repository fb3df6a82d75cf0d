//! Training on a Slurm cluster (`--executor slurm`): the host's half of each candidate of a
//! batch runs as one task of a Slurm job array; the board's half stays on the host (its farm).
//!
//! For a batch (a generation's candidates) the engine writes
//! `RUN/slurm/gen-GGGG-cIIIIII/batch.json` (each candidate's request and the training threads)
//! and submits `sbatch --array=…` of `wattevo slurm-task DIR`; each task trains, exports and
//! scores one candidate exactly as a local worker does ([`super::prepare::Preparer`]) and writes
//! `result-N.bin` (atomically) into the shared run directory. The host polls `squeue` once a
//! second (no busy waiting), hands each result to the boards as it arrives, and resubmits a task
//! that failed (node lost, time limit, memory, cancelled) up to `slurm_retries` times; then the
//! candidate is invalid, with Slurm's state and reason. `jobs.json` records the submitted
//! tasks, so a host killed and resumed neither resubmits a task that finished (its result is
//! read) nor one still queued or running (it is waited for).
//!
//! Without `sacct` (a cluster without slurmdbd, as `scripts/slurm-local.sh` starts), a task's
//! state is read from `squeue -t all`, which keeps finished tasks for the cluster's MinJobAge;
//! a task gone from the queue without a result (cancelled while pending, or purged) counts as
//! failed after three polls.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::evolve::candidate::{Candidate, EvalError, EvalRequest};
use crate::files::write_atomic;
use crate::genome::{Individual, Module};
use crate::nn::train::Race;

use super::export::ExportedModule;
use super::prepare::{Prepared, PreparedNet};

/// Where candidates train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Executor {
    /// On this machine, `jobs` at a time.
    #[default]
    Local,
    /// As Slurm job arrays (`sbatch`), one task per candidate.
    Slurm,
}

impl crate::named::Named for Executor {
    const KIND: &'static str = "executor";
    const VALUES: &'static [(Self, &'static str, &'static str)] = &[
        (Self::Local, "local", "train on this machine"),
        (Self::Slurm, "slurm", "train each candidate as a task of a Slurm job array (shared run directory)"),
    ];
}
crate::named::named_enum_text!(Executor);

/// Where and how the tasks run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlurmSettings {
    /// Partition (`None`: the cluster's default).
    pub partition: Option<String>,
    /// Time limit of one task (`sbatch --time`), e.g. `0:30:00`.
    pub time: String,
    /// CPUs per task; 0: the run's threads per training job.
    pub cpus: usize,
    /// Memory per task (`sbatch --mem`), e.g. `4G`.
    pub mem: String,
    /// Resubmissions of a failed task before its candidate is invalid.
    pub retries: usize,
}

/// A candidate's request in the form a task reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRequest {
    /// The candidate.
    pub candidate: Candidate,
    /// Seconds to train.
    pub train_s: f64,
    /// Continue from this candidate's weights.
    pub warm_start: Option<u64>,
    /// Inherit the layers this parent also has.
    pub inherit_from: Option<(u64, Individual)>,
    /// Stop when behind this curve.
    pub race: Option<Race>,
    /// Seed of everything random in training.
    pub seed: u64,
    /// Modules to export alone.
    pub measure_modules: Vec<usize>,
    /// Module states to export alone.
    pub measure_states: Vec<Module>,
}

impl TaskRequest {
    /// The owned copy of `request`.
    pub fn of(request: &EvalRequest<'_>) -> Self {
        TaskRequest {
            candidate: request.candidate.clone(),
            train_s: request.train_s,
            warm_start: request.warm_start,
            inherit_from: request.inherit_from.map(|(id, individual)| (id, individual.clone())),
            race: request.race.clone(),
            seed: request.seed,
            measure_modules: request.measure_modules.clone(),
            measure_states: request.measure_states.clone(),
        }
    }

    /// The request it stands for.
    pub fn as_request(&self) -> EvalRequest<'_> {
        EvalRequest {
            candidate: &self.candidate,
            train_s: self.train_s,
            warm_start: self.warm_start,
            inherit_from: self.inherit_from.as_ref().map(|(id, individual)| (*id, individual)),
            race: self.race.clone(),
            seed: self.seed,
            measure_modules: self.measure_modules.clone(),
            measure_states: self.measure_states.clone(),
        }
    }
}

/// `batch.json`: what every task of a batch reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchFile {
    /// The run directory (shared between the host and the nodes).
    pub run_dir: PathBuf,
    /// Threads each task trains with (the run's threads per job, for identical results).
    pub threads: usize,
    /// The candidates, by task index.
    pub requests: Vec<TaskRequest>,
}

/// `result-N.bin`: what a task wrote.
#[derive(Debug, Serialize, Deserialize)]
pub struct TaskResult {
    /// The candidate's id (checked against the request).
    pub id: u64,
    /// The phenotype text.
    pub phenotype: String,
    /// The network, or why the candidate is invalid.
    pub outcome: Result<PreparedNet, String>,
    /// A failure of the node (a full disk), not of the network.
    pub host_failure: Option<String>,
    /// Seconds the task took.
    pub wall_s: f64,
    /// The module states exported.
    pub module_states: Vec<(usize, ExportedModule)>,
}

impl TaskResult {
    /// What a task writes for `prepared`.
    pub fn of(id: u64, prepared: Prepared) -> Self {
        TaskResult {
            id,
            phenotype: prepared.phenotype,
            outcome: prepared.outcome,
            host_failure: prepared.host_failure.map(|e| format!("{e:#}")),
            wall_s: prepared.trained.1.duration_since(prepared.trained.0).as_secs_f64(),
            module_states: prepared.module_states,
        }
    }

    fn into_prepared(self, submitted: Instant) -> Prepared {
        Prepared {
            phenotype: self.phenotype,
            outcome: self.outcome,
            host_failure: self.host_failure.map(EvalError::new),
            trained: (submitted, Instant::now()),
            module_states: self.module_states,
        }
    }
}

/// The directory of the batch whose first candidate is `first` of `generation`.
pub fn batch_dir(run_dir: &Path, generation: usize, first: u64) -> PathBuf {
    run_dir.join("slurm").join(format!("gen-{generation:04}-c{first:06}"))
}

/// The file task `index` writes.
pub fn result_path(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("result-{index}.bin"))
}

/// Writes a task's result.
pub fn write_result(dir: &Path, index: usize, result: &TaskResult) -> std::io::Result<()> {
    let bytes = postcard::to_allocvec(result).map_err(std::io::Error::other)?;
    write_atomic(&result_path(dir, index), &bytes)
}

fn read_result(dir: &Path, index: usize, id: u64) -> Option<TaskResult> {
    let bytes = std::fs::read(result_path(dir, index)).ok()?;
    match postcard::from_bytes::<TaskResult>(&bytes) {
        Ok(result) if result.id == id => Some(result),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!("slurm: {} is damaged ({e}); the task runs again", result_path(dir, index).display());
            None
        }
    }
}

/// `jobs.json`: the Slurm task of each index (`JOB_INDEX`) and the attempts so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct JobsFile {
    tasks: BTreeMap<usize, SubmittedTask>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SubmittedTask {
    task: String,
    attempts: usize,
    last_failure: Option<String>,
}

/// Where a task stands, from `squeue`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TaskState {
    Alive,
    Done,
    Failed(String),
    Missing,
}

fn task_state(state: &str, reason: &str) -> TaskState {
    match state {
        "PENDING" | "RUNNING" | "CONFIGURING" | "COMPLETING" | "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED"
        | "RESIZING" | "SUSPENDED" | "STAGE_OUT" | "SIGNALING" => TaskState::Alive,
        "COMPLETED" => TaskState::Done,
        other if reason.is_empty() || reason == "None" => TaskState::Failed(other.to_owned()),
        other => TaskState::Failed(format!("{other} ({reason})")),
    }
}

/// Parses `squeue -h -t all -r -o '%i|%T|%r'`.
fn parse_squeue(text: &str) -> BTreeMap<String, TaskState> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.trim().split('|');
            let (id, state, reason) = (fields.next()?, fields.next()?, fields.next().unwrap_or(""));
            Some((id.to_owned(), task_state(state, reason)))
        })
        .collect()
}

fn slurm_error(what: &str, detail: impl std::fmt::Display) -> EvalError {
    EvalError::new(format!("slurm: {what}: {detail}"))
}

fn run_command(command: &mut Command, what: &str) -> Result<String, EvalError> {
    let output = command.output().map_err(|e| {
        slurm_error(
            what,
            format!(
                "{e} (is Slurm's client installed and SLURM_CONF set? see README, \"Training on a Slurm cluster\")"
            ),
        )
    })?;
    if !output.status.success() {
        return Err(slurm_error(what, String::from_utf8_lossy(&output.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Trains `requests` on the cluster; `deliver(index, prepared)` as each result arrives (any
/// order). Returns when every candidate is delivered or `stop()` says so; an error (sbatch or
/// squeue unusable) is returned at once.
pub fn train_on_cluster(
    settings: &SlurmSettings,
    run_dir: &Path,
    generation: usize,
    threads: usize,
    requests: &[EvalRequest<'_>],
    deliver: &mut dyn FnMut(usize, Prepared),
    stop: &dyn Fn() -> bool,
) -> Result<(), EvalError> {
    let Some(first) = requests.first() else { return Ok(()) };
    let dir = batch_dir(run_dir, generation, first.candidate.id);
    std::fs::create_dir_all(&dir).map_err(|e| EvalError::caused_by(format!("creating {}", dir.display()), e))?;
    let batch =
        BatchFile { run_dir: run_dir.to_path_buf(), threads, requests: requests.iter().map(TaskRequest::of).collect() };
    let batch_path = dir.join("batch.json");
    let same = std::fs::read(&batch_path).ok().and_then(|b| serde_json::from_slice::<BatchFile>(&b).ok())
        == Some(batch.clone());
    let jobs_path = dir.join("jobs.json");
    let mut jobs: JobsFile = if same {
        std::fs::read(&jobs_path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    } else {
        let bytes = serde_json::to_vec_pretty(&batch).map_err(|e| EvalError::caused_by("encoding batch.json", e))?;
        write_atomic(&batch_path, &bytes)
            .map_err(|e| EvalError::caused_by(format!("writing {}", batch_path.display()), e))?;
        for index in 0..requests.len() {
            let _ = std::fs::remove_file(result_path(&dir, index));
        }
        JobsFile::default()
    };
    let started = Instant::now();
    let mut pending: Vec<usize> = (0..requests.len()).collect();
    // given up before a resume: invalid again, not resubmitted
    for (&index, task) in jobs.tasks.iter().filter(|(_, t)| t.attempts > settings.retries) {
        let why = task.last_failure.clone().unwrap_or_default();
        deliver(index, given_up(started, task.attempts, &why));
        pending.retain(|&i| i != index);
    }
    let mut missing: BTreeMap<usize, usize> = BTreeMap::new();
    let exe = std::env::current_exe().map_err(|e| EvalError::caused_by("finding the wattevo executable", e))?;
    loop {
        // results first: a task that finished (now or before a resume) is never run again
        pending.retain(|&index| {
            let id = requests[index].candidate.id;
            match read_result(&dir, index, id) {
                Some(result) => {
                    deliver(index, result.into_prepared(started));
                    false
                }
                None => true,
            }
        });
        if pending.is_empty() || stop() {
            return Ok(());
        }
        let to_submit: Vec<usize> =
            pending.iter().copied().filter(|i| jobs.tasks.get(i).is_none_or(|t| t.task.is_empty())).collect();
        if !to_submit.is_empty() {
            let job = submit(settings, &dir, &exe, threads, &to_submit)?;
            for &index in &to_submit {
                let (attempts, last_failure) =
                    jobs.tasks.get(&index).map_or((0, None), |t| (t.attempts, t.last_failure.clone()));
                jobs.tasks.insert(index, SubmittedTask { task: format!("{job}_{index}"), attempts, last_failure });
            }
            save_jobs(&jobs_path, &jobs)?;
        }
        std::thread::sleep(Duration::from_secs(1));
        let job_ids: Vec<String> = pending
            .iter()
            .filter_map(|i| jobs.tasks.get(i))
            .filter(|t| !t.task.is_empty())
            .filter_map(|t| t.task.split('_').next().map(str::to_owned))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if job_ids.is_empty() {
            continue;
        }
        let text = run_command(
            Command::new("squeue").args(["-h", "-t", "all", "-r", "-o", "%i|%T|%r", "-j", &job_ids.join(",")]),
            "squeue",
        )
        .or_else(|err| {
            // squeue refuses ids the controller has purged: read them as missing
            if err.to_string().contains("Invalid job id") { Ok(String::new()) } else { Err(err) }
        })?;
        let states = parse_squeue(&text);
        let mut changed = false;
        for &index in &pending {
            let Some(task) = jobs.tasks.get(&index).cloned() else { continue };
            if result_path(&dir, index).exists() {
                continue; // read at the top of the next round
            }
            let failure = match states.get(&task.task).cloned().unwrap_or(TaskState::Missing) {
                TaskState::Alive => {
                    missing.remove(&index);
                    None
                }
                TaskState::Done => Some("COMPLETED without writing its result".to_owned()),
                TaskState::Failed(why) => Some(why),
                TaskState::Missing => {
                    let polls = missing.entry(index).or_insert(0);
                    *polls += 1;
                    (*polls >= 3).then(|| "gone from the queue (cancelled before it started, or purged)".to_owned())
                }
            };
            let Some(why) = failure else { continue };
            missing.remove(&index);
            changed = true;
            let attempts = task.attempts + 1;
            let id = requests[index].candidate.id;
            jobs.tasks.insert(index, SubmittedTask { task: String::new(), attempts, last_failure: Some(why.clone()) });
            if attempts > settings.retries {
                tracing::warn!("slurm task {} (candidate {id}) failed {attempts} time(s): {why}", task.task);
                deliver(index, given_up(started, attempts, &why));
            } else {
                tracing::warn!(
                    "slurm task {} (candidate {id}) failed ({why}); resubmitting (attempt {} of {})",
                    task.task,
                    attempts + 1,
                    settings.retries + 1
                );
            }
        }
        pending.retain(|i| jobs.tasks.get(i).is_none_or(|t| t.attempts <= settings.retries));
        if changed {
            save_jobs(&jobs_path, &jobs)?;
        }
    }
}

/// The candidate of a task that failed `attempts` times: invalid, with Slurm's last word.
fn given_up(started: Instant, attempts: usize, why: &str) -> Prepared {
    Prepared {
        phenotype: String::new(),
        outcome: Err(format!("the Slurm task failed {attempts} time(s), last: {why}")),
        host_failure: None,
        trained: (started, Instant::now()),
        module_states: Vec::new(),
    }
}

fn save_jobs(path: &Path, jobs: &JobsFile) -> Result<(), EvalError> {
    let bytes = serde_json::to_vec_pretty(jobs).map_err(|e| EvalError::caused_by("encoding jobs.json", e))?;
    write_atomic(path, &bytes).map_err(|e| EvalError::caused_by(format!("writing {}", path.display()), e))
}

/// Submits tasks `indices` of the batch in `dir` as one job array; its job id.
fn submit(
    settings: &SlurmSettings,
    dir: &Path,
    exe: &Path,
    threads: usize,
    indices: &[usize],
) -> Result<String, EvalError> {
    let array = indices.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
    let cpus = if settings.cpus == 0 { threads.max(1) } else { settings.cpus };
    let script = format!("exec '{}' slurm-task '{}'", exe.display(), dir.display());
    let mut command = Command::new("sbatch");
    command
        .arg("--parsable")
        .arg(format!("--array={array}"))
        .arg("--job-name=wattevo")
        .arg(format!("--cpus-per-task={cpus}"))
        .arg(format!("--mem={}", settings.mem))
        .arg(format!("--time={}", settings.time))
        .arg(format!("--output={}", dir.join("task-%a.log").display()))
        .arg("--open-mode=append")
        .arg(format!("--wrap={script}"));
    if let Some(partition) = &settings.partition {
        command.arg(format!("--partition={partition}"));
    }
    let out = run_command(&mut command, "sbatch")?;
    let job = out.trim().split(';').next().unwrap_or_default().to_owned();
    if job.is_empty() || !job.chars().all(|c| c.is_ascii_digit()) {
        return Err(slurm_error("sbatch", format!("unexpected answer `{}`", out.trim())));
    }
    let batch = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    tracing::info!("slurm: submitted job {job} for {batch} (tasks {array})");
    Ok(job)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squeue_lines_become_task_states() {
        let text = "12_0|COMPLETED|None\n12_1|RUNNING|None\n12_2|CANCELLED|None\n12_3|TIMEOUT|TimeLimit\n13_0|FAILED|NonZeroExitCode\n";
        let states = parse_squeue(text);
        assert_eq!(states["12_0"], TaskState::Done);
        assert_eq!(states["12_1"], TaskState::Alive);
        assert_eq!(states["12_2"], TaskState::Failed("CANCELLED".into()));
        assert_eq!(states["12_3"], TaskState::Failed("TIMEOUT (TimeLimit)".into()));
        assert_eq!(states["13_0"], TaskState::Failed("FAILED (NonZeroExitCode)".into()));
        assert!(!states.contains_key("12_4"));
    }

    #[test]
    fn a_result_is_read_only_for_its_own_candidate_and_never_when_damaged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let result = |id| TaskResult {
            id,
            phenotype: "net".into(),
            outcome: Err("too deep".into()),
            host_failure: None,
            wall_s: 1.5,
            module_states: Vec::new(),
        };
        write_result(dir.path(), 3, &result(41)).expect("write");
        let read = read_result(dir.path(), 3, 41).expect("its own");
        assert_eq!((read.id, read.phenotype.as_str(), read.wall_s), (41, "net", 1.5));
        assert!(read_result(dir.path(), 3, 42).is_none(), "another batch's candidate");
        assert!(read_result(dir.path(), 4, 41).is_none(), "not written");
        std::fs::write(result_path(dir.path(), 3), b"\xff\xff").expect("damage");
        assert!(read_result(dir.path(), 3, 41).is_none(), "damaged: the task runs again");
        let prepared = result(7).into_prepared(Instant::now());
        assert_eq!(prepared.outcome.err().as_deref(), Some("too deep"));
    }
}
