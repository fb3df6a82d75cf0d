//! # wattevo — power-aware neuroevolution for edge boards
//!
//! The host side: grammar and genome, network building and training (burn), ONNX export,
//! board clients (serial or simulated), evolution, reports and the CLI.
//!
//! Data flow of one candidate: genome → [`netspec::NetSpec`] → burn model → training → ONNX →
//! accuracy (tract) → measured on the board → metrics → fitness.

pub mod board;
pub mod cli;
pub mod data;
pub mod evolve;
pub mod genome;
pub mod grammar;
pub mod netspec;
pub mod nn;
pub mod onnx;
