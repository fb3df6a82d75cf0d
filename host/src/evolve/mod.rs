//! Evolution: the (1+λ) strategy of Fast-DENSER with the paper's power-aware additions —
//! fitness over measured metrics, the module archive with inverse-power reuse, and two models
//! trained in one step.
//!
//! - [`engine`]: generations, selection, checkpoints; [`candidate`]: the [`candidate::Evaluator`]
//!   interface between the search and the physical pipeline;
//! - [`mutation`], [`archive`], [`fitness`]: the operators;
//! - [`state`], [`runlog`]: checkpoint and log files of a run directory.

pub mod archive;
pub mod cache;
pub mod candidate;
pub mod config;
pub mod engine;
pub mod fitness;
pub mod mutation;
pub mod pipeline;
pub mod plot;
pub mod run;
pub mod runlog;
pub mod state;
