//! Running an exported model on the host with tract (round-trip checks, accuracy on the
//! fitness split): the staged pipeline load → optimise → runnable, each stage with context.

use std::sync::Arc;

use tract_onnx::prelude::{Framework, InferenceModelExt, IntoTensor, Tensor, TractError, TypedRunnableModel, tvec};

/// Why a model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// tract failed at one stage of loading.
    #[error("tract could not {stage} the model: {message}")]
    Load {
        /// `parse`, `optimise`, `plan`.
        stage: &'static str,
        /// tract's message.
        message: String,
    },
    /// The input has the wrong number of values.
    #[error("input has {got} values, the model takes {want} ({shape:?})")]
    InputSize {
        /// Values given.
        got: usize,
        /// Values expected.
        want: usize,
        /// The model's input shape.
        shape: Vec<usize>,
    },
    /// tract failed while running.
    #[error("tract failed to run the model: {0}")]
    Run(String),
}

/// A model loaded and optimised by tract, ready to run many times.
#[derive(Debug, Clone)]
pub struct TractRunner {
    plan: Arc<TypedRunnableModel>,
    input_shape: Vec<usize>,
}

fn load_err(stage: &'static str) -> impl FnOnce(TractError) -> RunError {
    move |e| RunError::Load { stage, message: format!("{e:#}") }
}

impl TractRunner {
    /// Parses and optimises ONNX bytes (the model's input shape must be static).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RunError> {
        let mut reader = bytes;
        let model = tract_onnx::onnx().model_for_read(&mut reader).map_err(load_err("parse"))?;
        let typed = model.into_optimized().map_err(load_err("optimise"))?;
        let fact = typed.input_fact(0).map_err(load_err("optimise"))?;
        let input_shape = fact
            .shape
            .as_concrete()
            .map(<[usize]>::to_vec)
            .ok_or_else(|| RunError::Load { stage: "optimise", message: "input shape is not static".into() })?;
        let plan = tract_onnx::prelude::IntoRunnable::into_runnable(typed).map_err(load_err("plan"))?;
        Ok(Self { plan, input_shape })
    }

    /// The model's input shape, batch included.
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// Runs one batch (row-major values of the input shape) and returns the first output's
    /// values, row-major.
    pub fn run(&self, input: &[f32]) -> Result<Vec<f32>, RunError> {
        let mut outputs = self.run_all(input)?;
        if outputs.is_empty() {
            return Err(RunError::Run("the model has no output".into()));
        }
        Ok(outputs.swap_remove(0))
    }

    /// Runs one batch and returns every output's values, in the graph's output order.
    pub fn run_all(&self, input: &[f32]) -> Result<Vec<Vec<f32>>, RunError> {
        let want: usize = self.input_shape.iter().product();
        if input.len() != want {
            return Err(RunError::InputSize { got: input.len(), want, shape: self.input_shape.clone() });
        }
        let tensor: Tensor =
            Tensor::from_shape(&self.input_shape, input).map_err(|e| RunError::Run(format!("{e:#}")))?;
        let outputs = self.plan.run(tvec!(tensor.into_tensor().into())).map_err(|e| RunError::Run(format!("{e:#}")))?;
        outputs
            .iter()
            .map(|output| {
                let plain = output.try_as_plain_ram().map_err(|e| RunError::Run(format!("{e:#}")))?;
                let view = plain.as_slice::<f32>().map_err(|e| RunError::Run(format!("{e:#}")))?;
                Ok(view.to_vec())
            })
            .collect()
    }
}
