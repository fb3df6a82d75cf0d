//! Architecture hash of an exported graph: ops, shapes and attributes, not weights.
//!
//! Two models with the same layers and different trained weights hash the same, so a
//! measurement (power, latency) cached under the hash is reused for retrained copies of an
//! architecture. The hash covers the graph with every float initialiser's values removed
//! (names, shapes and integer initialisers such as `Pad` amounts stay) and the opset; it
//! ignores the producer version and doc strings.

use prost::Message;
use sha2::{Digest, Sha256};
use tract_onnx::pb::ModelProto;

/// SHA-256 (hex, 64 characters) of the model's architecture.
pub fn architecture_hash(model: &ModelProto) -> String {
    let mut graph = model.graph.clone().unwrap_or_default();
    graph.doc_string.clear();
    for init in &mut graph.initializer {
        init.float_data.clear();
        init.raw_data.clear();
        init.double_data.clear();
    }
    let mut hasher = Sha256::new();
    for opset in &model.opset_import {
        hasher.update(opset.domain.as_bytes());
        hasher.update(opset.version.to_le_bytes());
    }
    hasher.update(graph.encode_to_vec());
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
