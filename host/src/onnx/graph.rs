//! A small builder over the prost ONNX types: values, initialisers, nodes and attributes.
//!
//! Every node gets a readable unique name (`conv_0`, `relu_1`, ...) and produces one output
//! value named after it; initialisers are named after the node they feed (`conv_0.weight`).

use tract_onnx::pb::{
    AttributeProto, GraphProto, NodeProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
    attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto, type_proto,
};

/// An attribute value for [`GraphBuilder::node`].
#[derive(Debug, Clone)]
pub(crate) enum Attr {
    /// A single integer.
    Int(i64),
    /// A list of integers.
    Ints(Vec<i64>),
    /// A single float.
    Float(f32),
}

fn attribute(name: &str, value: Attr) -> AttributeProto {
    let mut attr = AttributeProto { name: name.to_owned(), ..AttributeProto::default() };
    match value {
        Attr::Int(i) => {
            attr.i = i;
            attr.r#type = AttributeType::Int as i32;
        }
        Attr::Ints(ints) => {
            attr.ints = ints;
            attr.r#type = AttributeType::Ints as i32;
        }
        Attr::Float(f) => {
            attr.f = f;
            attr.r#type = AttributeType::Float as i32;
        }
    }
    attr
}

/// A float tensor value description with a static shape.
pub(crate) fn value_info(name: &str, dims: &[usize]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|&d| tensor_shape_proto::Dimension {
            denotation: String::new(),
            value: Some(tensor_shape_proto::dimension::Value::DimValue(d as i64)),
        })
        .collect();
    let tensor = type_proto::Tensor { elem_type: DataType::Float as i32, shape: Some(TensorShapeProto { dim }) };
    ValueInfoProto {
        name: name.to_owned(),
        r#type: Some(TypeProto { denotation: String::new(), value: Some(type_proto::Value::TensorType(tensor)) }),
        doc_string: String::new(),
    }
}

/// Accumulates the nodes and initialisers of one linear graph.
#[derive(Debug)]
pub(crate) struct GraphBuilder {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    current: String,
}

impl GraphBuilder {
    /// A graph whose first node reads the value `input`.
    pub(crate) fn new(input: &str) -> Self {
        Self { nodes: Vec::new(), initializers: Vec::new(), current: input.to_owned() }
    }

    /// Adds a float initialiser named `name` and returns its name.
    pub(crate) fn float(&mut self, name: String, dims: &[usize], data: Vec<f32>) -> String {
        let tensor = TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: DataType::Float as i32,
            float_data: data,
            name: name.clone(),
            ..TensorProto::default()
        };
        self.initializers.push(tensor);
        name
    }

    /// Adds an int64 initialiser named `name` and returns its name.
    pub(crate) fn int64(&mut self, name: String, data: Vec<i64>) -> String {
        let tensor = TensorProto {
            dims: vec![data.len() as i64],
            data_type: DataType::Int64 as i32,
            int64_data: data,
            name: name.clone(),
            ..TensorProto::default()
        };
        self.initializers.push(tensor);
        name
    }

    /// A fresh node name `<prefix>_<n>`.
    pub(crate) fn fresh(&self, prefix: &str) -> String {
        format!("{prefix}_{}", self.nodes.len())
    }

    /// Appends node `name` of type `op` reading the current value and then `extra_inputs`;
    /// its output (named like the node) becomes the current value.
    pub(crate) fn node(&mut self, name: String, op: &str, extra_inputs: Vec<String>, attrs: Vec<(&str, Attr)>) {
        let mut input = vec![std::mem::take(&mut self.current)];
        input.extend(extra_inputs);
        let node = NodeProto {
            input,
            output: vec![name.clone()],
            name: name.clone(),
            op_type: op.to_owned(),
            attribute: attrs.into_iter().map(|(n, v)| attribute(n, v)).collect(),
            ..NodeProto::default()
        };
        self.nodes.push(node);
        self.current = name;
    }

    /// The value the next node reads.
    pub(crate) fn current(&self) -> &str {
        &self.current
    }

    /// Makes the next node read `value`, an earlier value (a branch: the extra head of a
    /// two-head network reads the partition point's output).
    pub(crate) fn branch_from(&mut self, value: String) {
        self.current = value;
    }

    /// A graph with several outputs: each `(value, output name, dims)` renames the value (the
    /// last value of a branch, read by no node) to the output's name.
    pub(crate) fn finish_outputs(
        mut self,
        name: &str,
        input: ValueInfoProto,
        outputs: &[(String, &str, Vec<usize>)],
    ) -> GraphProto {
        for (value, output_name, _) in outputs {
            for node in &mut self.nodes {
                for output in &mut node.output {
                    if output == value {
                        (*output_name).clone_into(output);
                    }
                }
            }
        }
        GraphProto {
            node: self.nodes,
            name: name.to_owned(),
            initializer: self.initializers,
            input: vec![input],
            output: outputs.iter().map(|(_, output_name, dims)| value_info(output_name, dims)).collect(),
            ..GraphProto::default()
        }
    }

    /// Renames the current value to `output` (the graph's output name).
    pub(crate) fn finish(
        mut self,
        name: &str,
        input: ValueInfoProto,
        output_name: &str,
        output_dims: &[usize],
    ) -> GraphProto {
        match self.nodes.last_mut() {
            Some(last) => last.output = vec![output_name.to_owned()],
            None => self.node(output_name.to_owned(), "Identity", Vec::new(), Vec::new()),
        }
        GraphProto {
            node: self.nodes,
            name: name.to_owned(),
            initializer: self.initializers,
            input: vec![input],
            output: vec![value_info(output_name, output_dims)],
            ..GraphProto::default()
        }
    }
}
