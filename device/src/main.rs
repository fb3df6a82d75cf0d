//! `wattevo-agent --port PATH --board PROFILE.toml`: serves measurement requests until killed.

use std::process::ExitCode;

use clap::Parser;
use wattevo_agent::cli::{Cli, init_logging, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("wattevo-agent: {e:#}");
            ExitCode::FAILURE
        }
    }
}
