//! Test support: the ONNX models tests build (re-exported from [`crate::sim::onnx`], where the
//! twin's reference models are built too), so tests need no fixture files.

pub use crate::sim::onnx::{OnnxCnn, build_cnn};
