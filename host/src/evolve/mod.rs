//! The evolution engine: the (1+λ) strategy of Fast-DENSER with the paper's power-aware
//! additions — fitness over measured metrics, the module archive with inverse-power reuse, and
//! two models trained in one step. It only evolves: training, export and measuring are an
//! [`candidate::Evaluator`]'s ([`crate::pipeline`]), a run's settings, files and reports are
//! [`crate::run`]'s, and what a person sees is the CLI's.
//!
//! - [`engine`]: generations, selection, checkpoints, for the (1+λ) strategy and NSGA-II
//!   ([`engine::nsga2`]); [`candidate`]: the [`candidate::Evaluator`] interface between the search
//!   and the physical pipeline;
//! - [`mutation`], [`archive`], [`fitness`]: the operators;
//! - [`lexicase`]: ε-lexicase parent selection;
//! - [`pareto`]: constraint domination, non-dominated sorting, crowding distance and
//!   hypervolume, for multi-objective selection and for reporting fronts;
//! - [`checkpoint`], [`runlog`]: the checkpoint and log files of a run directory.

pub mod archive;
pub mod candidate;
pub mod checkpoint;
pub mod engine;
pub mod fitness;
pub mod lexicase;
pub mod mutation;
pub mod pareto;
pub mod runlog;
