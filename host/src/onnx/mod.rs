//! ONNX export: a [`NetSpec`] and its weights → an ONNX `ModelProto`, encoded with prost.
//!
//! The protobuf types are tract-onnx's own prost-generated ones ([`tract_onnx::pb`]), so what
//! the exporter writes is exactly what tract (on the host and on the board) reads.
//!
//! The exported graph:
//! - opset [`OPSET`] (13) of the default domain, IR version [`IR_VERSION`];
//! - one input [`INPUT_NAME`] (`input`, `[batch, C, H, W]` or `[batch, F]` in f32) and one output
//!   [`OUTPUT_NAME`] (`probabilities`, `[batch, classes]`, softmax applied); a layer range
//!   exported alone ([`export_layer_range`]) outputs [`FEATURES_NAME`] instead;
//! - static shapes: the batch dimension is fixed at export ([`ExportOptions::batch`], 1 by
//!   default), not symbolic;
//! - producer `wattevo` with the crate version.
//!
//! How layers are lowered (batch norm folding, padding, dropout) is described in `emit`.
//! [`architecture_hash`] identifies a graph by its ops, shapes and attributes, not its weights.

mod emit;
mod graph;
mod hash;
pub mod model_info;
mod run;

use std::ops::Range;

use prost::Message;
pub use tract_onnx::pb::ModelProto;
use tract_onnx::pb::OperatorSetIdProto;

pub use hash::architecture_hash;
pub use run::{RunError, TractRunner};

use crate::netspec::{Activation, LayerNode, LayerSpec, LayerWeights, TrainedNet};
use emit::Lowering;
use graph::{GraphBuilder, value_info};

/// The ONNX operator set the exporter targets.
pub const OPSET: i64 = 13;
/// The ONNX IR version that goes with [`OPSET`].
pub const IR_VERSION: i64 = 7;
/// Name of the graph input.
pub const INPUT_NAME: &str = "input";
/// Name of the graph output of a whole network (softmax probabilities).
pub const OUTPUT_NAME: &str = "probabilities";
/// Name of the graph output of a layer range exported alone.
pub const FEATURES_NAME: &str = "features";
/// Output of the extra head in a two-head export ([`export_two_head`]).
pub const EXTRA_OUTPUT_NAME: &str = "extra_probabilities";
/// Producer name written into every model.
pub const PRODUCER_NAME: &str = "wattevo";

/// Export settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportOptions {
    /// The fixed batch dimension of the input and output.
    pub batch: usize,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self { batch: 1 }
    }
}

/// Why a network could not be exported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// The layer range is empty or runs past the last layer.
    #[error("layer range {start}..{end} is empty or beyond the network's {len} layers")]
    BadRange {
        /// First layer asked for.
        start: usize,
        /// One past the last layer asked for.
        end: usize,
        /// Layers in the network.
        len: usize,
    },
    /// A batch of zero samples.
    #[error("batch size 0: the exported input needs at least one sample")]
    ZeroBatch,
}

fn batched(batch: usize, dims: Vec<usize>) -> Vec<usize> {
    std::iter::once(batch).chain(dims).collect()
}

/// Lowers `layers` (with their weights) into `g`; `head_follows` says whether a dense head
/// comes after them (a trailing batch norm can then fold into it).
fn lower_layers(g: &mut GraphBuilder, layers: &[LayerNode], weights: &[LayerWeights], head_follows: bool) -> Lowering {
    let mut low = Lowering::default();
    let mut index = 0;
    while index < layers.len() {
        let node = &layers[index];
        match (&node.layer, &weights[index]) {
            (LayerSpec::Conv { .. }, _) => index += emit::conv(g, &mut low, layers, index, weights),
            (LayerSpec::Pool { .. }, _) => emit::pool(g, &mut low, node),
            (LayerSpec::BatchNorm, LayerWeights::BatchNorm(bn)) => {
                emit::batch_norm(g, &mut low, layers, index, bn, head_follows);
            }
            (&LayerSpec::Dense { out_features, activation, .. }, LayerWeights::Dense(w)) => {
                emit::dense(g, &mut low, node.input, out_features, activation, w);
            }
            _ => {}
        }
        index += 1;
    }
    low
}

fn model(graph: tract_onnx::pb::GraphProto, doc: String) -> ModelProto {
    ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: OPSET }],
        producer_name: PRODUCER_NAME.to_owned(),
        producer_version: env!("CARGO_PKG_VERSION").to_owned(),
        doc_string: doc,
        graph: Some(graph),
        ..ModelProto::default()
    }
}

/// Exports the network with its main head (for a partitioned network: partition 0; cut a
/// partition out first with [`TrainedNet::partition`] to export partition 1).
pub fn export_network(net: &TrainedNet, options: ExportOptions) -> Result<ModelProto, ExportError> {
    if options.batch == 0 {
        return Err(ExportError::ZeroBatch);
    }
    let (spec, weights) = (net.spec(), net.weights());
    let mut g = GraphBuilder::new(INPUT_NAME);
    let mut low = lower_layers(&mut g, &spec.layers, &weights.layers, true);
    emit::dense(&mut g, &mut low, spec.output.input, spec.num_classes, Activation::Softmax, &weights.output);
    let input = value_info(INPUT_NAME, &batched(options.batch, spec.input.dims()));
    let graph = g.finish("wattevo_network", input, OUTPUT_NAME, &[options.batch, spec.num_classes]);
    let doc = format!("{} layers, {} classes, input {}", spec.layers.len(), spec.num_classes, spec.input);
    Ok(model(graph, doc))
}

/// Exports a partitioned network with both heads, the shared layers computed once: the network
/// the reference code measures for an unsuffixed `power` or `energy`. Outputs [`OUTPUT_NAME`]
/// (main head) and [`EXTRA_OUTPUT_NAME`]; an unpartitioned network exports as
/// [`export_network`]. A batch norm at the partition point is not folded forward (both
/// branches read its output).
pub fn export_two_head(net: &TrainedNet, options: ExportOptions) -> Result<ModelProto, ExportError> {
    let (spec, weights) = (net.spec(), net.weights());
    let (Some(k), Some(extra), Some(extra_weights)) = (spec.partition_point, &spec.extra_head, &weights.extra_head)
    else {
        return export_network(net, options);
    };
    if options.batch == 0 {
        return Err(ExportError::ZeroBatch);
    }
    let mut g = GraphBuilder::new(INPUT_NAME);
    let (shared, rest) = spec.layers.split_at(k + 1);
    let mut low = lower_layers(&mut g, shared, &weights.layers[..=k], false);
    let fork = g.current().to_owned();
    let nonneg = low.nonneg();
    if !rest.is_empty() {
        low = lower_layers(&mut g, rest, &weights.layers[k + 1..], true);
    }
    emit::dense(&mut g, &mut low, spec.output.input, spec.num_classes, Activation::Softmax, &weights.output);
    let main = g.current().to_owned();
    g.branch_from(fork);
    let mut branch = emit::Lowering::starting(nonneg);
    emit::dense(&mut g, &mut branch, extra.input, spec.num_classes, Activation::Softmax, extra_weights);
    let extra_value = g.current().to_owned();
    let input = value_info(INPUT_NAME, &batched(options.batch, spec.input.dims()));
    let dims = vec![options.batch, spec.num_classes];
    let outputs = [(main, OUTPUT_NAME, dims.clone()), (extra_value, EXTRA_OUTPUT_NAME, dims)];
    let graph = g.finish_outputs("wattevo_two_head", input, &outputs);
    let doc = format!("{} layers, both heads (extra after layer {k}), input {}", spec.layers.len(), spec.input);
    Ok(model(graph, doc))
}

/// Exports layers `range` alone (no head), with the real input shape of the first one: a
/// module as the module archive measures it. The output is [`FEATURES_NAME`].
pub fn export_layer_range(
    net: &TrainedNet,
    range: Range<usize>,
    options: ExportOptions,
) -> Result<ModelProto, ExportError> {
    let spec = net.spec();
    let bad = || ExportError::BadRange { start: range.start, end: range.end, len: spec.layers.len() };
    if range.is_empty() || range.end > spec.layers.len() {
        return Err(bad());
    }
    if options.batch == 0 {
        return Err(ExportError::ZeroBatch);
    }
    let layers = &spec.layers[range.clone()];
    let mut g = GraphBuilder::new(INPUT_NAME);
    lower_layers(&mut g, layers, &net.weights().layers[range.clone()], false);
    let first = layers[0].input;
    let last = layers[layers.len() - 1].output;
    let input = value_info(INPUT_NAME, &batched(options.batch, first.dims()));
    let graph = g.finish("wattevo_module", input, FEATURES_NAME, &batched(options.batch, last.dims()));
    let doc = format!("layers {}..{} of a {}-layer network, input {first}", range.start, range.end, spec.layers.len());
    Ok(model(graph, doc))
}

/// The model as protobuf bytes (what is written to a `.onnx` file and sent to a board).
pub fn encode(model: &ModelProto) -> Vec<u8> {
    model.encode_to_vec()
}

#[cfg(test)]
mod tests;
