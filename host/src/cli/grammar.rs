//! `wattevo grammar check FILE`: parse a grammar (wattevo's or the reference code's dialect),
//! print the rules as understood, and say which search spaces can evolve with it.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::EXIT_FAILURE;
use crate::genome::{GenomeConfig, GrammarChoice, SearchSpace};
use crate::grammar::Grammar;

/// Grammar tools.
#[derive(Debug, Args)]
pub struct GrammarArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: GrammarCommand,
}

/// The grammar subcommands.
#[derive(Debug, Subcommand)]
pub enum GrammarCommand {
    /// Parse a grammar file and print what was understood: every rule (attribute types and
    /// bounds included), and which search spaces (--space small, paper, denser) can use it as
    /// --grammar. Reads wattevo's grammars (with # comments) and the reference code's
    /// (int_power2, inv_power2, bare terminals) alike.
    Check(CheckArgs),
}

/// `wattevo grammar check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The grammar file.
    pub file: PathBuf,
    /// Print JSON on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Whether a search space can evolve with the grammar, and if not why.
#[derive(Debug, serde::Serialize)]
struct SpaceFit {
    space: &'static str,
    usable: bool,
    problem: Option<String>,
}

impl GrammarArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        match self.command {
            GrammarCommand::Check(args) => args.exec(),
        }
    }
}

impl CheckArgs {
    fn fits(&self) -> Vec<SpaceFit> {
        let spaces =
            [("small", GenomeConfig::small()), ("paper", GenomeConfig::paper()), ("denser", GenomeConfig::denser())];
        spaces
            .into_iter()
            .map(|(space, config)| {
                let config = GenomeConfig { grammar: GrammarChoice::File(self.file.clone()), ..config };
                let problem = SearchSpace::new(config).err().map(|e| e.to_string());
                SpaceFit { space, usable: problem.is_none(), problem }
            })
            .collect()
    }

    fn exec(self) -> anyhow::Result<ExitCode> {
        let grammar = match Grammar::from_file(&self.file) {
            Ok(grammar) => grammar,
            Err(err) => {
                eprintln!("error: {err}");
                return Ok(ExitCode::from(EXIT_FAILURE));
            }
        };
        let fits = self.fits();
        let mut out = std::io::stdout().lock();
        if self.json {
            let json = serde_json::json!({ "file": self.file, "rules": grammar.rules, "spaces": fits });
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
            return Ok(ExitCode::SUCCESS);
        }
        let alternatives: usize = grammar.rules.values().map(Vec::len).sum();
        writeln!(out, "{}: {} rules, {alternatives} alternatives", self.file.display(), grammar.rules.len())?;
        write!(out, "{grammar}")?;
        for fit in &fits {
            match &fit.problem {
                None => writeln!(out, "--space {}: usable", fit.space)?,
                Some(problem) => writeln!(out, "--space {}: not usable: {problem}", fit.space)?,
            }
        }
        if fits.iter().all(|f| !f.usable) {
            writeln!(out, "draw from one symbol with `wattevo sample --grammar FILE --symbol NAME --seed N`")?;
        }
        Ok(ExitCode::SUCCESS)
    }
}
