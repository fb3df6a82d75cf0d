//! Command-line interface: one struct per subcommand, each with an `exec()`.
//!
//! Exit codes:
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success |
//! | 1 | the command failed (bad input, a board error, ...); the message says what and where |
//! | 2 | bad command-line usage (clap) |
//! | 3 | the board answered with another protocol version |
//! | 128 + n | `evolve`/`resume` stopped by signal n (130 SIGINT, 143 SIGTERM, 129 SIGHUP); resumable |
//!
//! Results go to stdout (a table, or JSON with `--json`); logs and progress go to stderr.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod board_open;
pub mod boards;
mod calibrate;
pub mod data;
pub mod evolve;
pub mod executor_flags;
pub mod front;
pub mod grammar;
pub mod measure_flags;
pub mod method_flags;
pub mod named;
pub mod profile;
pub mod progress;
pub mod sample;
pub mod search_flags;
pub mod slurm_task;
pub mod train;
mod twin_tables;

/// Exit code: a command failed.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code: the board speaks another protocol version.
pub const EXIT_PROTOCOL: u8 = 3;

/// Evolves neural networks that are accurate and frugal on a real edge board.
///
/// Candidates are trained on this machine's CPU, exported to ONNX, sent over a serial link to a
/// board agent that runs them with tract while reading its supply power from an INA219, and
/// scored on accuracy and measured power. `--board sim` runs the same agent on a
/// pseudo-terminal with an emulated INA219: its figures are simulated and labelled so.
#[derive(Debug, Parser)]
#[command(name = "wattevo", version, about, long_about)]
pub struct Cli {
    /// More log output on stderr (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
// Parsed once per process: the size difference between `evolve`'s many flags and the others'
// costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Get datasets (Fashion-MNIST) or see which are available.
    Data(data::DataArgs),
    /// Measure an ONNX model's power, energy and latency on a board (simulated or real).
    Profile(profile::ProfileArgs),
    /// List the bundled board profiles, or check a board's wiring (--check).
    Boards(boards::BoardsArgs),
    /// Draw a random network: phenotype, shape table, untrained ONNX export.
    Sample(sample::SampleArgs),
    /// Check a grammar file: what was parsed, which search spaces can use it.
    Grammar(grammar::GrammarArgs),
    /// Train one network, export it (and its partitions) to ONNX, report the exported accuracy.
    Train(train::TrainArgs),
    /// Evolve networks that are accurate and frugal on a board (the main job).
    Evolve(evolve::EvolveArgs),
    /// Continue an evolution run from its last checkpoint.
    Resume(evolve::ResumeArgs),
    /// Print a run's Pareto front (accuracy against energy per inference).
    Front(front::FrontArgs),
    /// Choose a model of a run's front under bounds and copy its ONNX out.
    Pick(front::PickArgs),
    /// Train one candidate as a Slurm array task (submitted by `evolve --executor slurm`).
    SlurmTask(slurm_task::SlurmTaskArgs),
}

/// Parses the arguments, sets up logging, runs the command and maps errors to exit codes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    match run(cli.command, cli.quiet) {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            if let Some(signal) = stopped_by_signal(&err) {
                eprintln!("stopped: {err:#}");
                return ExitCode::from(128u8.saturating_add(u8::try_from(signal).unwrap_or(0)));
            }
            eprintln!("error: {err:#}");
            ExitCode::from(if is_protocol_mismatch(&err) { EXIT_PROTOCOL } else { EXIT_FAILURE })
        }
    }
}

fn run(command: Command, quiet: bool) -> anyhow::Result<ExitCode> {
    match command {
        Command::Evolve(args) => args.exec(quiet),
        Command::Resume(args) => args.exec(quiet),
        Command::Data(args) => args.exec(),
        Command::Profile(args) => args.exec(),
        Command::Boards(args) => args.exec(),
        Command::Sample(args) => args.exec(),
        Command::Grammar(args) => args.exec(),
        Command::Front(args) => args.exec(),
        Command::Pick(args) => args.exec(),
        Command::Train(args) => args.exec(),
        Command::SlurmTask(args) => args.exec(),
    }
}

fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("WATTEVO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).try_init();
}

/// Whether the failure comes from a board that speaks another protocol version, however deep in
/// the chain of causes (a run's evaluator keeps the board's typed error as its source).
fn is_protocol_mismatch(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<crate::board::BoardError>().is_some_and(crate::board::BoardError::is_protocol_mismatch)
            || cause
                .downcast_ref::<crate::board::ClientError>()
                .is_some_and(crate::board::ClientError::is_protocol_mismatch)
    })
}

/// The signal that stopped a run, if one did.
fn stopped_by_signal(err: &anyhow::Error) -> Option<i32> {
    use crate::evolve::engine::EngineError;
    err.chain().find_map(|cause| {
        // `RunError::Engine` is transparent: its source is the engine error's own source, so
        // the engine error itself is reached through the run error.
        let engine =
            cause.downcast_ref::<EngineError>().or_else(|| match cause.downcast_ref::<crate::run::RunError>() {
                Some(crate::run::RunError::Engine(engine)) => Some(&**engine),
                _ => None,
            });
        match engine {
            Some(EngineError::Interrupted { signal, .. }) => Some(*signal),
            _ => None,
        }
    })
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
