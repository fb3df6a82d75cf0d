//! # wattevo — power-aware neuroevolution for edge boards
//!
//! The host side: grammar and genome, network building and training (burn), ONNX export,
//! board clients (serial or simulated), evolution, reports and the CLI.
//!
//! Data flow of one candidate: genome → [`netspec::NetSpec`] → burn model → training →
//! [`netspec::TrainedNet`] → ONNX → accuracy (tract) → measured on the board → metrics → fitness.
//!
//! | module | what |
//! | --- | --- |
//! | [`grammar`] | Fast-DENSER grammars, DSGE genotypes |
//! | [`genome`] | individuals (modules, macro genes) and their mapping to a `NetSpec` |
//! | [`netspec`] | a network as checked layers with shapes; its weights; `TrainedNet` and partitions |
//! | [`nn`] | the burn model built from a `NetSpec`, and training |
//! | [`onnx`] | the ONNX exporter and the tract runner |
//! | [`data`] | datasets and splits |
//! | [`pipeline`] | the candidate pipeline: train → partitions → ONNX → accuracy → board |
//! | [`board`] | the board client, serial ports, the simulated board, profiles |
//! | [`evolve`] | the engine: strategy, mutation, archive, fitness, checkpoint |
//! | [`run`] | a run directory: config, orchestration, summary, plot |
//! | [`cli`] | the command line: flags, printing, progress, exit codes |

pub mod board;
pub mod cli;
pub mod data;
pub mod evolve;
pub mod files;
pub mod genome;
pub mod grammar;
pub mod named;
pub mod netspec;
pub mod nn;
pub mod onnx;
pub mod pipeline;
pub mod run;
