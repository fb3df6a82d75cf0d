//! The tract runner: ONNX bytes → a runnable plan, once, outside any measured window.
//!
//! Pipeline: `onnx().model_for_read(bytes)` → `with_input_fact(0, f32 × shape)` →
//! `into_typed()` → `into_optimized()` → `into_runnable()`; each stage's error says which stage
//! failed. The input shape is the one the model declares (a symbolic dimension, usually the
//! batch, becomes 1) unless the caller gives one.
//!
//! Two readings of the graph come with the plan:
//! - [`ByteEstimate`], on the typed graph: `param_bytes` is the size of every constant tensor
//!   (weights, biases), `activation_bytes` that of every non-constant tensor the graph
//!   produces, the input included (the model store counts memory with it);
//! - [`ModelFacts`], on the optimised graph (the operators tract runs) with weights from the
//!   decluttered one: per operator, its kind, MACs and bytes, from which a board twin
//!   ([`crate::sim::twin`]) models time and power.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Instant;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tract_onnx::prelude::tract_linalg::multithread::{Executor, set_default_executor};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

use crate::sim::twin::ModelFacts;

/// tract version the agent links (pinned in the workspace `Cargo.toml`).
pub const TRACT_VERSION: &str = "0.23.9";

/// Why a model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// A pipeline stage failed.
    #[error("tract could not {stage} the model: {detail}")]
    Load {
        /// `parse`, `declutter`, `read the operators of`, `optimise`, `plan`, ...
        stage: &'static str,
        /// tract's error chain.
        detail: String,
    },
    /// The input shape does not fit the model.
    #[error("input shape {requested:?} does not fit the model: {detail}")]
    InputShape {
        /// The shape asked for.
        requested: Vec<usize>,
        /// tract's error chain.
        detail: String,
    },
    /// The model failed while running.
    #[error("tract failed running the model: {0}")]
    Run(String),
    /// The model plans to use more memory than the board allows.
    #[error("the model plans to use {needed} bytes (weights and tensors), more than the board's {limit}")]
    Memory {
        /// Bytes planned.
        needed: u64,
        /// The limit.
        limit: u64,
    },
}

fn stage<T>(stage: &'static str, r: TractResult<T>) -> Result<T, RunnerError> {
    r.map_err(|e| RunnerError::Load { stage, detail: format!("{e:#}") })
}

/// Bytes of a model's tensors, from the typed graph (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ByteEstimate {
    /// Constant tensors (weights, biases), bytes.
    pub param_bytes: u64,
    /// Non-constant tensors produced by the graph, input included, bytes.
    pub activation_bytes: u64,
}

impl ByteEstimate {
    /// Weights read plus activations written by one inference, bytes.
    pub fn bytes_per_inference(&self) -> u64 {
        self.param_bytes + self.activation_bytes
    }

    fn of(model: &TypedModel) -> Self {
        let mut est = Self::default();
        for node in model.nodes() {
            for output in &node.outputs {
                let fact = &output.fact;
                let size = fact.datum_type.size_of() as u64;
                if let Some(k) = &fact.konst {
                    est.param_bytes += k.len() as u64 * size;
                } else if let Some(shape) = fact.shape.as_concrete() {
                    est.activation_bytes += shape.iter().product::<usize>() as u64 * size;
                }
            }
        }
        est
    }
}

/// A parsed, optimised, runnable model.
#[derive(Debug)]
pub struct LoadedModel {
    plan: Arc<TypedRunnableModel>,
    /// Input shape the plan was built for.
    pub input_shape: Vec<usize>,
    /// Shape of the first output.
    pub output_shape: Vec<usize>,
    /// Sizes of the model's tensors.
    pub bytes: ByteEstimate,
    /// Per-operator facts for a board twin.
    pub facts: ModelFacts,
    /// Time the pipeline took, microseconds.
    pub load_us: u64,
}

/// The input shape the model declares, symbolic dimensions taken as 1.
fn declared_shape(model: &InferenceModel) -> Result<Vec<usize>, RunnerError> {
    let fact = stage("read the input of", model.input_fact(0))?;
    Ok(fact
        .shape
        .dims()
        .map(|d| d.concretize().and_then(|t| t.as_i64()).and_then(|v| usize::try_from(v).ok()).unwrap_or(1))
        .collect())
}

/// Parses `bytes` and types it for `input_shape` or the declared one; returns the shape used.
fn typed_model(bytes: &[u8], input_shape: Option<&[usize]>) -> Result<(TypedModel, Vec<usize>), RunnerError> {
    let model = stage("parse", tract_onnx::onnx().model_for_read(&mut Cursor::new(bytes)))?;
    let shape = match input_shape {
        Some(s) => s.to_vec(),
        None => declared_shape(&model)?,
    };
    let shape_err = |e: TractError| RunnerError::InputShape { requested: shape.clone(), detail: format!("{e:#}") };
    let model = model.with_input_fact(0, f32::fact(&shape).into()).map_err(shape_err)?;
    // Typing fails for a shape the model cannot take, but also for an operator tract does not
    // implement: with the model's own declared shape, it is the model that is at fault.
    let typed = match input_shape {
        Some(_) => model.into_typed().map_err(shape_err)?,
        None => stage("type", model.into_typed())?,
    };
    Ok((typed, shape))
}

/// Parses, types, optimises and plans `bytes`, for `input_shape` or the declared one.
pub fn load_model(bytes: &[u8], input_shape: Option<&[usize]>) -> Result<LoadedModel, RunnerError> {
    load_model_within(bytes, input_shape, u64::MAX)
}

/// [`load_model`], refusing a model whose typed graph plans more than `limit` bytes of weights
/// and tensors before anything is optimised or allocated for it.
pub fn load_model_within(bytes: &[u8], input_shape: Option<&[usize]>, limit: u64) -> Result<LoadedModel, RunnerError> {
    let started = Instant::now();
    let (typed, shape) = typed_model(bytes, input_shape)?;
    let bytes_est = ByteEstimate::of(&typed);
    let needed = bytes_est.bytes_per_inference();
    if needed > limit {
        return Err(RunnerError::Memory { needed, limit });
    }
    let decluttered = stage("declutter", typed.into_decluttered())?;
    let optimised = stage("optimise", decluttered.clone().into_optimized())?;
    let facts = stage("read the operators of", ModelFacts::of(&decluttered, &optimised))?;
    let output_shape = stage("read the output of", optimised.output_fact(0))?
        .shape
        .as_concrete()
        .map(<[usize]>::to_vec)
        .unwrap_or_default();
    let plan = stage("plan", optimised.into_runnable())?;
    let load_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    Ok(LoadedModel { plan, input_shape: shape, output_shape, bytes: bytes_est, facts, load_us })
}

/// The operator facts of `bytes` without planning it (the twin's view alone).
pub fn read_facts(bytes: &[u8], input_shape: Option<&[usize]>) -> Result<ModelFacts, RunnerError> {
    let (typed, _) = typed_model(bytes, input_shape)?;
    let decluttered = stage("declutter", typed.into_decluttered())?;
    let optimised = stage("optimise", decluttered.clone().into_optimized())?;
    stage("read the operators of", ModelFacts::of(&decluttered, &optimised))
}

/// A seeded input tensor, uniform in [0, 1).
pub fn random_input(shape: &[usize], seed: u64) -> Result<TValue, RunnerError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let len = shape.iter().product::<usize>();
    let data: Vec<f32> = (0..len).map(|_| rng.random::<f32>()).collect();
    let tensor = Tensor::from_shape(shape, &data)
        .map_err(|e| RunnerError::InputShape { requested: shape.to_vec(), detail: format!("{e:#}") })?;
    Ok(tensor.into())
}

/// The tract executor for `threads` threads per inference: tract's single-threaded default for
/// 0 or 1, else a rayon pool of `threads` workers for its matrix products.
pub fn executor_for(threads: u16) -> Executor {
    match threads {
        0 | 1 => Executor::SingleThread,
        n => Executor::multithread_with_name(usize::from(n), "tract"),
    }
}

/// Makes every later inference in this process use `threads` threads (the profile's
/// `runtime.tract_threads`). Called once at start-up, before any model runs.
pub fn use_threads(threads: u16) {
    set_default_executor(executor_for(threads));
}

impl LoadedModel {
    /// Runs one inference on `input`; returns the first output's shape.
    pub fn run(&self, input: &TValue) -> Result<Vec<usize>, RunnerError> {
        let outputs = self.plan.run(tvec!(input.clone())).map_err(|e| RunnerError::Run(format!("{e:#}")))?;
        let first = outputs.first().ok_or_else(|| RunnerError::Run("the model has no output".into()))?;
        Ok(first.shape().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::onnx::{OnnxCnn, build_cnn};

    #[test]
    fn an_operator_tract_does_not_implement_is_an_invalid_model_not_a_shape_mismatch() {
        let mut graph = crate::sim::onnx::OnnxGraph::new("unknown-op", &[1, 4], 1);
        let input = graph.input();
        let out = graph.unary("NoSuchOperator", &input);
        let err = load_model(&graph.finish(&out), None).expect_err("unsupported");
        assert!(matches!(err, RunnerError::Load { .. }), "{err}");
        assert!(err.to_string().contains("NoSuchOperator"), "names the operator: {err}");
    }

    #[test]
    fn a_small_cnn_loads_and_runs() {
        let bytes = build_cnn(&OnnxCnn::small(), 11);
        let model = load_model(&bytes, None).expect("load");
        assert_eq!(model.input_shape, vec![1, 1, 8, 8]);
        assert_eq!(model.output_shape, vec![1, 10]);
        let input = random_input(&model.input_shape, 3).expect("input");
        assert_eq!(model.run(&input).expect("run"), vec![1, 10]);
        assert!(model.bytes.param_bytes > 0 && model.bytes.activation_bytes > 0);
        assert_eq!(read_facts(&bytes, None).expect("facts"), model.facts);
    }

    #[test]
    fn two_threads_give_the_single_thread_outputs() {
        use tract_onnx::prelude::tract_linalg::multithread::multithread_tract_scope;
        let model = load_model(&build_cnn(&OnnxCnn { channels: 32, side: 28, classes: 10 }, 5), None).expect("load");
        let input = random_input(&model.input_shape, 9).expect("input");
        let outputs = |threads| {
            let outputs =
                multithread_tract_scope(executor_for(threads), || model.plan.run(tvec!(input.clone()))).expect("run");
            outputs[0].try_as_plain_ram().expect("plain").as_slice::<f32>().expect("f32").to_vec()
        };
        assert!(matches!(executor_for(1), Executor::SingleThread));
        assert!(matches!(executor_for(2), Executor::MultiThread(_)));
        let (one, two) = (outputs(1), outputs(2));
        assert!(one.iter().zip(&two).all(|(a, b)| (a - b).abs() < 1e-5), "{one:?} vs {two:?}");
    }

    #[test]
    fn bytes_grow_with_model_size() {
        let small = load_model(&build_cnn(&OnnxCnn::small(), 1), None).expect("small");
        let big = load_model(&build_cnn(&OnnxCnn { channels: 16, ..OnnxCnn::small() }, 1), None).expect("big");
        assert!(big.bytes.bytes_per_inference() > small.bytes.bytes_per_inference());
    }

    #[test]
    fn garbage_fails_at_the_parse_stage() {
        let err = load_model(b"not an onnx model", None).expect_err("garbage");
        assert!(matches!(err, RunnerError::Load { stage: "parse", .. }), "{err}");
    }

    #[test]
    fn a_wrong_input_shape_is_an_input_shape_error() {
        let bytes = build_cnn(&OnnxCnn::small(), 11);
        let err = load_model(&bytes, Some(&[1, 3, 8, 8])).expect_err("3 channels into a 1-channel conv");
        assert!(matches!(err, RunnerError::InputShape { .. }), "{err}");
    }

    #[test]
    fn random_input_is_seeded_and_in_range() {
        let a = random_input(&[2, 3], 9).expect("a");
        let b = random_input(&[2, 3], 9).expect("b");
        assert_eq!(a, b);
        let view = a.to_plain_array_view::<f32>().expect("f32");
        assert!(view.iter().all(|v| (0.0..1.0).contains(v)));
    }
}
