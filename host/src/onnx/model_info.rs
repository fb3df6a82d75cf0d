//! What the host needs to know about an ONNX model before measuring it: its input shape.
//!
//! Read from the `ModelProto` directly (no tract load): the first graph input that is not an
//! initializer; a symbolic batch dimension (`N`, the first) becomes 1, any other symbolic or
//! missing dimension is an error naming it (measuring `[N,1,H,W]` as `1×1×1×1` would measure
//! another model). The board session
//! (`board::BoardSession::measure_onnx`) and `wattevo profile` call it to size the input tensor
//! of a measurement; the board client itself never decodes ONNX.

use prost::Message;
use tract_onnx::pb::{ModelProto, tensor_shape_proto::dimension::Value as Dim, type_proto::Value as TypeValue};

/// Why a model's input shape could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ModelInfoError {
    /// The bytes are not an ONNX `ModelProto`.
    #[error("{model}: not an ONNX model (protobuf decoding failed: {reason})")]
    NotOnnx {
        /// The model's file or name.
        model: String,
        /// The decoder's message.
        reason: String,
    },
    /// The graph has no (non-initializer) tensor input with a shape.
    #[error("{model}: the ONNX graph declares no input tensor with a shape")]
    NoInput {
        /// The model's file or name.
        model: String,
    },
    /// A dimension after the batch has no fixed size.
    #[error(
        "{model}: input dimension {index} is {name}, not a fixed size; only the batch (dimension 0) may be symbolic (it is measured as 1) — export the model with a fixed input shape"
    )]
    UnsizedDimension {
        /// The model's file or name.
        model: String,
        /// Which dimension, from 0.
        index: usize,
        /// `symbolic (H)` or `missing`.
        name: String,
    },
}

/// The input shape of the model's first real input, batch first; a symbolic batch is 1.
pub fn onnx_input_shape(model_bytes: &[u8], model: &str) -> Result<Vec<u32>, ModelInfoError> {
    if model_bytes.is_empty() {
        // An empty protobuf decodes as an empty ModelProto: say what it really is.
        return Err(ModelInfoError::NotOnnx { model: model.to_owned(), reason: "the file is empty".to_owned() });
    }
    let proto = ModelProto::decode(model_bytes)
        .map_err(|err| ModelInfoError::NotOnnx { model: model.to_owned(), reason: err.to_string() })?;
    let no_input = || ModelInfoError::NoInput { model: model.to_owned() };
    let graph = proto.graph.ok_or_else(no_input)?;
    let input = graph
        .input
        .iter()
        .find(|input| !graph.initializer.iter().any(|init| init.name == input.name))
        .ok_or_else(no_input)?;
    let Some(TypeValue::TensorType(tensor)) = input.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
        return Err(no_input());
    };
    let shape = tensor.shape.as_ref().ok_or_else(no_input)?;
    shape
        .dim
        .iter()
        .enumerate()
        .map(|(index, dim)| match &dim.value {
            Some(Dim::DimValue(value)) if *value > 0 => Ok(u32::try_from(*value).unwrap_or(u32::MAX)),
            _ if index == 0 => Ok(1),
            other => Err(ModelInfoError::UnsizedDimension {
                model: model.to_owned(),
                index,
                name: match other {
                    Some(Dim::DimParam(name)) => format!("symbolic ({name})"),
                    Some(Dim::DimValue(value)) => format!("{value}"),
                    None => "missing".to_owned(),
                },
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use tract_onnx::pb::{
        GraphProto, TensorShapeProto, TypeProto, ValueInfoProto, tensor_shape_proto::Dimension, type_proto::Tensor,
    };

    use super::*;

    fn input(name: &str, dims: Vec<Option<Dim>>) -> ValueInfoProto {
        let dim = dims.into_iter().map(|value| Dimension { denotation: String::new(), value }).collect();
        let tensor = Tensor { elem_type: 1, shape: Some(TensorShapeProto { dim }) };
        ValueInfoProto {
            name: name.into(),
            r#type: Some(TypeProto { denotation: String::new(), value: Some(TypeValue::TensorType(tensor)) }),
            doc_string: String::new(),
        }
    }

    #[test]
    fn reads_shape_with_symbolic_batch() {
        let dims = vec![Some(Dim::DimParam("N".into())), Some(Dim::DimValue(1)), Some(Dim::DimValue(28)), None];
        let graph = GraphProto { input: vec![input("x", dims)], ..GraphProto::default() };
        let bytes = ModelProto { graph: Some(graph), ..ModelProto::default() }.encode_to_vec();
        let err = onnx_input_shape(&bytes, "m.onnx").expect_err("dimension 3 has no size");
        assert!(matches!(err, ModelInfoError::UnsizedDimension { index: 3, .. }), "{err}");
        let dims = vec![Some(Dim::DimParam("N".into())), Some(Dim::DimValue(1)), Some(Dim::DimParam("H".into()))];
        let graph = GraphProto { input: vec![input("x", dims)], ..GraphProto::default() };
        let bytes = ModelProto { graph: Some(graph), ..ModelProto::default() }.encode_to_vec();
        let err = onnx_input_shape(&bytes, "m.onnx").expect_err("H is symbolic");
        assert!(err.to_string().contains("input dimension 2 is symbolic (H)"), "{err}");
        let dims = vec![Some(Dim::DimParam("N".into())), Some(Dim::DimValue(1)), Some(Dim::DimValue(28))];
        let graph = GraphProto { input: vec![input("x", dims)], ..GraphProto::default() };
        let bytes = ModelProto { graph: Some(graph), ..ModelProto::default() }.encode_to_vec();
        assert_eq!(onnx_input_shape(&bytes, "m.onnx").expect("shape"), vec![1, 1, 28], "a symbolic batch is 1");
    }

    #[test]
    fn garbage_and_empty_graphs_are_errors() {
        let err = onnx_input_shape(&[0xff, 0xff, 0xff], "bad.onnx").expect_err("garbage");
        assert!(err.to_string().starts_with("bad.onnx: not an ONNX model"), "{err}");
        let err = onnx_input_shape(&[], "empty.onnx").expect_err("empty");
        assert!(err.to_string().contains("not an ONNX model") && err.to_string().contains("empty"), "{err}");
        let bytes = ModelProto { graph: Some(GraphProto::default()), ..ModelProto::default() }.encode_to_vec();
        assert!(matches!(onnx_input_shape(&bytes, "e.onnx"), Err(ModelInfoError::NoInput { .. })));
    }
}
