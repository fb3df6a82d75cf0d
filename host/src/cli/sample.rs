//! `wattevo sample`: draw one random genome, show its phenotype and shape table, and export it
//! untrained (seeded random weights) to ONNX; or, with `--symbol`, draw one derivation of any
//! symbol of a grammar (the reference code's test grammars have no network symbols).
//!
//! The ONNX file is partition 0 (the whole network, main head); when the genome is partitioned,
//! partition 1 is written next to it as `<stem>.p1.onnx`. Both have a fixed batch of `--batch`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::EXIT_FAILURE;
use crate::genome::{GenomeConfig, GrammarChoice, Individual, SearchSpace};
use crate::grammar::{DynamicBounds, Genotype, Grammar};
use crate::netspec::{LayerNode, NetSpec, Partition, TrainedNet};
use crate::onnx::{self, ExportOptions};

/// Which preset search space to sample from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// The paper's space (energize grammar, 1×32×32 input).
    Paper,
    /// The paper's space without model partition (accuracy-only baseline).
    Denser,
    /// The smaller space sized for a 2-core CPU (1×28×28 input).
    Small,
}

/// Sample a random network and export it untrained.
#[derive(Debug, clap::Args)]
pub struct SampleArgs {
    /// Seed of the genome and of the random weights.
    #[arg(long)]
    pub seed: u64,
    /// Search space preset (modules, input shape, classes, grammar).
    #[arg(long, value_enum, default_value_t = Preset::Small)]
    pub preset: Preset,
    /// A grammar file replacing the preset's grammar.
    #[arg(long, value_name = "FILE")]
    pub grammar: Option<PathBuf>,
    /// Write the untrained network to this ONNX file (partition 1, if any, to `<stem>.p1.onnx`).
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
    /// Fixed batch dimension of the exported model.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Draw one derivation of this grammar symbol and print its tokens, instead of a network
    /// (with --grammar: any grammar, e.g. the reference's `<expr>` test grammar).
    #[arg(long, value_name = "NAME")]
    pub symbol: Option<String>,
    /// Print JSON on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

/// One row of the shape table.
#[derive(Debug, serde::Serialize)]
struct Row {
    layer: String,
    kind: String,
    output: String,
    params: usize,
    macs: usize,
}

fn row(layer: String, node: &LayerNode) -> Row {
    let kind = serde_json::to_value(&node.layer)
        .ok()
        .and_then(|v| v.get("layer").and_then(|l| l.as_str()).map(str::to_owned))
        .unwrap_or_default();
    Row { layer, kind, output: node.output.to_string(), params: node.params(), macs: node.macs() }
}

fn table(spec: &NetSpec) -> Vec<Row> {
    let mut rows: Vec<Row> = spec.layers.iter().enumerate().map(|(i, n)| row(i.to_string(), n)).collect();
    rows.push(row("output".into(), &spec.output));
    if let (Some(k), Some(head)) = (spec.partition_point, &spec.extra_head) {
        rows.push(row(format!("extra@{k}"), head));
    }
    rows
}

impl SampleArgs {
    fn config(&self) -> GenomeConfig {
        let mut config = match self.preset {
            Preset::Paper => GenomeConfig::paper(),
            Preset::Denser => GenomeConfig::denser(),
            Preset::Small => GenomeConfig::small(),
        };
        if let Some(path) = &self.grammar {
            config.grammar = GrammarChoice::File(path.clone());
        }
        config
    }

    /// Draws one derivation of `symbol` and prints it.
    fn sample_symbol(&self, symbol: &str) -> anyhow::Result<ExitCode> {
        let grammar = match &self.grammar {
            Some(path) => Grammar::from_file(path)?,
            None => SearchSpace::new(self.config()).context("loading the search space")?.grammar,
        };
        if !grammar.has_rule(symbol) {
            let known: Vec<&str> = grammar.rules.keys().map(String::as_str).collect();
            anyhow::bail!("the grammar has no rule for <{symbol}>; its symbols: {}", known.join(", "));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let bounds = DynamicBounds::new();
        let derivation = Genotype::random(&grammar, symbol, &bounds, &mut rng)
            .and_then(|genotype| genotype.decode(&grammar, symbol))
            .with_context(|| format!("drawing <{symbol}> with seed {}", self.seed))?;
        let mut out = std::io::stdout().lock();
        if self.json {
            let json = serde_json::json!({ "seed": self.seed, "symbol": symbol, "derivation": derivation.to_string() });
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        } else {
            writeln!(out, "{derivation}")?;
        }
        Ok(ExitCode::SUCCESS)
    }

    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        if let Some(symbol) = &self.symbol {
            return self.sample_symbol(symbol);
        }
        let space = SearchSpace::new(self.config()).context("loading the search space")?;
        let individual = Individual::random(&space, &mut ChaCha8Rng::seed_from_u64(self.seed))
            .with_context(|| format!("drawing a genome with seed {}", self.seed))?;
        let phenotype = individual.phenotype(&space).context("decoding the genome")?;
        let spec = match individual.to_netspec(&space) {
            Ok(spec) => spec,
            Err(invalid) => {
                eprintln!("{phenotype}");
                eprintln!("error: seed {} gives an invalid network: {invalid}; try another seed", self.seed);
                return Ok(ExitCode::from(EXIT_FAILURE));
            }
        };
        let written = match &self.export {
            Some(path) => self.export(&spec, path)?,
            None => Vec::new(),
        };
        let mut out = std::io::stdout().lock();
        if self.json {
            let json = serde_json::json!({
                "seed": self.seed, "phenotype": phenotype.to_string(), "netspec": spec,
                "layers": table(&spec), "params": spec.params(), "macs": spec.macs(), "exported": written,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        } else {
            write!(
                out,
                "{phenotype}\n{:<9} {:<10} {:>14} {:>10} {:>12}\n",
                "layer", "kind", "output", "params", "MACs"
            )?;
            for r in table(&spec) {
                writeln!(out, "{:<9} {:<10} {:>14} {:>10} {:>12}", r.layer, r.kind, r.output, r.params, r.macs)?;
            }
            writeln!(out, "total: {} parameters, {} MACs per sample (main head)", spec.params(), spec.macs())?;
            for (path, hash) in &written {
                writeln!(out, "wrote {} (architecture {})", path.display(), &hash[..16])?;
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    /// Writes partition 0 to `path` and partition 1 (if any) next to it; returns (path, hash).
    fn export(&self, spec: &NetSpec, path: &Path) -> anyhow::Result<Vec<(PathBuf, String)>> {
        let net = TrainedNet::seeded(spec.clone(), self.seed);
        let options = ExportOptions { batch: self.batch };
        let mut written = Vec::new();
        for which in net.partitions() {
            let Some(part) = net.partition(which) else { continue };
            let model = onnx::export_network(&part, options)?;
            let target = match which {
                Partition::Full => path.to_path_buf(),
                Partition::Early => path.with_extension("p1.onnx"),
            };
            std::fs::write(&target, onnx::encode(&model)).with_context(|| format!("writing {}", target.display()))?;
            written.push((target, onnx::architecture_hash(&model)));
        }
        Ok(written)
    }
}
